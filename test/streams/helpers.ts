import { expect } from 'vitest';
import type { TestApp } from '../support/app.ts';
import { ok } from '../support/graphql.ts';

/* Shared pieces of the end-to-end event-stream tests (spec §3, §4, §5): ingest over GraphQL, read back over GraphQL. */

export type Kind = 'i' | 'o' | 'e';
export type EventTypeName = 'INPUT' | 'OUTPUT' | 'ERROR';
export type Format = 'RAW' | 'UTF8' | 'BASE64' | 'RAW_QUERIES';
export const FORMATS: readonly Format[] = ['RAW', 'UTF8', 'BASE64', 'RAW_QUERIES'];

export const KIND_TO_TYPE: Record<Kind, EventTypeName> = { i: 'INPUT', o: 'OUTPUT', e: 'ERROR' };

/** One event as `appendSessionEvents` takes it. */
export interface EventIn {
  time: number;
  type: EventTypeName;
  data: string;
}

export const b64 = (data: string | Uint8Array): string => Buffer.from(data).toString('base64');
export const ev = (time: number, type: Kind, data: string | Uint8Array): EventIn => ({
  time,
  type: KIND_TO_TYPE[type],
  data: b64(data),
});
export const fromVector = ([time, type, data]: [number, Kind, string]): EventIn => ({ time, type: KIND_TO_TYPE[type], data });
export const concat = (events: readonly EventIn[]): Buffer => Buffer.concat(events.map((e) => Buffer.from(e.data, 'base64')));

export const OPEN = /* GraphQL */ `
  mutation Open($input: OpenSessionInput!) { openSession(input: $input) { id } }`;
export const APPEND = /* GraphQL */ `
  mutation Append($id: ID!, $seq: Int!, $events: [SessionEventInput!]!) {
    appendSessionEvents(sessionId: $id, sequence: $seq, events: $events) { sequence eventCount eventSize }
  }`;
export const CLOSE = /* GraphQL */ `
  mutation Close($id: ID!) { closeSession(sessionId: $id) { id status } }`;

export const STREAM = /* GraphQL */ `
  query Stream($id: ID!, $format: EventStreamFormat, $events: [EventType!]) {
    session(id: $id) {
      eventStream(format: $format, events: $events)
      eventSize(format: $format, events: $events)
    }
  }`;

export { failed, ok } from '../support/graphql.ts';

export interface SessionSpec {
  verb: 'EXEC' | 'CONNECT';
  type?: string;
  connectionSubtype?: string | null;
  startDate?: string;
  userId?: string;
  script?: string;
  review?: unknown;
  roleName?: string;
}

/**
 * Opens a session, appends `calls` (one appendSessionEvents per element, sequences from 0) and
 * closes it, all over GraphQL with an ingest key. Returns the session id.
 */
export async function ingest(app: TestApp, ingestKey: string, spec: SessionSpec, calls: readonly (readonly EventIn[])[]): Promise<string> {
  const input = {
    verb: spec.verb,
    type: spec.type ?? 'database',
    roleName: spec.roleName ?? 'pg-test',
    ...(spec.connectionSubtype !== null && { connectionSubtype: spec.connectionSubtype ?? 'postgres' }),
    startDate: spec.startDate ?? '2024-07-25T15:56:35.317Z',
    ...(spec.userId !== undefined && { userId: spec.userId }),
    ...(spec.script !== undefined && { script: spec.script }),
    ...(spec.review !== undefined && { review: spec.review }),
  };
  const opened = ok(await app.gql<{ openSession: { id: string } }>(OPEN, { input }, ingestKey));
  const id = opened.openSession.id;
  let count = 0;
  let bytes = 0;
  for (const [seq, events] of calls.entries()) {
    const res = ok(
      await app.gql<{ appendSessionEvents: { sequence: number; eventCount: number; eventSize: number } }>(
        APPEND,
        { id, seq, events },
        ingestKey,
      ),
    );
    count += events.length;
    bytes += concat(events).length;
    expect(res.appendSessionEvents).toEqual({ sequence: seq, eventCount: count, eventSize: bytes });
  }
  const closed = ok(await app.gql<{ closeSession: { status: string } }>(CLOSE, { id }, ingestKey));
  expect(closed.closeSession.status).toBe('DONE');
  return id;
}

/** Splits events into append calls of the given sizes (the last size repeats). */
export function chunked<T>(items: readonly T[], sizes: readonly number[] = [1, 2]): T[][] {
  const out: T[][] = [];
  let at = 0;
  for (let k = 0; at < items.length; k++) {
    const n = Math.max(1, sizes[Math.min(k, sizes.length - 1)]!);
    out.push(items.slice(at, at + n));
    at += n;
  }
  return out;
}

export interface StreamResult {
  session: { eventStream: unknown[] | null; eventSize: number } | null;
}

/** Reads `eventStream` and `eventSize` with the same arguments; `events` null/undefined → argument omitted. */
export function readStream(app: TestApp, key: string, id: string, format?: Format, events?: readonly Kind[] | null) {
  return app.gql<StreamResult>(
    STREAM,
    { id, ...(format && { format }), ...(events && { events: events.map((k) => KIND_TO_TYPE[k]) }) },
    key,
  );
}

/** Reads a rendering and asserts it succeeded; returns `[eventStream, eventSize]`. */
export async function rendered(app: TestApp, key: string, id: string, format?: Format, events?: readonly Kind[] | null) {
  const data = ok(await readStream(app, key, id, format, events));
  expect(data.session).not.toBeNull();
  return [data.session!.eventStream, data.session!.eventSize] as const;
}

/** Decodes `[time, type, base64]` tuples to `[time, type, text]` for readable assertions. */
export const decodedTuples = (stream: unknown) =>
  (stream as [number, Kind, string][]).map(([t, k, d]) => [t, k, Buffer.from(d, 'base64').toString('utf8')]);

/** Number of Unicode code points of a string. */
export const codePoints = (s: string): number => [...s].length;
