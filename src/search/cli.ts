import { operatorViewer } from '../orgs.ts';
import { findVisibleSessions } from '../sessions/access.ts';
import { findHits } from './hits.ts';
import { indexPendingSessions } from './indexer.ts';
import { needleOf } from './needle.ts';

export interface SearchOptions {
  /** Most sessions listed. */
  sessions: number;
  /** Most hits shown per session. */
  hits: number;
  /** One JSON object per line instead of text for people. */
  json: boolean;
}

/**
 * `reel search`: what `sessions(filter: { text })` and `searchHits` answer, for an operator. Sessions
 * not indexed yet (no server running since they were stored) are indexed first, so the answer is
 * complete.
 */
export async function searchSessions(orgId: string, text: string, options: SearchOptions, out: (text: string) => void): Promise<void> {
  const needle = needleOf(text);
  await indexPendingSessions();
  const sessions = await findVisibleSessions(operatorViewer(orgId), { text }, { take: options.sessions });
  for (const session of sessions) {
    const { hits, hasNextPage } = await findHits(session.id, needle, options.hits, undefined);
    if (options.json) {
      out(
        `${JSON.stringify({
          session: { id: session.id, startDate: session.startDate, status: session.status, verb: session.verb, roleName: session.roleName, userId: session.userId },
          hits: hits.map(({ time, type, source, line }) => ({ time, type: { i: 'INPUT', o: 'OUTPUT', e: 'ERROR' }[type], source, line })),
          moreHits: hasNextPage,
        })}\n`,
      );
      continue;
    }
    out(`${session.id}  ${session.startDate.toISOString()}  ${session.verb} ${session.roleName}  ${session.userId ?? '-'}\n`);
    for (const hit of hits) out(`  ${hit.time.toFixed(3).padStart(10)}s  ${hit.source.padEnd(6)}  ${hit.line}\n`);
    if (hasNextPage) out('  …\n');
  }
  if (sessions.length === 0 && !options.json) out('no session holds that text\n');
}
