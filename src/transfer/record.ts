import { randomUUID } from 'node:crypto';
import type { IdentityType, ReviewStatus, ReviewType, SessionStatus, SessionVerb } from '../generated/prisma/enums.ts';
import type { z } from 'zod';
import {
  isObject,
  type JsonObject,
  StoredAIAnalysis,
  StoredGuardrails,
  StoredMetrics,
  StoredReviewer,
  unstorableReason,
} from '../sessions/stored-shapes.ts';
import { isUuid } from '../uuid.ts';
import type { ReviewGroupRow, ReviewRow, SessionRow } from './rows.ts';

/*
 * One Session object of hoop's REST payload (docs/api.md §11.1) → the row reel stores. The
 * checks are those of openSession (sessions/ingest.ts) so an imported session is one a recorder
 * could have opened, plus the types hoop's JSON can get wrong. Attributes reel has no field for
 * (org_id, labels, script_size, event_size) are ignored: the target org is the caller's, sizes are
 * recomputed.
 */

export class RecordError extends Error {
  override name = 'RecordError';
}

const fail = (message: string): never => {
  throw new RecordError(message);
};

const describe = (v: unknown) => (v === null ? 'null' : Array.isArray(v) ? 'an array' : typeof v === 'object' ? 'an object' : JSON.stringify(v));

interface TextRule {
  max: number;
  /** hoop prints a NULL column as "" (gorm zero value): read "" as null. */
  emptyIsNull?: boolean;
}

function text(attrs: JsonObject, key: string, rule: TextRule): string | null {
  const v = attrs[key];
  if (v === undefined || v === null) return null;
  if (typeof v !== 'string') return fail(`${key} must be a string, not ${describe(v)}`);
  if (v === '' && rule.emptyIsNull) return null;
  if (v.length > rule.max) return fail(`${key} must be at most ${rule.max} characters`);
  return v;
}

function requiredText(attrs: JsonObject, key: string, max: number): string {
  const v = text(attrs, key, { max, emptyIsNull: true });
  return v ?? fail(`${key} is required`);
}

function object(attrs: JsonObject, key: string): JsonObject | null {
  const v = attrs[key];
  if (v === undefined || v === null) return null;
  return isObject(v) ? v : fail(`${key} must be a JSON object or null, not ${describe(v)}`);
}

function enumValue<T extends string>(attrs: JsonObject, key: string, allowed: readonly T[], fallback?: T): T {
  const v = attrs[key];
  if ((v === undefined || v === null || v === '') && fallback) return fallback;
  if (typeof v === 'string') {
    const upper = v.toUpperCase() as T;
    if (allowed.includes(upper)) return upper;
  }
  return fail(`${key} must be one of ${allowed.map((a) => a.toLowerCase()).join(', ')} (got ${describe(v)})`);
}

function integer(attrs: JsonObject, key: string, min: number, max: number): number | null {
  const v = attrs[key];
  if (v === undefined || v === null) return null;
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) {
    return fail(`${key} must be an integer from ${min} to ${max}, not ${describe(v)}`);
  }
  return v;
}

function boolean(attrs: JsonObject, key: string): boolean {
  const v = attrs[key];
  if (v === undefined || v === null) return false;
  return typeof v === 'boolean' ? v : fail(`${key} must be true or false, not ${describe(v)}`);
}

const EXPECTED: Record<string, string> = {
  string: 'a string',
  int: 'an integer',
  number: 'a number',
  boolean: 'true or false',
  object: 'a JSON object',
  record: 'a JSON object',
  array: 'an array',
};

/** The first way `issue` says a value breaks its stored shape, at `at` (the value's key in the record). */
function mismatch(issue: z.core.$ZodIssue, at: string): string {
  const where = issue.path.reduce<string>((p, k) => (typeof k === 'number' ? `${p}[${k}]` : `${p}.${String(k)}`), at);
  if (issue.code === 'invalid_type') {
    if (issue.input === undefined) return `${where} is required`;
    return `${where} must be ${EXPECTED[issue.expected] ?? issue.expected}, not ${describe(issue.input)}`;
  }
  if ((issue.code === 'too_big' || issue.code === 'too_small') && issue.origin === 'int') {
    return `${where} must be an integer from ${-Number.MAX_SAFE_INTEGER} to ${Number.MAX_SAFE_INTEGER}, not ${describe(issue.input)}`;
  }
  return `${where}: ${issue.message}`;
}

/** A nested attribute in its stored shape (sessions/stored-shapes.ts): null when absent, else it must match. */
function shaped<T>(schema: z.ZodType<T>, value: unknown, key: string): T | null {
  if (value === undefined || value === null) return null;
  const result = schema.safeParse(value, { reportInput: true });
  return result.success ? result.data : fail(mismatch(result.error.issues[0]!, key));
}

