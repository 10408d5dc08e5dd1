import { createHash } from 'node:crypto';
import stringify from 'safe-stable-stringify';
import { audit, auditWith } from '../audit/audit.ts';
import type { Viewer } from '../auth/keys.ts';
import { prisma } from '../db/client.ts';
import { badInput, conflict, notFound, sessionClosed } from '../errors.ts';
import { Prisma } from '../generated/prisma/client.ts';
import type { IdentityType, ReviewStatus, ReviewType, SessionStatus, SessionVerb } from '../generated/prisma/enums.ts';
import { isUuid } from '../uuid.ts';
import { assertMayIngest } from './access.ts';
import { withChunkTx } from './chunk-storage.ts';
import { encodeAppend } from './codec.ts';
import { appendTimes } from './event-times.ts';
import { chainSetSql } from '../integrity/chain.ts';
import { signDigest, signingKeys } from '../integrity/keys.ts';
import { sessionChain } from '../integrity/session-chain.ts';
import { ingestBytes, ingestEvents } from '../metrics.ts';
import { appendIfNext } from './group-commit.ts';
import { notifyEvents } from './changes.ts';
import type { EventType, SessionEvent } from './event.ts';
import {
  type AIAnalysisInput,
  type GuardrailsInfoInput,
  type MetricsInput,
  isObject,
  storedAIAnalysis,
  storedGuardrail,
  storedMetrics,
  storedReviewer,
  unstorableReason,
} from './stored-shapes.ts';

export interface ReviewGroupInput {
  group: string;
  status: ReviewStatus;
  reviewedBy?: { id?: string | null; name?: string | null; email?: string | null; slackId?: string | null } | null;
  reviewDate?: Date | null;
  forcedReview?: boolean | null;
}

export interface ReviewInput {
  id?: string | null;
  type: ReviewType;
  status: ReviewStatus;
  accessDurationSec?: number | null;
  createdAt?: Date | null;
  revokeAt?: Date | null;
  timeWindow?: unknown;
  accessRequestRuleName?: string | null;
  minApprovals?: number | null;
  forceApprovalGroups?: string[] | null;
  rejectionReason?: string | null;
  groups?: ReviewGroupInput[] | null;
}

export interface OpenSessionInput {
  id?: string | null;
  status?: SessionStatus | null;
  verb: SessionVerb;
  type: string;
  connectionSubtype?: string | null;
  roleName: string;
  resourceName?: string | null;
  connectionTags?: unknown;
  userId?: string | null;
  userEmail?: string | null;
  userName?: string | null;
  identityType?: IdentityType | null;
  machineIdentityId?: string | null;
  startDate?: Date | null;
  endDate?: Date | null;
  exitCode?: number | null;
  correlationId?: string | null;
  sessionBatchId?: string | null;
  metadata?: unknown;
  integrationsMetadata?: unknown;
  review?: ReviewInput | null;
  aiAnalysis?: AIAnalysisInput | null;
  guardrailsInfo?: GuardrailsInfoInput[] | null;
  script?: string | null;
}

export interface CloseSessionInput {
  exitCode?: number | null;
  endDate?: Date | null;
  metrics?: MetricsInput | null;
  aiAnalysis?: AIAnalysisInput | null;
  guardrailsInfo?: GuardrailsInfoInput[] | null;
  status?: SessionStatus | null;
}

export interface EventInput {
  time: number;
  type: EventType;
  data: string;
}

export interface AppendLimits {
  maxAppendBytes: number;
  maxAppendEvents: number;
}

export interface AppendResult {
  sequence: number;
  eventCount: number;
  eventSize: number;
}

const sha256 = (data: string | Uint8Array) => createHash('sha256').update(data).digest('hex');
const json = (value: unknown) => (value === undefined || value === null ? Prisma.DbNull : (value as Prisma.InputJsonValue));

function checkText(name: string, value: string | null | undefined, max: number, required = false): void {
  if (value === undefined || value === null) {
    if (required) throw badInput(`${name} is required`, { field: name });
    return;
  }
  if ((required && value.length === 0) || value.length > max) {
    throw badInput(`${name} must be ${required ? '1' : '0'} to ${max} characters`, { field: name });
  }
}

function checkObject(name: string, value: unknown): void {
  if (value !== undefined && value !== null && !isObject(value)) {
    throw badInput(`${name} must be a JSON object`, { field: name });
  }
}

function checkStorable(value: unknown): void {
  const reason = unstorableReason(value);
  if (reason) throw badInput(reason);
}

