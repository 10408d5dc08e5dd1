-- CreateEnum
CREATE TYPE "Role" AS ENUM ('ADMIN', 'AUDITOR', 'STANDARD', 'RECORDER');

-- CreateEnum
CREATE TYPE "SessionStatus" AS ENUM ('READY', 'OPEN', 'DONE');

-- CreateEnum
CREATE TYPE "SessionVerb" AS ENUM ('EXEC', 'CONNECT');

-- CreateEnum
CREATE TYPE "IdentityType" AS ENUM ('USER', 'MACHINE');

-- CreateEnum
CREATE TYPE "ReviewType" AS ENUM ('ONETIME', 'JIT');

-- CreateEnum
CREATE TYPE "ReviewStatus" AS ENUM ('PENDING', 'APPROVED', 'REJECTED', 'REVOKED', 'PROCESSING', 'EXECUTED', 'UNKNOWN');

-- CreateTable
CREATE TABLE "orgs" (
    "id" UUID NOT NULL,
    "name" TEXT NOT NULL,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "orgs_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "api_keys" (
    "id" UUID NOT NULL,
    "org_id" UUID NOT NULL,
    "key_hash" TEXT NOT NULL,
    "prefix" TEXT NOT NULL,
    "role" "Role" NOT NULL,
    "subject" TEXT NOT NULL,
    "email" TEXT,
    "name" TEXT,
    "groups" TEXT[],
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "revoked_at" TIMESTAMPTZ(3),

    CONSTRAINT "api_keys_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "sessions" (
    "id" UUID NOT NULL,
    "org_id" UUID NOT NULL,
    "status" "SessionStatus" NOT NULL,
    "verb" "SessionVerb" NOT NULL,
    "type" TEXT NOT NULL,
    "connection_subtype" TEXT,
    "role_name" TEXT NOT NULL,
    "resource_name" TEXT,
    "connection_tags" JSONB,
    "user_id" TEXT,
    "user_email" TEXT,
    "user_name" TEXT,
    "identity_type" "IdentityType" NOT NULL DEFAULT 'USER',
    "machine_identity_id" UUID,
    "start_date" TIMESTAMPTZ(3) NOT NULL,
    "end_date" TIMESTAMPTZ(3),
    "exit_code" INTEGER,
    "correlation_id" TEXT,
    "session_batch_id" TEXT,
    "metadata" JSONB,
    "integrations_metadata" JSONB,
    "metrics" JSONB,
    "ai_analysis" JSONB,
    "guardrails_info" JSONB NOT NULL DEFAULT '[]',
    "script" TEXT,
    "open_digest" TEXT,
    "script_size" INTEGER NOT NULL DEFAULT 0,
    "next_sequence" INTEGER NOT NULL DEFAULT 0,
    "event_count" BIGINT NOT NULL DEFAULT 0,
    "input_bytes" BIGINT NOT NULL DEFAULT 0,
    "output_bytes" BIGINT NOT NULL DEFAULT 0,
    "error_bytes" BIGINT NOT NULL DEFAULT 0,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "sessions_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "session_event_chunks" (
    "session_id" UUID NOT NULL,
    "sequence" INTEGER NOT NULL,
    "part" INTEGER NOT NULL,
    "digest" TEXT NOT NULL,
    "event_count" INTEGER NOT NULL,
    "payload_bytes" INTEGER NOT NULL,
    "data" BYTEA NOT NULL,

    CONSTRAINT "session_event_chunks_pkey" PRIMARY KEY ("session_id","sequence","part")
);

-- CreateTable
CREATE TABLE "reviews" (
    "id" UUID NOT NULL,
    "session_id" UUID NOT NULL,
    "type" "ReviewType" NOT NULL,
    "status" "ReviewStatus" NOT NULL,
    "access_duration_sec" INTEGER,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "revoke_at" TIMESTAMPTZ(3),
    "time_window" JSONB,
    "access_request_rule_name" TEXT,
    "min_approvals" INTEGER,
    "force_approval_groups" TEXT[],
    "rejection_reason" TEXT,

    CONSTRAINT "reviews_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "review_groups" (
    "id" UUID NOT NULL,
    "review_id" UUID NOT NULL,
    "group" TEXT NOT NULL,
    "status" "ReviewStatus" NOT NULL,
    "reviewed_by" JSONB,
    "review_date" TIMESTAMPTZ(3),
    "forced_review" BOOLEAN NOT NULL DEFAULT false,

    CONSTRAINT "review_groups_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE UNIQUE INDEX "orgs_name_key" ON "orgs"("name");

-- CreateIndex
CREATE UNIQUE INDEX "api_keys_key_hash_key" ON "api_keys"("key_hash");

-- CreateIndex
CREATE INDEX "api_keys_org_id_idx" ON "api_keys"("org_id");

-- CreateIndex
CREATE INDEX "sessions_org_id_start_date_id_idx" ON "sessions"("org_id", "start_date" DESC, "id" DESC);

-- CreateIndex
CREATE INDEX "sessions_org_id_user_id_start_date_id_idx" ON "sessions"("org_id", "user_id", "start_date" DESC, "id" DESC);

-- CreateIndex
CREATE INDEX "sessions_org_id_correlation_id_idx" ON "sessions"("org_id", "correlation_id");

-- CreateIndex
CREATE INDEX "sessions_org_id_session_batch_id_idx" ON "sessions"("org_id", "session_batch_id");

-- CreateIndex
CREATE UNIQUE INDEX "reviews_session_id_key" ON "reviews"("session_id");

-- CreateIndex
CREATE INDEX "review_groups_review_id_idx" ON "review_groups"("review_id");

-- CreateIndex
CREATE INDEX "review_groups_group_idx" ON "review_groups"("group");

-- AddForeignKey
ALTER TABLE "api_keys" ADD CONSTRAINT "api_keys_org_id_fkey" FOREIGN KEY ("org_id") REFERENCES "orgs"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "sessions" ADD CONSTRAINT "sessions_org_id_fkey" FOREIGN KEY ("org_id") REFERENCES "orgs"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "session_event_chunks" ADD CONSTRAINT "session_event_chunks_session_id_fkey" FOREIGN KEY ("session_id") REFERENCES "sessions"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "reviews" ADD CONSTRAINT "reviews_session_id_fkey" FOREIGN KEY ("session_id") REFERENCES "sessions"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "review_groups" ADD CONSTRAINT "review_groups_review_id_fkey" FOREIGN KEY ("review_id") REFERENCES "reviews"("id") ON DELETE CASCADE ON UPDATE CASCADE;