const RFC3339 = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(?:\.\d+)?(?:Z|[+-](\d{2}):(\d{2}))$/i;

/** An RFC 3339 timestamp (Go's time.Time JSON) as a Date; reel keeps milliseconds, finer digits are dropped. */
export function parseTimestamp(value: string): Date | undefined {
  const m = RFC3339.exec(value);
  if (!m) return undefined;
  const [, y, mo, d, h, mi, s, oh, om] = m.map(Number) as number[];
  const daysInMonth = new Date(Date.UTC(y!, mo!, 0)).getUTCDate();
  // Date.parse rolls Feb 30 over to March: check the fields first.
  if (mo! < 1 || mo! > 12 || d! < 1 || d! > daysInMonth || h! > 23 || mi! > 59 || s! > 59) return undefined;
  if ((oh ?? 0) > 23 || (om ?? 0) > 59) return undefined;
  const ms = Date.parse(value.toUpperCase());
  return Number.isNaN(ms) ? undefined : new Date(ms);
}

function timestamp(attrs: JsonObject, key: string): Date | null {
  const v = attrs[key];
  if (v === undefined || v === null) return null;
  if (typeof v !== 'string') return fail(`${key} must be an RFC 3339 timestamp, not ${describe(v)}`);
  return parseTimestamp(v) ?? fail(`${key} must be an RFC 3339 timestamp (got ${JSON.stringify(v)})`);
}

function uuid(attrs: JsonObject, key: string): string | null {
  const v = text(attrs, key, { max: 36, emptyIsNull: true });
  if (v === null) return null;
  return isUuid(v) ? v.toLowerCase() : fail(`${key} must be a UUID (got ${JSON.stringify(v)})`);
}

/** The session id of a record, or undefined when it has none (the caller reports it). */
export function recordId(attrs: JsonObject): string | undefined {
  return uuid(attrs, 'id') ?? undefined;
}

const STATUSES: readonly SessionStatus[] = ['OPEN', 'READY', 'DONE'];
const VERBS: readonly SessionVerb[] = ['CONNECT', 'EXEC'];
const IDENTITY_TYPES: readonly IdentityType[] = ['USER', 'MACHINE'];
const REVIEW_TYPES: readonly ReviewType[] = ['ONETIME', 'JIT'];
const REVIEW_STATUSES: readonly ReviewStatus[] = ['PENDING', 'APPROVED', 'REJECTED', 'REVOKED', 'PROCESSING', 'EXECUTED', 'UNKNOWN'];
const INT32_MAX = 2 ** 31 - 1;
const NS_PER_SECOND = 1_000_000_000;

function prefixed<T>(prefix: string, fn: () => T): T {
  try {
    return fn();
  } catch (err) {
    if (err instanceof RecordError) throw new RecordError(`${prefix}${err.message}`);
    throw err;
  }
}

function strings(attrs: JsonObject, key: string): string[] {
  const v = attrs[key];
  if (v === undefined || v === null) return [];
  if (!Array.isArray(v) || !v.every((s) => typeof s === 'string')) return fail(`${key} must be an array of strings`);
  return v as string[];
}

/** A review group as imported: its row but for the review it belongs to. */
export type ImportedReviewGroup = Omit<ReviewGroupRow, 'reviewId'>;

/** A review as imported: its row but for the session, with its groups. */
export interface ImportedReview extends Omit<ReviewRow, 'sessionId' | 'createdAt'> {
  /** Null: now, as for a review opened without one. */
  createdAt: Date | null;
  groups: ImportedReviewGroup[];
}

/** A session as imported: its row but for what the target org and the events decide, with its review. */
export interface ImportedSession
  extends Omit<
    SessionRow,
    'orgId' | 'nextSequence' | 'eventCount' | 'inputBytes' | 'outputBytes' | 'errorBytes' | 'untilTime' | 'timeOrdered' | 'chainDigest' | 'chainCount' | 'signature' | 'signingKeyId'
  > {
  review: ImportedReview | null;
}

function reviewGroup(g: unknown): ImportedReviewGroup {
  if (!isObject(g)) return fail(`must be an object, not ${describe(g)}`);
  return {
    id: uuid(g, 'id') ?? randomUUID(),
    group: requiredText(g, 'group', 100),
    status: enumValue(g, 'status', REVIEW_STATUSES),
    // Kept in the reference's shape ({id?, name?, email, slack_id}), as openSession stores it.
    reviewedBy: shaped(StoredReviewer, object(g, 'reviewed_by'), 'reviewed_by'),
    reviewDate: timestamp(g, 'review_date'),
    forcedReview: boolean(g, 'forced_review'),
  };
}