function checkOpenInput(input: OpenSessionInput): void {
  checkStorable(input);
  if (input.id != null && !isUuid(input.id)) throw badInput('id must be a UUID', { field: 'id' });
  if (input.machineIdentityId != null && !isUuid(input.machineIdentityId)) {
    throw badInput('machineIdentityId must be a UUID', { field: 'machineIdentityId' });
  }
  checkText('roleName', input.roleName, 255, true);
  checkText('type', input.type, 64, true);
  checkText('connectionSubtype', input.connectionSubtype, 64);
  checkText('resourceName', input.resourceName, 255);
  checkText('userId', input.userId, 255);
  checkText('userEmail', input.userEmail, 255);
  checkText('userName', input.userName, 255);
  checkText('sessionBatchId', input.sessionBatchId, 255);
  checkText('correlationId', input.correlationId, 255);
  if (input.correlationId != null && !/^[\x20-\x7e]*$/.test(input.correlationId)) {
    throw badInput('correlationId must be printable ASCII', { field: 'correlationId' });
  }
  checkObject('connectionTags', input.connectionTags);
  checkObject('metadata', input.metadata);
  checkObject('integrationsMetadata', input.integrationsMetadata);
  if (input.endDate && input.startDate && input.endDate < input.startDate) {
    throw badInput('endDate must not be before startDate', { field: 'endDate' });
  }
  if (input.review) {
    checkObject('review.timeWindow', input.review.timeWindow);
    if (input.review.id != null && !isUuid(input.review.id)) throw badInput('review.id must be a UUID');
    input.review.groups?.forEach((g, i) => checkText(`review.groups[${i}].group`, g.group, 100, true));
  }
}

/** Creates a session (spec §8). Re-opening an existing id with the same input returns it: a retried open. */
export async function openSession(viewer: Viewer, input: OpenSessionInput) {
  assertMayIngest(viewer);
  checkOpenInput(input);
  const openDigest = sha256(stringify(input) ?? '');
  if (input.id) {
    const existing = await prisma().session.findUnique({ where: { id: input.id } });
    if (existing) return retriedOpen(viewer, existing, openDigest);
  }
  const script = input.script ?? null;
  const review = input.review;
  try {
    const create = (tx: Prisma.TransactionClient) => tx.session.create({
      data: {
        ...(input.id && { id: input.id }),
        orgId: viewer.orgId,
        status: input.status ?? 'OPEN',
        verb: input.verb,
        type: input.type,
        connectionSubtype: input.connectionSubtype ?? null,
        roleName: input.roleName,
        resourceName: input.resourceName ?? null,
        connectionTags: json(input.connectionTags),
        userId: input.userId ?? null,
        userEmail: input.userEmail ?? null,
        userName: input.userName ?? null,
        identityType: input.identityType ?? 'USER',
        machineIdentityId: input.machineIdentityId ?? null,
        startDate: input.startDate ?? new Date(),
        endDate: input.endDate ?? null,
        exitCode: input.exitCode ?? null,
        correlationId: input.correlationId ?? null,
        sessionBatchId: input.sessionBatchId ?? null,
        metadata: json(input.metadata),
        integrationsMetadata: json(input.integrationsMetadata),
        aiAnalysis: json(input.aiAnalysis && storedAIAnalysis(input.aiAnalysis)),
        guardrailsInfo: (input.guardrailsInfo ?? []).map(storedGuardrail) as Prisma.InputJsonValue,
        script,
        scriptSize: script === null ? 0 : Buffer.byteLength(script, 'utf8'),
        openDigest,
        ...(review && {
          review: {
            create: {
              ...(review.id && { id: review.id }),
              type: review.type,
              status: review.status,
              accessDurationSec: review.accessDurationSec ?? null,
              ...(review.createdAt && { createdAt: review.createdAt }),
              revokeAt: review.revokeAt ?? null,
              timeWindow: json(review.timeWindow),
              accessRequestRuleName: review.accessRequestRuleName ?? null,
              minApprovals: review.minApprovals ?? null,
              forceApprovalGroups: review.forceApprovalGroups ?? [],
              rejectionReason: review.rejectionReason ?? null,
              groups: {
                create: (review.groups ?? []).map((g) => ({
                  group: g.group,
                  status: g.status,
                  reviewedBy: json(g.reviewedBy && storedReviewer(g.reviewedBy)),
                  reviewDate: g.reviewDate ?? null,
                  forcedReview: g.forcedReview ?? false,
                })),
              },
            },
          },
        }),
      },
    });
    const session = await auditWith(create, (created) => ({
      orgId: viewer.orgId,
      action: 'SESSION_OPENED',
      actor: viewer,
      sessionId: created.id,
      details: { roleName: created.roleName, type: created.type, verb: created.verb, status: created.status },
    }));
    // Its script is searchable at once: the indexer hears of the session now rather than at its next
    // look for pending ones (or the first append). Best effort: that look finds it anyway.
    if (script !== null) {
      await prisma()
        .$executeRawUnsafe(`SELECT ${notifyEvents('$1::uuid', '0')}`, session.id)
        .catch(() => {});
    }
    return session;
  } catch (err) {
    // Two opens of the same id raced: the loser answers as a retry would.
    if (input.id && err instanceof Prisma.PrismaClientKnownRequestError && err.code === 'P2002') {
      const existing = await prisma().session.findUnique({ where: { id: input.id } });
      if (existing) return retriedOpen(viewer, existing, openDigest);
    }
    throw err;
  }
}

