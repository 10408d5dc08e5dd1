import { performance } from 'node:perf_hooks';
import { addTotals, emptyTotals, eventsJson, type BenchEvent, type StreamTotals } from './data.ts';
import { gqlOk } from './http.ts';
import type { ServerProcess } from './proc.ts';

/* Sessions created through the API, as a recorder would: openSession, appendSessionEvents, closeSession. */

export const OPEN = 'mutation ($input: OpenSessionInput!) { openSession(input: $input) { id } }';
export const APPEND =
  'mutation ($s: ID!, $q: Int!, $e: [SessionEventInput!]!) { appendSessionEvents(sessionId: $s, sequence: $q, events: $e) { sequence eventCount eventSize } }';
export const CLOSE = 'mutation ($s: ID!) { closeSession(sessionId: $s, input: { exitCode: 0 }) { status metrics { eventSize } } }';

// Older than the bulk sessions' start dates' end, so the first page of `sessions` stays the same
// whichever scenarios ran.
const START = '2023-06-01T00:00:00.000Z';

export type SessionShape = 'terminal' | 'pgwire';

export async function openSession(url: string, key: string, shape: SessionShape, roleName: string): Promise<string> {
  const input =
    shape === 'pgwire'
      ? { verb: 'CONNECT', type: 'database', connectionSubtype: 'postgres', roleName, userId: 'bench', startDate: START }
      : { verb: 'CONNECT', type: 'custom', connectionSubtype: 'ssh', roleName, userId: 'bench', startDate: START };
  const data = await gqlOk<{ openSession: { id: string } }>(url, key, OPEN, { input });
  return data.openSession.id;
}

export function appendVariables(sessionId: string, sequence: number, eventsJsonText: string): string {
  return `{"s":"${sessionId}","q":${sequence},"e":${eventsJsonText}}`;
}

export async function closeSession(url: string, key: string, sessionId: string): Promise<void> {
  await gqlOk(url, key, CLOSE, { s: sessionId });
}

export interface LoadedSession {
  id: string;
  totals: StreamTotals;
  ms: number;
  calls: number;
}

/** Creates a session from `calls`, the events of each appendSessionEvents call in turn. */
export async function loadSession(
  url: string,
  key: string,
  shape: SessionShape,
  roleName: string,
  calls: Iterable<readonly BenchEvent[]>,
  progress?: (done: number) => void,
): Promise<LoadedSession> {
  const started = performance.now();
  const id = await openSession(url, key, shape, roleName);
  const totals = emptyTotals();
  let sequence = 0;
  for (const events of calls) {
    const reply = await gqlOk<{ appendSessionEvents: { eventSize: number } }>(
      url,
      key,
      APPEND,
      appendVariables(id, sequence++, eventsJson(events)),
    );
    addTotals(totals, events);
    if (reply.appendSessionEvents.eventSize !== totals.bytes) {
      throw new Error(`stored ${reply.appendSessionEvents.eventSize} bytes, sent ${totals.bytes}`);
    }
    progress?.(totals.bytes);
  }
  await closeSession(url, key, id);
  return { id, totals, ms: performance.now() - started, calls: sequence };
}

/** A signed link to the whole session as a raw file, issued by `server`. */
export async function rawLink(server: ServerProcess, key: string, sessionId: string): Promise<string> {
  const data = await gqlOk<{ downloadLink: { downloadUrl: string } }>(
    server.url,
    key,
    'mutation ($id: ID!) { downloadLink(sessionId: $id, extension: "raw", events: [INPUT, OUTPUT, ERROR]) { downloadUrl } }',
    { id: sessionId },
  );
  return data.downloadLink.downloadUrl;
}
