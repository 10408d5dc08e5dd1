import { audit, auditInsert, type Actor } from '../audit/audit.ts';
import type { Viewer } from '../auth/keys.ts';
import { database, prisma } from '../db/client.ts';
import { badInput, forbidden, notFound } from '../errors.ts';
import type { Logger } from '../logger.ts';
import { isUuid } from '../uuid.ts';
import { notifyDeleted } from './changes.ts';
import { withChunkTx } from './chunk-storage.ts';

/*
 * Deletion and retention (spec §15). Deleting a session removes its row, and with it (ON DELETE
 * CASCADE) its event chunks, its searchable text and indexing progress, and its review; its audit
 * events stay. The deletion notifies like an append does, so live subscriptions to the session end
 * (NOT_FOUND) on every replica, and a download of it that is still reading ends with an error
 * (read-events.ts). An import or an append racing the deletion fails on the missing row.
 */

/** deleteSession: ADMIN keys, sessions of their org. Returns the id. */
export async function deleteSession(viewer: Viewer, sessionId: string): Promise<string> {
  if (viewer.role !== 'ADMIN') throw forbidden('only ADMIN keys may delete sessions');
  if (!isUuid(sessionId)) throw notFound('session not found');
  await prisma().$transaction(async (tx) => {
    const [row] = await tx.$queryRaw<{ role_name: string; event_count: bigint }[]>`
      SELECT role_name, event_count FROM sessions WHERE id = ${sessionId}::uuid AND org_id = ${viewer.orgId}::uuid FOR UPDATE`;
    if (!row) throw notFound('session not found');
    await tx.$executeRawUnsafe(`SELECT ${notifyDeleted('$1::uuid')}`, sessionId);
    await tx.session.delete({ where: { id: sessionId } });
    await audit(tx, {
      orgId: viewer.orgId,
      action: 'SESSION_DELETED',
      actor: viewer,
      sessionId,
      details: { roleName: row.role_name, eventCount: Number(row.event_count) },
    });
  });
  return sessionId;
}

/** Sessions deleted per transaction: short locks, and a purge of millions advances in steps. */
export const PURGE_BATCH = 200;

export interface PurgeOptions {
  /** One organisation, or every one (automatic retention). */
  orgId?: string;
  olderThanDays: number;
  dryRun?: boolean;
  actor: Actor;
  batch?: number;
  /** Checked between batches: true stops the purge (a server shutting down). */
  stopped?: () => boolean;
  /**
   * Purges run one at a time across replicas (a transaction-level advisory lock per batch): wait
   * for another's batch (`reel prune`), or stop when one is purging (the hourly round: it will be done).
   */
  waitForOthers?: boolean;
}

const RETENTION_LOCK_KEY = 72707370; // beside the migrator's (db/migrate.ts)

// Sessions that ended before the cut-off: DONE, by their end (their start when no end was recorded).
const ENDED_BEFORE = `status = 'DONE' AND COALESCE(end_date, start_date) < now() - make_interval(days => $1::int)`;

function checkDays(days: number): void {
  if (!Number.isInteger(days) || days < 0 || days > 100_000) throw badInput('the age in days must be a whole number from 0 to 100000', { field: 'olderThanDays' });
}

/**
 * Deletes the sessions that ended more than `olderThanDays` ago (never open ones), in batches of
 * `batch`, each its own transaction with one SESSIONS_PURGED event per organisation naming the
 * sessions it removed. Idempotent: a session already gone is simply not found again. Returns how many
 * were purged (or, with dryRun, would be).
 */
export async function purgeSessions(options: PurgeOptions): Promise<number> {
  checkDays(options.olderThanDays);
  if (options.orgId !== undefined && !isUuid(options.orgId)) throw notFound('no such organisation');
  const orgClause = options.orgId === undefined ? '' : ' AND org_id = $2::uuid';
  const params: unknown[] = options.orgId === undefined ? [options.olderThanDays] : [options.olderThanDays, options.orgId];
  if (options.dryRun) {
    const [row] = await database().withConnection((conn) =>
      conn.query<{ n: string }>(`SELECT count(*)::text AS n FROM sessions WHERE ${ENDED_BEFORE}${orgClause}`, params),
    );
    return Number(row?.n ?? 0);
  }
  const batch = options.batch ?? PURGE_BATCH;
  let purged = 0;
  for (;;) {
    if (options.stopped?.()) return purged;
    const removed = await withChunkTx(async (tx) => {
      if (options.waitForOthers) {
        await tx.query('SELECT pg_advisory_xact_lock($1)', [RETENTION_LOCK_KEY]);
      } else {
        const [lock] = await tx.query<{ locked: boolean }>('SELECT pg_try_advisory_xact_lock($1) AS locked', [RETENTION_LOCK_KEY]);
        if (!lock?.locked) return -1; // another replica is purging
      }
      // SKIP LOCKED: a session being appended to or deleted right now is left for the next batch.
      const rows = await tx.query<{ id: string; org_id: string }>(
        `DELETE FROM sessions WHERE id IN (
           SELECT id FROM sessions WHERE ${ENDED_BEFORE}${orgClause}
           ORDER BY COALESCE(end_date, start_date) LIMIT ${batch} FOR UPDATE SKIP LOCKED
         ) RETURNING id::text AS id, org_id::text AS org_id`,
        params,
      );
      if (rows.length === 0) return 0;
      const byOrg = new Map<string, string[]>();
      for (const r of rows) byOrg.set(r.org_id, [...(byOrg.get(r.org_id) ?? []), r.id]);
      await tx.query(
        ...auditInsert(
          [...byOrg].map(([orgId, sessionIds]) => ({
            orgId,
            action: 'SESSIONS_PURGED' as const,
            actor: options.actor,
            details: { count: sessionIds.length, olderThanDays: options.olderThanDays, sessionIds },
          })),
        ),
      );
      // Live subscriptions to them end, as for a deletion.
      await tx.query(`SELECT ${notifyDeleted('id')} FROM unnest($1::uuid[]) AS id`, [rows.map((r) => r.id)]);
      return rows.length;
    });
    if (removed <= 0) return purged; // none left (a locked one waits for the next round), or another replica purging
    purged += removed;
  }
}

const RETENTION_EVERY_MS = 3_600_000;

/**
 * REEL_RETENTION_DAYS: purges every organisation's old sessions at start and hourly. On PostgreSQL
 * one replica at a time: a round stops when it finds another replica's batch running.
 */
export function startRetention(days: number, logger: Logger): { close(): Promise<void> } {
  let stopped = false;
  let running: Promise<void> = Promise.resolve();
  const round = async () => {
    try {
      const purged = await purgeSessions({ olderThanDays: days, actor: 'retention', stopped: () => stopped });
      if (purged > 0) logger.info({ purged, days }, 'retention: sessions purged');
    } catch (err) {
      logger.error({ err }, 'retention: purging old sessions failed; next try within the hour');
    }
  };
  running = round();
  const timer = setInterval(() => {
    running = running.then(round);
  }, RETENTION_EVERY_MS);
  timer.unref();
  return {
    async close() {
      stopped = true;
      clearInterval(timer);
      await running;
    },
  };
}
