import { queryRows } from './chunk-storage.ts';

/**
 * Runs `work` on every session matching the SQL `condition` (on `sessions s`), in id order, a page
 * of ids at a time, until none is left or `stop()` says so (checked between sessions); returns how
 * many it ran on. For backfills: `work` must make the session stop matching, or it is not visited
 * again anyway (the walk moves past its id).
 */
export async function eachSessionWhere(condition: string, work: (sessionId: string) => Promise<void>, stop: () => boolean = () => false): Promise<number> {
  let done = 0;
  let last = '00000000-0000-0000-0000-000000000000';
  for (;;) {
    const sessions = await queryRows<{ id: string }>(`SELECT s.id::text AS id FROM sessions s WHERE s.id > $1::uuid AND (${condition}) ORDER BY s.id LIMIT 100`, [last]);
    if (sessions.length === 0) return done;
    for (const { id } of sessions) {
      if (stop()) return done;
      await work(id);
      done++;
      last = id;
    }
  }
}
