-- AlterTable
ALTER TABLE "sessions" ADD COLUMN     "chain_count" INTEGER NOT NULL DEFAULT 0,
ADD COLUMN     "chain_digest" BYTEA,
ADD COLUMN     "signature" BYTEA,
ADD COLUMN     "signing_key_id" TEXT;

-- Sessions stored before this have appends (next_sequence > 0) and no chain (chain_count 0): out of
-- step, they get their chain from the backfill (integrity/backfill.ts), from their chunks' digests.
