/*
 * Announcing that a session changed, so live subscribers wake up (spec §13). Every statement that
 * stores events or closes a session also calls pg_notify on CHANGES_CHANNEL, inside its own
 * transaction: PostgreSQL delivers the notification only if and when that transaction commits, to
 * every replica listening on the database (PGlite delivers it in process). A notification carries
 * the session's id and its event count after the change, never payloads: subscribers read the
 * events themselves.
 */

export const CHANGES_CHANNEL = 'reel_session_changes';

/** SQL for a pg_notify of the session whose id and event count the two SQL expressions give. */
export function notifyEvents(idSql: string, eventCountSql: string): string {
  return `pg_notify('${CHANGES_CHANNEL}', ${idSql}::text || ' ' || ${eventCountSql}::text)`;
}

/** SQL for a pg_notify that the session whose id the SQL expression gives was deleted (spec §15). */
export function notifyDeleted(idSql: string): string {
  return `pg_notify('${CHANGES_CHANNEL}', ${idSql}::text || ' deleted')`;
}

/** A change as notified: the session and how many events it holds now, or that it was deleted. */
export interface SessionChange {
  sessionId: string;
  eventCount: number;
  deleted?: true;
}

/** The change a notification's payload names; undefined for a payload that is not one. */
export function parseChange(payload: string): SessionChange | undefined {
  const match = /^([0-9a-f-]{36}) (\d+|deleted)$/.exec(payload);
  if (!match) return undefined;
  return match[2] === 'deleted' ? { sessionId: match[1]!, eventCount: 0, deleted: true } : { sessionId: match[1]!, eventCount: Number(match[2]) };
}