function retriedOpen<T extends { orgId: string; openDigest: string | null }>(viewer: Viewer, existing: T, digest: string): T {
  // Another org's session gets the same answer as a different input: nothing reveals it exists.
  if (existing.orgId !== viewer.orgId || existing.openDigest !== digest) {
    throw conflict('a session with this id already exists with different attributes');
  }
  return existing;
}

/**
 * Decodes standard padded base64, rejecting anything a canonical encoder would not produce:
 * Node's decoder is lenient (whitespace, base64url letters, missing padding, stray bits), so the
 * bytes must encode back to exactly the given text.
 */
export function decodeStrictBase64(data: string): Buffer | undefined {
  const bytes = Buffer.from(data, 'base64');
  return bytes.toString('base64') === data ? bytes : undefined;
}

/** Validates and decodes one append call's events; an error names the first offending index. */
export function decodeEventInputs(events: readonly EventInput[], limits: AppendLimits): SessionEvent[] {
  if (events.length > limits.maxAppendEvents) {
    throw badInput(`too many events in one call: ${events.length} (limit ${limits.maxAppendEvents})`, {
      limit: limits.maxAppendEvents,
    });
  }
  let total = 0;
  return events.map((ev, index) => {
    if (!Number.isFinite(ev.time) || ev.time < 0) {
      throw badInput(`events[${index}].time must be a finite number of seconds ≥ 0`, { index });
    }
    const data = decodeStrictBase64(ev.data);
    if (!data) throw badInput(`events[${index}].data is not strict base64`, { index });
    total += data.length;
    if (total > limits.maxAppendBytes) {
      throw badInput(`events exceed the append limit of ${limits.maxAppendBytes} bytes at index ${index}`, {
        index,
        limit: limits.maxAppendBytes,
      });
    }
    // -0 is stored as +0: an export writes it as 0, and the hash chain must read back the same bytes.
    return { time: ev.time + 0, type: ev.type, data };
  });
}

interface LockedSession {
  status: SessionStatus;
  next_sequence: number;
  event_count: string;
  until_time: number | null;
  time_ordered: boolean;
  total: string;
}

/**
 * Appends one call's events (spec §8). The call is stored whole or not at all; a retry of a stored
 * sequence with the same events is acknowledged without storing twice.
 */
export async function appendSessionEvents(
  viewer: Viewer,
  sessionId: string,
  sequence: number,
  inputs: readonly EventInput[],
  limits: AppendLimits,
): Promise<AppendResult> {
  assertMayIngest(viewer);
  if (!Number.isInteger(sequence) || sequence < 0) throw badInput('sequence must be an integer ≥ 0');
  const events = decodeEventInputs(inputs, limits);
  const chunks = encodeAppend(sequence, events);
  const digest = chunks[0]!.digest;
  if (!isUuid(sessionId)) throw notFound('session not found');

  const bytesOf = (type: EventType) => events.reduce((n, e) => (e.type === type ? n + e.data.length : n), 0);
  const counts = { events: events.length, inputBytes: bytesOf('i'), outputBytes: bytesOf('o'), errorBytes: bytesOf('e') };

  const appended = await appendIfNext(viewer.orgId, sessionId, chunks, counts);
  if (appended) {
    countIngested(events);
    return { sequence, ...appended };
  }

  let stored = false;
  const result = await withChunkTx(async (tx) => {
    // Row lock: appends to one session are serialised, so sequences and totals stay consistent.
    const [session] = await tx.query<LockedSession>(
      `SELECT status::text AS status, next_sequence, event_count::text AS event_count, until_time, time_ordered,
              (input_bytes + output_bytes + error_bytes)::text AS total
       FROM sessions WHERE id = $1::uuid AND org_id = $2::uuid FOR UPDATE`,
      [sessionId, viewer.orgId],
    );
    if (!session) throw notFound('session not found');
    if (sequence < session.next_sequence) {
      const [stored] = await tx.query<{ digest: string }>(
        'SELECT digest FROM session_event_chunks WHERE session_id = $1::uuid AND sequence = $2 AND part = 0',
        [sessionId, sequence],
      );
      if (stored?.digest !== digest) {
        throw conflict(`sequence ${sequence} is already stored with different events`, { sequence });
      }
      return { sequence, eventCount: Number(session.event_count), eventSize: Number(session.total) };
    }
    if (session.status === 'DONE') throw sessionClosed();
    if (sequence > session.next_sequence) {
      throw conflict(`sequence ${sequence} leaves a gap: the next expected sequence is ${session.next_sequence}`, {
        sequence,
        expected: session.next_sequence,
      });
    }
    const times = appendTimes({ until: session.until_time, ordered: session.time_ordered }, chunks);
    await tx.insertChunks(sessionId, chunks, Number(session.event_count), times.untilTimes);
    const [updated] = await tx.query<{ event_count: string; total: string }>(
      `UPDATE sessions s SET next_sequence = s.next_sequence + 1, event_count = s.event_count + $2,
              input_bytes = s.input_bytes + $3, output_bytes = s.output_bytes + $4, error_bytes = s.error_bytes + $5,
              until_time = $6, time_ordered = $7, ${chainSetSql('s', '$8::text')}
       WHERE id = $1::uuid
       RETURNING event_count::text AS event_count, (input_bytes + output_bytes + error_bytes)::text AS total,
                 ${notifyEvents('id', 'event_count')}`,
      [sessionId, counts.events, counts.inputBytes, counts.outputBytes, counts.errorBytes, times.after.until, times.after.ordered, digest],
    );
    stored = true;
    return { sequence, eventCount: Number(updated!.event_count), eventSize: Number(updated!.total) };
  });
  if (stored) countIngested(events);
  return result;
}

