-- CreateEnum
CREATE TYPE "AuditAction" AS ENUM ('KEY_CREATED', 'KEY_REVOKED', 'SESSION_OPENED', 'SESSION_CLOSED', 'STREAM_READ', 'LINK_ISSUED', 'LINK_USED', 'LINK_REFUSED', 'SESSION_DELETED', 'SESSIONS_PURGED');

-- CreateTable
CREATE TABLE "audit_events" (
    "id" BIGSERIAL NOT NULL,
    "org_id" UUID NOT NULL,
    "time" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "action" "AuditAction" NOT NULL,
    "session_id" UUID,
    "actor_key_id" UUID,
    "actor_subject" TEXT,
    "actor_role" TEXT,
    "client_ip" TEXT,
    "details" JSONB,

    CONSTRAINT "audit_events_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE INDEX "audit_events_org_id_time_id_idx" ON "audit_events"("org_id", "time" DESC, "id" DESC);

-- CreateIndex
CREATE INDEX "audit_events_org_id_session_id_time_id_idx" ON "audit_events"("org_id", "session_id", "time" DESC, "id" DESC);

-- Append-only: no statement changes or removes an audit event (spec §15), whoever runs it.
CREATE FUNCTION "audit_events_append_only"() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION 'audit events are append-only: % refused', TG_OP USING ERRCODE = 'insufficient_privilege';
END;
$$;

CREATE TRIGGER "audit_events_append_only"
  BEFORE UPDATE OR DELETE ON "audit_events"
  FOR EACH ROW EXECUTE FUNCTION "audit_events_append_only"();

CREATE TRIGGER "audit_events_no_truncate"
  BEFORE TRUNCATE ON "audit_events"
  FOR EACH STATEMENT EXECUTE FUNCTION "audit_events_append_only"();
