import { expect } from 'vitest';
import type { TestApp } from '../support/app.ts';
import { ok } from '../support/graphql.ts';
import { KIND_TO_TYPE, type Kind } from '../support/ingest.ts';

/* Reading a session's event stream back over GraphQL (spec §3, §4, §5); test/support/ingest.ts writes it. */

export type Format = 'RAW' | 'UTF8' | 'BASE64' | 'RAW_QUERIES';
export const FORMATS: readonly Format[] = ['RAW', 'UTF8', 'BASE64', 'RAW_QUERIES'];

export const STREAM = /* GraphQL */ `
  query Stream($id: ID!, $format: EventStreamFormat, $events: [EventType!]) {
    session(id: $id) {
      eventStream(format: $format, events: $events)
      eventSize(format: $format, events: $events)
    }
  }`;

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
