import { afterAll, beforeAll, expect, it } from 'vitest';
import { startAppWithKeys, type TestApp } from '../support/app.ts';
import { ok } from '../support/graphql.ts';
import { APPEND, CLOSE, OPEN, ev, type EventIn, type OpenResult } from '../support/ingest.ts';
import { isDone, subscribe, TRANSPORTS, type LiveSubscription } from '../support/live.ts';

/*
 * Spec §13's exactly-once promise under races: subscriptions start at random moments and indexes
 * while several sessions are appended to (retries included, some sent twice at once, some calls
 * big enough to be stored in parts and sent in several batches); each must receive exactly the
 * session's events from its fromEvent on, once each, in order.
 */

let app: TestApp;
let recorder: string;
let admin: string;

beforeAll(async () => {
  ({ app, recorder, admin } = await startAppWithKeys({ REEL_MAX_SUBSCRIPTIONS_PER_KEY: '0' }, 'races'));
});
afterAll(() => app?.close());

/** A small deterministic generator (mulberry32), so that a failure can be replayed. */
function random(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

interface Watcher {
  live: LiveSubscription;
  sessionId: string;
  from: number;
}

it('every subscriber gets exactly the events from its fromEvent on, once, in order', async () => {
  const rand = random(20261201);
  const sessions = 3;
  const calls = 30;
  const appended = new Map<string, EventIn[]>();
  const watchers: Watcher[] = [];

  const record = async (n: number) => {
    const input = { verb: 'CONNECT', type: 'custom', roleName: `shell-${n}`, userId: 'alice' };
    const id = ok(await app.gql<OpenResult>(OPEN, { input }, recorder)).openSession.id;
    const events: EventIn[] = [];
    appended.set(id, events);
    for (let seq = 0; seq < calls; seq++) {
      const count = 1 + Math.floor(rand() * 4);
      const call = Array.from({ length: count }, (_, k) => {
        // Mostly lines; now and then a screenful, and once a call stored in two parts (over 1 MiB).
        const size = seq === 10 && k === 0 ? 700 * 1024 : rand() < 0.1 ? Math.floor(rand() * 64 * 1024) : Math.floor(rand() * 200);
        const data = new Uint8Array(size).map(() => Math.floor(rand() * 256));
        return ev(seq + k / 10, rand() < 0.3 ? 'i' : 'o', data);
      });
      if (seq === 10) call.push(ev(seq + 0.9, 'o', new Uint8Array(700 * 1024).fill(7)));
      const sends = rand() < 0.2 ? 2 : 1; // a retry sent alongside the first try
      await Promise.all(Array.from({ length: sends }, () => app.gql(APPEND, { id, seq, events: call }, recorder)).map(async (p) => ok(await p)));
      events.push(...call);
      if (rand() < 0.15) ok(await app.gql(APPEND, { id, seq, events: call }, recorder)); // a late retry
      if (rand() < 0.3) {
        // A few at once: they catch up side by side and join the session's feed at different points.
        for (let k = 0; k < 3; k++) {
          const from = Math.floor(rand() * (events.length + 3));
          const transport = TRANSPORTS[Math.floor(rand() * 2)]!;
          watchers.push({ live: subscribe(app.url, admin, { id, from }, transport), sessionId: id, from });
        }
      }
      await new Promise((resolve) => setTimeout(resolve, rand() * 5));
    }
    // One more watcher from 0 right before the close, racing it.
    watchers.push({ live: subscribe(app.url, admin, { id, from: 0 }, 'sse'), sessionId: id, from: 0 });
    ok(await app.gql(CLOSE, { id }, recorder));
  };
  await Promise.all(Array.from({ length: sessions }, (_, n) => record(n)));

  expect(watchers.length).toBeGreaterThan(10);
  for (const { live, sessionId, from } of watchers) {
    await live.until(isDone, 30_000);
    const events = appended.get(sessionId)!;
    const want = events.slice(from).map((e, k) => ({ index: from + k, ...e }));
    const got = live.events();
    expect(got.length, `from ${from} of ${events.length}: ${JSON.stringify(live.results.map((r) => [r.data?.sessionEvents.status, r.data?.sessionEvents.next, r.data?.sessionEvents.events.map((e) => e.index)]))}`).toBe(want.length);
    expect(got).toEqual(want);
    expect(live.results.at(-1)!.data!.sessionEvents.next).toBe(Math.max(from, events.length));
    // DONE is the last batch's alone, even for batches read after the close.
    expect(live.results.slice(0, -1).map((r) => r.data!.sessionEvents.status)).not.toContain('DONE');
    live.close();
  }
}, 120_000);
