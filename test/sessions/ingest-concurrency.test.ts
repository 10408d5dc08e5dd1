import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { groupCommitCounts } from '../../src/sessions/group-commit.ts';
import { startTestApp, type TestApp } from '../support/app.ts';
import { ok } from '../support/graphql.ts';
import { APPEND, CLOSE, ev, OPEN, rawTuples, sizeOf, type AppendResult, type EventIn, type OpenResult } from '../support/ingest.ts';

/*
 * §8 under concurrency: many clients appending to the same sessions at once, as recorders that
 * retry on timeouts do. Appends of several sessions share group commits on PostgreSQL; whatever
 * the interleaving, each sequence is stored once, in order, whole, and answered consistently.
 */

let app: TestApp;
let recorder: string;
let admin: string;

const STREAM = /* GraphQL */ `
  query Stream($id: ID!) { session(id: $id) { eventStream(format: RAW) metrics { eventSize } } }`;

beforeAll(async () => {
  app = await startTestApp();
  const orgId = await app.org('acme');
  recorder = await app.key(orgId, 'RECORDER', 'gateway');
  admin = await app.key(orgId, 'ADMIN', 'root');
});

afterAll(async () => {
  await app?.close();
});

async function open(): Promise<string> {
  const input = { verb: 'CONNECT', type: 'database', roleName: 'pg-prod', startDate: '2024-07-25T15:56:35.317Z' };
  return ok(await app.gql<OpenResult>(OPEN, { input }, recorder)).openSession.id;
}

/** The calls of one session: call k holds k % 3 + 1 events whose bytes name the session and call. */
function callsFor(session: number, count: number, variant = ''): EventIn[][] {
  return Array.from({ length: count }, (_, k) =>
    Array.from({ length: (k % 3) + 1 }, (_, j) => ev(k + j / 10, j === 2 ? 'e' : 'o', `s${session} c${k} e${j}${variant} ✓\r\n`)),
  );
}

async function stream(id: string) {
  const data = ok(await app.gql<{ session: { eventStream: unknown[]; metrics: { eventSize: number } | null } }>(STREAM, { id }, admin));
  return data.session;
}

/**
 * Appends every call of `calls` in order, as a recorder would, but with a sibling client doing the
 * same: a call answered with a gap (another client is behind) is sent again until acknowledged.
 * Returns every acknowledged answer.
 */
async function hammer(id: string, calls: readonly EventIn[][]) {
  const acks: { seq: number; eventCount: number; eventSize: number }[] = [];
  for (let seq = 0; seq < calls.length; ) {
    const res = await app.gql<AppendResult>(APPEND, { id, seq, events: calls[seq] }, recorder);
    if (res.errors) {
      // The only error a client sending the right events may see: a gap, while a sibling is behind.
      expect(res.errors[0]!.extensions).toMatchObject({ code: 'CONFLICT', expected: expect.any(Number) });
      await new Promise((r) => setTimeout(r, 1));
      continue;
    }
    acks.push({ seq, ...res.data!.appendSessionEvents });
    seq++;
  }
  return acks;
}

