-- AlterTable: each chunk's first event index, so that a live subscription finds event N at once.
ALTER TABLE "session_event_chunks" ADD COLUMN     "first_event" BIGINT;

-- Chunks stored before this migration: the events of the chunks before them, in recorded order.
UPDATE "session_event_chunks" AS c SET "first_event" = f.first_event
FROM (
  SELECT "session_id", "sequence", "part",
         sum("event_count") OVER (PARTITION BY "session_id" ORDER BY "sequence", "part") - "event_count" AS first_event
  FROM "session_event_chunks"
) AS f
WHERE c."session_id" = f."session_id" AND c."sequence" = f."sequence" AND c."part" = f."part";

ALTER TABLE "session_event_chunks" ALTER COLUMN "first_event" SET NOT NULL;

-- CreateIndex
CREATE INDEX "session_event_chunks_session_id_first_event_idx" ON "session_event_chunks"("session_id", "first_event");
