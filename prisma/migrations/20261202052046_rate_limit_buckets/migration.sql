-- Rate-limit buckets (spec §16), shared by replicas on PostgreSQL. UNLOGGED: written on most
-- requests' behalf and worth no WAL; after a crash it is empty, and an absent bucket is a full one.
-- CreateTable
CREATE UNLOGGED TABLE "rate_limit_buckets" (
    "key" TEXT NOT NULL,
    "tokens" DOUBLE PRECISION NOT NULL,
    "granted" DOUBLE PRECISION NOT NULL,
    "refreshed_at" TIMESTAMPTZ(6) NOT NULL,

    CONSTRAINT "rate_limit_buckets_pkey" PRIMARY KEY ("key")
);