/** Counts stored events and their payload bytes by type (§16); a retried call stored before is not counted again. */
function countIngested(events: readonly SessionEvent[]): void {
  const byType = { i: [0, 0], o: [0, 0], e: [0, 0] } satisfies Record<EventType, [number, number]>;
  for (const e of events) {
    byType[e.type][0]++;
    byType[e.type][1] += e.data.length;
  }
  for (const [type, [count, bytes]] of Object.entries(byType)) {
    if (count === 0) continue;
    ingestEvents.labels({ type }).inc(count);
    ingestBytes.labels({ type }).inc(bytes);
  }
}

/** Closes a session (spec §8). Closing a closed session returns it unchanged: a retried close. */
export async function closeSession(viewer: Viewer, sessionId: string, input: CloseSessionInput | null | undefined) {
  assertMayIngest(viewer);
  checkStorable(input);
  if (!isUuid(sessionId)) throw notFound('session not found');
  return prisma().$transaction(async (tx) => {
    await tx.$queryRaw`SELECT 1 FROM sessions WHERE id = ${sessionId}::uuid AND org_id = ${viewer.orgId}::uuid FOR UPDATE`;
    const session = await tx.session.findFirst({ where: { id: sessionId, orgId: viewer.orgId } });
    if (!session) throw notFound('session not found');
    if (session.status === 'DONE') return session;
    await tx.$executeRawUnsafe(`SELECT ${notifyEvents('id', 'event_count')} FROM sessions WHERE id = $1::uuid`, sessionId);
    const endDate = input?.endDate ?? new Date();
    if (endDate < session.startDate) throw badInput('endDate must not be before startDate', { field: 'endDate' });
    const eventSize = Number(session.inputBytes + session.outputBytes + session.errorBytes);
    const previousGuardrails = Array.isArray(session.guardrailsInfo) ? session.guardrailsInfo : [];
    const status = input?.status ?? 'DONE';
    await audit(tx, { orgId: viewer.orgId, action: 'SESSION_CLOSED', actor: viewer, sessionId, details: { status, exitCode: input?.exitCode ?? session.exitCode } });
    // The chain's final digest, signed (spec §15). The row is locked: no append comes between.
    const chain = await sessionChain((sql, params) => tx.$queryRawUnsafe(sql, ...params), session);
    const signed = status === 'DONE' ? signDigest(signingKeys(), chain.digest) : null;
    return tx.session.update({
      where: { id: sessionId },
      data: {
        chainDigest: new Uint8Array(chain.digest),
        chainCount: chain.appendCount,
        signature: signed ? new Uint8Array(signed.signature) : null,
        signingKeyId: signed?.keyId ?? null,
        status,
        endDate,
        exitCode: input?.exitCode ?? session.exitCode,
        metrics: storedMetrics(input?.metrics, session.metrics, eventSize) as Prisma.InputJsonValue,
        ...(input?.aiAnalysis && { aiAnalysis: storedAIAnalysis(input.aiAnalysis) as Prisma.InputJsonValue }),
        ...(input?.guardrailsInfo && {
          guardrailsInfo: [...previousGuardrails, ...input.guardrailsInfo.map(storedGuardrail)] as Prisma.InputJsonValue,
        }),
      },
    });
  });
}
