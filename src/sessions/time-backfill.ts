import type { Logger } from '../logger.ts';
import { withChunkTx } from './chunk-storage.ts';
import { eachSessionWhere } from './each-session.ts';
import { decodeEvents } from './codec.ts';
import { appendTimes, NO_EVENTS, type EventTimes } from './event-times.ts';

/*
 * Event times for sessions stored before chunks recorded them (migration chunk_time_range): their
 * chunks have a null until_time, which readers take as unknown and read (correct, not faster). This
 * pass decodes such a session's chunks once and writes every chunk's until_time and the session's
 * until_time and time_ordered, as appends would have (event-times.ts). `reel migrate` runs it to the
 * end; a server runs it in the background at start.
 */

/** Chunks decoded per statement: a chunk holds at most 1 MiB (or one bigger event). */
const PAGE_CHUNKS = 8;

/** The times of one stored chunk, from its events. */
function chunkTimes(data: Uint8Array) {
  let firstTime: number | null = null;
  let maxTime: number | null = null;
  let ordered = true;
  for (const e of decodeEvents(data)) {
    if (firstTime === null) firstTime = e.time;
    if (maxTime !== null && e.time < maxTime) ordered = false;
    if (maxTime === null || e.time > maxTime) maxTime = e.time;
  }
  return { firstTime, maxTime, ordered };
}

/**
 * Fills one session, in one transaction holding its row (appends wait: they take the same lock).
 * Every chunk is recomputed, those appended since the upgrade too: theirs were computed without the
 * older chunks' times.
 */
async function fillSession(sessionId: string): Promise<void> {
  await withChunkTx(async (tx) => {
    const [locked] = await tx.query('SELECT 1 FROM sessions WHERE id = $1::uuid FOR UPDATE', [sessionId]);
    if (!locked) return;
    let times: EventTimes = NO_EVENTS;
    let after = { sequence: -1, part: -1 };
    for (;;) {
      const rows = await tx.query<{ sequence: number; part: number; data: Uint8Array }>(
        `SELECT sequence, part, data FROM session_event_chunks
         WHERE session_id = $1::uuid AND (sequence, part) > ($2, $3) ORDER BY sequence, part LIMIT ${PAGE_CHUNKS}`,
        [sessionId, after.sequence, after.part],
      );
      if (rows.length === 0) break;
      const appended = appendTimes(times, rows.map((r) => chunkTimes(r.data)));
      times = appended.after;
      await tx.query(
        `UPDATE session_event_chunks c SET until_time = u.until
         FROM unnest($2::int[], $3::int[], $4::float8[]) AS u (sequence, part, until)
         WHERE c.session_id = $1::uuid AND c.sequence = u.sequence AND c.part = u.part`,
        [sessionId, rows.map((r) => r.sequence), rows.map((r) => r.part), appended.untilTimes],
      );
      after = rows.at(-1)!;
    }
    await tx.query('UPDATE sessions SET until_time = $2, time_ordered = $3 WHERE id = $1::uuid', [sessionId, times.until, times.ordered]);
  });
}

/** Fills every session that still has chunks without times; returns how many. Stops between sessions when `stop()` says so. */
export async function backfillEventTimes(stop: () => boolean = () => false, logger?: Logger): Promise<number> {
  // The migration marked every such session not time_ordered; its chunk index finds null times.
  const filled = await eachSessionWhere(
    'NOT s.time_ordered AND EXISTS (SELECT 1 FROM session_event_chunks c WHERE c.session_id = s.id AND c.until_time IS NULL)',
    fillSession,
    stop,
  );
  if (filled > 0) logger?.info({ sessions: filled }, 'event times filled in for sessions stored before time windows');
  return filled;
}
