import { describe, expect, it } from 'vitest';
import { queriesFromEvents, type ExtractedQuery } from '../../src/pgwire/index.ts';
import type { EventType, SessionEvent } from '../../src/sessions/event.ts';
import { vectors } from '../support/vectors.ts';
import { bytes, query, text } from './frames.ts';

async function* stream(events: SessionEvent[]): AsyncGenerator<SessionEvent> {
  yield* events;
}

async function collect(it: AsyncIterable<ExtractedQuery>): Promise<ExtractedQuery[]> {
  const out: ExtractedQuery[] = [];
  for await (const q of it) out.push(q);
  return out;
}

const event = (time: number, type: EventType, data: Uint8Array | string): SessionEvent => ({
  time,
  type,
  data: typeof data === 'string' ? bytes(data) : data,
});

describe('queriesFromEvents: RAW_QUERIES vectors', () => {
  const cases = vectors.sessions.flatMap((s) =>
    s.renderings.filter((r) => r.format === 'RAW_QUERIES').map((r) => [s.name, s, r] as const),
  );
  it('has vectors for both modes', () => {
    expect(new Set(cases.map(([, s]) => s.verb))).toEqual(new Set(['EXEC', 'CONNECT']));
  });

  it.each(cases)('%s', async (_name, session, rendering) => {
    const events = session.events.map(([time, type, b64]) => event(time, type, Uint8Array.from(Buffer.from(b64, 'base64'))));
    const found = await collect(queriesFromEvents(stream(events), session.verb === 'EXEC' ? 'script' : 'wire'));
    const rendered = found.map((q) => [q.time, 'i', Buffer.from(q.sql).toString('base64')]);
    expect(rendered).toEqual(rendering.eventStream);
    expect(found.reduce((n, q) => n + q.sql.length, 0)).toBe(rendering.eventSize);
  });
});

describe('queriesFromEvents', () => {
  it('wire: parses only input events, across event boundaries', async () => {
    const q = query('SELECT 1');
    const events = [
      event(0.1, 'i', q.subarray(0, 4)),
      event(0.2, 'o', query('SELECT output')),
      event(0.3, 'e', query('SELECT error')),
      event(0.4, 'i', q.subarray(4)),
      event(0.5, 'i', query('SELECT 2')),
    ];
    const found = await collect(queriesFromEvents(stream(events), 'wire'));
    expect(found.map((f) => [f.time, text(f.sql)])).toEqual([
      [0.1, 'SELECT 1'],
      [0.5, 'SELECT 2'],
    ]);
  });

  it('script: each non-empty input event is one whole query', async () => {
    const events = [
      event(0.1, 'i', 'SELECT 1;\nSELECT 2;'),
      event(0.2, 'i', ''),
      event(0.3, 'o', 'SELECT out'),
      event(0.4, 'i', 'Quit'),
    ];
    const found = await collect(queriesFromEvents(events, 'script'));
    expect(found.map((f) => [f.time, text(f.sql)])).toEqual([
      [0.1, 'SELECT 1;\nSELECT 2;'],
      [0.4, 'Quit'],
    ]);
  });

  it('yields nothing for no events', async () => {
    expect(await collect(queriesFromEvents(stream([]), 'wire'))).toEqual([]);
    expect(await collect(queriesFromEvents(stream([]), 'script'))).toEqual([]);
  });
});