describe('appendSessionEvents from several clients at once', () => {
  it('stores each call of each session once, in order, whatever the interleaving', async () => {
    const SESSIONS = 6;
    const CLIENTS = 4;
    const CALLS = 30;
    const ids = await Promise.all(Array.from({ length: SESSIONS }, open));
    const calls = ids.map((_, s) => callsFor(s, CALLS));

    const acks = await Promise.all(ids.flatMap((id, s) => Array.from({ length: CLIENTS }, () => hammer(id, calls[s]!))));

    for (const [s, id] of ids.entries()) {
      const expected = calls[s]!.flat();
      const stored = await stream(id);
      expect(stored.eventStream).toEqual(rawTuples(expected));
      // Every acknowledgement counts at least the calls up to its own: never a lost or double count.
      const through = (seq: number) => calls[s]!.slice(0, seq + 1).flat();
      for (const clientAcks of acks.slice(s * CLIENTS, (s + 1) * CLIENTS)) {
        for (const ack of clientAcks) {
          expect(ack.eventCount).toBeGreaterThanOrEqual(through(ack.seq).length);
          expect(ack.eventCount).toBeLessThanOrEqual(expected.length);
          expect(ack.eventSize).toBeGreaterThanOrEqual(sizeOf(through(ack.seq)));
        }
      }
      // A further retry of any sequence is acknowledged with the final totals and stores nothing.
      const retry = ok(await app.gql<AppendResult>(APPEND, { id, seq: 7, events: calls[s]![7] }, recorder));
      expect(retry.appendSessionEvents).toEqual({ sequence: 7, eventCount: expected.length, eventSize: sizeOf(expected) });
    }
  });

  it('stores appends that arrive together in shared batches, each once', async () => {
    const SESSIONS = 8;
    const CALLS = 10;
    const ids = await Promise.all(Array.from({ length: SESSIONS }, open));
    const before = { ...groupCommitCounts };
    await Promise.all(
      ids.map(async (id, s) => {
        for (const [seq, events] of callsFor(s, CALLS).entries()) ok(await app.gql<AppendResult>(APPEND, { id, seq, events }, recorder));
      }),
    );
    // Every append was the next of an open session: the batches stored all of them, and did so
    // in fewer statements than appends (the server is in this process, so are its counts).
    expect(groupCommitCounts.stored - before.stored).toBe(SESSIONS * CALLS);
    expect(groupCommitCounts.passedOn - before.passedOn).toBe(0);
    expect(groupCommitCounts.batches - before.batches).toBeLessThan(SESSIONS * CALLS);
  });

  it('racing different events under one sequence: one is stored, every other is a CONFLICT', async () => {
    const SESSIONS = 4;
    const RIVALS = 5;
    const ids = await Promise.all(Array.from({ length: SESSIONS }, open));
    const rivals = ids.map((_, s) => Array.from({ length: RIVALS }, (_, r) => callsFor(s, 1, ` rival ${r}`)[0]!));

    const answers = await Promise.all(
      ids.flatMap((id, s) => rivals[s]!.map((events) => app.gql<AppendResult>(APPEND, { id, seq: 0, events }, recorder))),
    );

    for (const [s, id] of ids.entries()) {
      const mine = answers.slice(s * RIVALS, (s + 1) * RIVALS);
      const winners = mine.flatMap((res, r) => (res.errors ? [] : [r]));
      expect(winners).toHaveLength(1);
      for (const res of mine.filter((res) => res.errors)) {
        expect(res.errors![0]!.extensions?.code).toBe('CONFLICT');
        expect(res.errors![0]!.message).toMatch(/already stored with different events/);
      }
      const stored = await stream(id);
      expect(stored.eventStream).toEqual(rawTuples(rivals[s]![winners[0]!]!));
    }
  });

  it('appends racing a close: each is stored whole before the close or refused after it', async () => {
    const id = await open();
    const calls = callsFor(0, 20);
    const appends = (async () => {
      const outcomes: string[] = [];
      for (const [seq, events] of calls.entries()) {
        const res = await app.gql<AppendResult>(APPEND, { id, seq, events }, recorder);
        outcomes.push(res.errors ? String(res.errors[0]!.extensions?.code) : 'ok');
      }
      return outcomes;
    })();
    await new Promise((r) => setTimeout(r, 5));
    ok(await app.gql(CLOSE, { id }, recorder));
    const outcomes = await appends;

    // Acknowledged calls form a prefix, and everything after the close is refused as closed.
    const stored = outcomes.indexOf('SESSION_CLOSED') === -1 ? outcomes.length : outcomes.indexOf('SESSION_CLOSED');
    expect(outcomes.slice(0, stored).every((o) => o === 'ok')).toBe(true);
    expect(outcomes.slice(stored).every((o) => o === 'SESSION_CLOSED')).toBe(true);
    const expected = calls.slice(0, stored).flat();
    const after = await stream(id);
    expect(after.eventStream).toEqual(rawTuples(expected));
    expect(after.metrics?.eventSize).toBe(sizeOf(expected));
  });
});
