-- AlterTable: each chunk's latest event time so far, so that a time window (spec §14) starts at its
-- first chunk instead of reading the stream from its start.
ALTER TABLE "session_event_chunks" ADD COLUMN     "until_time" DOUBLE PRECISION;

-- AlterTable
ALTER TABLE "sessions" ADD COLUMN     "time_ordered" BOOLEAN NOT NULL DEFAULT true,
ADD COLUMN     "until_time" DOUBLE PRECISION;

-- Sessions stored before this migration: their times are not known here (they are inside the
-- chunks' data). Readers take a chunk without until_time as unknown and read from it; the
-- event-time backfill (sessions/time-backfill.ts), run by `reel migrate` and by servers at start,
-- fills in the columns of every session marked here.
UPDATE "sessions" SET "time_ordered" = false
WHERE EXISTS (SELECT 1 FROM "session_event_chunks" AS c WHERE c."session_id" = "sessions"."id");

-- CreateIndex
CREATE INDEX "session_event_chunks_session_id_until_time_sequence_part_idx" ON "session_event_chunks"("session_id", "until_time", "sequence", "part");
