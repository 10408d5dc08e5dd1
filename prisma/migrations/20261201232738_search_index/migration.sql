-- CreateTable
CREATE TABLE "session_search_blocks" (
    "session_id" UUID NOT NULL,
    "source" SMALLINT NOT NULL,
    "block" INTEGER NOT NULL,
    "first_unit" INTEGER NOT NULL,
    "min_time" DOUBLE PRECISION NOT NULL,
    "max_time" DOUBLE PRECISION NOT NULL,
    "text" TEXT NOT NULL,
    "folded" TEXT NOT NULL,
    "trigrams" SMALLINT[],
    "runs" BYTEA NOT NULL,

    CONSTRAINT "session_search_blocks_pkey" PRIMARY KEY ("session_id","source","block")
);

-- CreateTable
CREATE TABLE "session_search_progress" (
    "session_id" UUID NOT NULL,
    "events" BIGINT NOT NULL,
    "state" JSONB NOT NULL,

    CONSTRAINT "session_search_progress_pkey" PRIMARY KEY ("session_id")
);

-- CreateIndex
CREATE INDEX "session_search_blocks_session_id_min_time_source_block_idx" ON "session_search_blocks"("session_id", "min_time", "source", "block");

-- CreateIndex
CREATE INDEX "session_search_blocks_trigrams_idx" ON "session_search_blocks" USING GIN ("trigrams");

-- AddForeignKey
ALTER TABLE "session_search_blocks" ADD CONSTRAINT "session_search_blocks_session_id_fkey" FOREIGN KEY ("session_id") REFERENCES "sessions"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "session_search_progress" ADD CONSTRAINT "session_search_progress_session_id_fkey" FOREIGN KEY ("session_id") REFERENCES "sessions"("id") ON DELETE CASCADE ON UPDATE CASCADE;
