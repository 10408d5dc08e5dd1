import type { SessionEvent } from '../sessions/event.ts';
import { PgFrontendParser, type ExtractedQuery } from './parser.ts';

/**
 * How a Postgres session's `i` events carry SQL: `wire` for `CONNECT` sessions (client
 * wire-protocol frames, spec §5), `script` for `EXEC` sessions (the script text itself, §4.3).
 */
export type QueryMode = 'wire' | 'script';

/**
 * The queries a client sent, in order, from a session's events. Reads the events once, as a
 * stream, holding no more than one event and the SQL being collected.
 */
export async function* queriesFromEvents(
  events: AsyncIterable<SessionEvent> | Iterable<SessionEvent>,
  mode: QueryMode,
): AsyncGenerator<ExtractedQuery> {
  if (mode === 'script') {
    // No protocol to parse: each non-empty input event is one query, whole.
    for await (const event of events) {
      if (event.type === 'i' && event.data.length > 0) yield { time: event.time, sql: event.data };
    }
    return;
  }
  const parser = new PgFrontendParser();
  for await (const event of events) {
    if (event.type !== 'i') continue;
    yield* parser.push(event.data, event.time);
  }
  yield* parser.end();
}
