import os from 'node:os';
import type { Viewer } from '../auth/keys.ts';
import { prisma } from '../db/client.ts';
import { badInput, forbidden } from '../errors.ts';
import { Prisma } from '../generated/prisma/client.ts';
import type { AuditAction } from '../generated/prisma/enums.ts';
import { isUuid } from '../uuid.ts';

/*
 * The audit trail (spec §15): who did what, append-only. A change records its event in the same
 * transaction as the change itself, so neither can exist without the other.
 */

export type { AuditAction };

/**
 * Who acted: an API key's viewer (with the client's address), the operator at the command line, or
 * the server itself purging by REEL_RETENTION_DAYS.
 */
export type Actor = Viewer | 'cli' | 'retention' | Anonymous;

/** Someone without a key: a refused link's requester, known by address only. */
export interface Anonymous {
  anonymous: true;
  clientIp: string | null;
}

export interface AuditEntry {
  orgId: string;
  action: AuditAction;
  actor: Actor;
  sessionId?: string | null;
  details?: Record<string, unknown>;
  /** When it happened (default: when it is stored); events written in batches carry their own. */
  time?: Date;
}

/** The command line acts as the operator: no key, the host's user in `details`. */
function osUser(): string {
  try {
    return os.userInfo().username;
  } catch {
    return 'unknown';
  }
}

/** The row of an entry. */
export function auditRow(entry: AuditEntry): Prisma.AuditEventCreateManyInput {
  const { actor } = entry;
  const viewer = typeof actor === 'string' || 'anonymous' in actor ? null : actor;
  const anonymous = typeof actor === 'object' && 'anonymous' in actor ? actor : null;
  const details =
    actor === 'cli' ? { ...entry.details, via: 'cli', osUser: osUser() } : actor === 'retention' ? { ...entry.details, via: 'REEL_RETENTION_DAYS' } : entry.details;
  return {
    orgId: entry.orgId,
    action: entry.action,
    sessionId: entry.sessionId ?? null,
    actorKeyId: viewer?.keyId ?? null,
    actorSubject: viewer ? viewer.subject : anonymous ? null : `reel-${actor as string}`,
    actorRole: viewer?.role ?? null,
    clientIp: viewer?.clientIp ?? anonymous?.clientIp ?? null,
    ...(entry.time && { time: entry.time }),
    details: details === undefined ? Prisma.DbNull : (details as Prisma.InputJsonValue),
  };
}

/** The INSERT of entries for a raw-SQL transaction (the chunk store's, an import's): [sql, params]. */
export function auditInsert(entries: readonly AuditEntry[]): [string, unknown[]] {
  const params: unknown[] = [];
  const values = entries.map((entry) => {
    const row = auditRow(entry);
    const at = params.length;
    const details = row.details === Prisma.DbNull ? null : JSON.stringify(row.details);
    params.push(row.orgId, row.action, row.sessionId, row.actorKeyId, row.actorSubject, row.actorRole, row.clientIp, details, entry.time ?? new Date());
    const p = (k: number) => `$${at + k}`;
    return `(${p(1)}::uuid, ${p(2)}::"AuditAction", ${p(3)}::uuid, ${p(4)}::uuid, ${p(5)}, ${p(6)}, ${p(7)}, ${p(8)}::jsonb, ${p(9)}::timestamptz)`;
  });
  return [
    `INSERT INTO audit_events (org_id, action, session_id, actor_key_id, actor_subject, actor_role, client_ip, details, time) VALUES ${values.join(', ')}`,
    params,
  ];
}

type Tx = Pick<Prisma.TransactionClient, 'auditEvent'>;

/** Records an entry within `tx`: the change it describes commits with it or not at all. */
export async function audit(tx: Tx, entry: AuditEntry): Promise<void> {
  await tx.auditEvent.create({ data: auditRow(entry), select: { id: true } });
}

/** Records an entry on its own (a change that is a single statement, run in a transaction with it). */
export function auditWith<T>(change: (tx: Prisma.TransactionClient) => Promise<T>, entry: (result: T) => AuditEntry | null): Promise<T> {
  return prisma().$transaction(async (tx) => {
    const result = await change(tx);
    const e = entry(result);
    if (e) await audit(tx, e);
    return result;
  });
}

/**
 * Newest first: by the time each event happened, then by id (events of reads are written in batches,
 * so ids alone would put a read after a change that followed it).
 */
export const AUDIT_ORDER = [{ time: 'desc' }, { id: 'desc' }] satisfies Prisma.AuditEventOrderByWithRelationInput[];

export interface AuditFilter {
  action?: AuditAction | null;
  sessionId?: string | null;
  actorSubject?: string | null;
  after?: Date | null;
  before?: Date | null;
}

/** Who may read the trail: ADMIN and AUDITOR keys, their own org's. */
export function assertMayReadAudit(viewer: Viewer): void {
  if (viewer.role !== 'ADMIN' && viewer.role !== 'AUDITOR') throw forbidden('only ADMIN and AUDITOR keys may read the audit trail');
}

/** The WHERE of an org's events under a filter (a malformed session id is BAD_USER_INPUT). */
export function auditWhere(orgId: string, filter: AuditFilter = {}): Prisma.AuditEventWhereInput {
  if (filter.sessionId != null && !isUuid(filter.sessionId)) throw badInput('filter.sessionId must be a UUID', { field: 'sessionId' });
  if (filter.after && filter.before && filter.after >= filter.before) throw badInput('filter.after must be before filter.before', { field: 'after' });
  return {
    orgId,
    ...(filter.action && { action: filter.action }),
    ...(filter.sessionId != null && { sessionId: filter.sessionId }),
    ...(filter.actorSubject != null && { actorSubject: filter.actorSubject }),
    ...((filter.after || filter.before) && { time: { ...(filter.after && { gt: filter.after }), ...(filter.before && { lt: filter.before }) } }),
  };
}
