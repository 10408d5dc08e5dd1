-- AlterTable: each chunk's latest event time so far, so that a time window (spec §14) starts at its
-- first chunk instead of reading the stream from its start.
ALTER TABLE "session_event_chunks" ADD COLUMN     "until_time" DOUBLE PRECISION;

-- AlterTable
ALTER TABLE "sessions" ADD COLUMN     "time_ordered" BOOLEAN NOT NULL DEFAULT true,
ADD COLUMN     "until_time" DOUBLE PRECISION;

-- Sessions stored before this migration: their times are not known here (they are inside the
-- chunks' data). Readers take a session with events and no until_time as unknown and read it whole;
-- the event-time backfill (sessions/event-times.ts) fills both columns.
UPDATE "sessions" SET "time_ordered" = false WHERE "event_count" > 0;

-- CreateIndex
CREATE INDEX "session_event_chunks_session_id_until_time_sequence_part_idx" ON "session_event_chunks"("session_id", "until_time", "sequence", "part");