function review(r: JsonObject): ImportedReview {
  const durationNs = r.access_duration ?? 0;
  if (typeof durationNs !== 'number' || !Number.isInteger(durationNs) || durationNs < 0 || durationNs % NS_PER_SECOND !== 0) {
    return fail(`access_duration must be a whole number of seconds in nanoseconds, not ${describe(durationNs)}`);
  }
  const accessDurationSec = durationNs / NS_PER_SECOND;
  if (accessDurationSec > INT32_MAX) return fail('access_duration is too long');
  const groups = r.review_groups_data ?? [];
  if (!Array.isArray(groups)) return fail(`review_groups_data must be an array, not ${describe(groups)}`);
  return {
    id: uuid(r, 'id') ?? randomUUID(),
    type: enumValue(r, 'type', REVIEW_TYPES),
    status: enumValue(r, 'status', REVIEW_STATUSES),
    accessDurationSec,
    createdAt: timestamp(r, 'created_at'),
    revokeAt: timestamp(r, 'revoke_at'),
    timeWindow: object(r, 'time_window'),
    accessRequestRuleName: text(r, 'access_request_rule_name', { max: 255 }),
    minApprovals: integer(r, 'min_approvals', 0, INT32_MAX),
    forceApprovalGroups: strings(r, 'force_approval_groups'),
    rejectionReason: text(r, 'rejection_reason', { max: 100_000 }),
    groups: groups.map((g, i) => prefixed(`review_groups_data[${i}].`, () => reviewGroup(g))),
  };
}

function script(attrs: JsonObject): string | null {
  const v = attrs.script;
  if (v === undefined || v === null) return null;
  if (!isObject(v) || (v.data !== undefined && v.data !== null && typeof v.data !== 'string')) {
    return fail(`script must be {"data": string} or null, not ${describe(v)}`);
  }
  // hoop prints {"data": ""} whenever it did not load an input: no script.
  return typeof v.data === 'string' && v.data !== '' ? v.data : null;
}

/**
 * The session (with its review) a record describes; throws RecordError naming the first bad
 * attribute. `eventSize` (payload bytes of its events) replaces hoop's metrics.event_size.
 */
export function importedSession(attrs: JsonObject, eventSize: number): ImportedSession {
  const id = recordId(attrs) ?? fail('id is required');
  const unstorable = unstorableReason(attrs);
  if (unstorable) fail(unstorable);
  const roleName = text(attrs, 'role_name', { max: 255, emptyIsNull: true }) ?? requiredText(attrs, 'connection', 255);
  const correlationId = text(attrs, 'correlation_id', { max: 255 });
  if (correlationId !== null && !/^[\x20-\x7e]*$/.test(correlationId)) fail('correlation_id must be printable ASCII');
  const startDate = timestamp(attrs, 'start_date') ?? fail('start_date is required');
  const endDate = timestamp(attrs, 'end_date');
  if (endDate && endDate < startDate) fail('end_date must not be before start_date');
  const metrics = object(attrs, 'metrics');
  const reviewAttrs = object(attrs, 'review');
  const scriptText = script(attrs);
  return {
    id,
    status: enumValue(attrs, 'status', STATUSES),
    verb: enumValue(attrs, 'verb', VERBS),
    type: requiredText(attrs, 'type', 64),
    connectionSubtype: text(attrs, 'connection_subtype', { max: 64, emptyIsNull: true }),
    roleName,
    resourceName: text(attrs, 'resource_name', { max: 255, emptyIsNull: true }),
    connectionTags: object(attrs, 'connection_tags'),
    userId: text(attrs, 'user_id', { max: 255, emptyIsNull: true }),
    userEmail: text(attrs, 'user', { max: 255, emptyIsNull: true }),
    userName: text(attrs, 'user_name', { max: 255, emptyIsNull: true }),
    identityType: enumValue(attrs, 'identity_type', IDENTITY_TYPES, 'USER'),
    machineIdentityId: uuid(attrs, 'machine_identity_id'),
    startDate,
    endDate,
    exitCode: integer(attrs, 'exit_code', -(2 ** 31), INT32_MAX),
    // hoop omits these two when NULL, so an "" it printed was stored as "": kept.
    correlationId,
    sessionBatchId: text(attrs, 'session_batch_id', { max: 255 }),
    metadata: object(attrs, 'metadata'),
    integrationsMetadata: object(attrs, 'integrations_metadata'),
    // As stored by hoop (other writers' keys survive), with event_size in reel's meaning: payload bytes.
    metrics: metrics && shaped(StoredMetrics, { ...metrics, event_size: eventSize }, 'metrics'),
    aiAnalysis: shaped(StoredAIAnalysis, object(attrs, 'ai_analysis'), 'ai_analysis'),
    guardrailsInfo: shaped(StoredGuardrails, attrs.guardrails_info, 'guardrails_info') ?? [],
    script: scriptText,
    scriptSize: scriptText === null ? 0 : Buffer.byteLength(scriptText, 'utf8'),
    review: reviewAttrs && prefixed('review.', () => review(reviewAttrs)),
  };
}
