import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { revokeApiKey } from '../../src/auth/keys.ts';
import { startAppWithKeys, type TestApp } from '../support/app.ts';
import { ok } from '../support/graphql.ts';
import { APPEND, CLOSE, OPEN, ev, ingest, type EventIn, type OpenResult } from '../support/ingest.ts';
import { isDone, received, subscribe, TRANSPORTS, waitFor, type LiveBatch, type LiveResult, type Transport } from '../support/live.ts';

/*
 * Spec §13 through both transports, as a frontend uses them: catch-up then live, resuming by index,
 * selection, batches, the final DONE batch, access, and the key's limit.
 */

let app: TestApp;
let recorder: string;
let admin: string;
let orgId: string;

beforeAll(async () => {
  ({ app, orgId, recorder, admin } = await startAppWithKeys({ REEL_MAX_SUBSCRIPTIONS_PER_KEY: '3', REEL_KEY_CACHE_SECONDS: '1' }, 'acme'));
});
afterAll(() => app?.close());

async function openSession(extra: Record<string, unknown> = {}): Promise<string> {
  const input = { verb: 'CONNECT', type: 'database', connectionSubtype: 'postgres', roleName: 'pg', userId: 'alice', ...extra };
  return ok(await app.gql<OpenResult>(OPEN, { input }, recorder)).openSession.id;
}

async function append(id: string, seq: number, events: EventIn[]): Promise<void> {
  ok(await app.gql(APPEND, { id, seq, events }, recorder));
}

const close = async (id: string) => ok(await app.gql(CLOSE, { id }, recorder));

const batches = (results: LiveResult[]): LiveBatch[] => results.map((r) => r.data!.sessionEvents);
const errorCode = (results: LiveResult[]) => results[0]?.errors?.[0]?.extensions?.code;

/** Events as the subscription sends them, from events as appended, numbered from `first`. */
const indexed = (events: EventIn[], first = 0) => events.map((e, k) => ({ index: first + k, ...e }));

describe.each(TRANSPORTS)('sessionEvents over %s', (transport: Transport) => {
  it('sends the stored events, then each append, then a DONE batch, and completes', async () => {
    const id = await openSession();
    const first = [ev(0.5, 'i', 'select 1;'), ev(0.75, 'o', '1 row')];
    await append(id, 0, first);
    const live = subscribe(app.url, admin, { id }, transport);
    await live.until(received(2));
    expect(batches(live.results)[0]).toEqual({ next: 2, status: 'OPEN', events: indexed(first) });

    const second = [ev(1, 'i', 'select 2;'), ev(1.25, 'e', 'ERROR: boom'), ev(1.5, 'o', new Uint8Array([0, 255, 10]))];
    await append(id, 1, second);
    await live.until(received(5));
    await close(id);
    await live.until(isDone);
    expect(await live.ended).toEqual({ completed: true });
    expect(live.events()).toEqual(indexed([...first, ...second]));
    const all = batches(live.results);
    expect(all.at(-1)!.status).toBe('DONE');
    expect(all.at(-1)!.next).toBe(5);
    expect(all.slice(0, -1).every((b) => b.status === 'OPEN' && b.events.length > 0)).toBe(true);
    live.close();
  });

  it('resumes from any fromEvent, waits past the end, and ends a closed session at once', async () => {
    const events = Array.from({ length: 10 }, (_, k) => ev(k, k % 3 === 0 ? 'i' : 'o', `event ${k}`));
    const id = await ingest(app, recorder, { open: true }, [events.slice(0, 4), events.slice(4, 7), events.slice(7)]);

    const middle = subscribe(app.url, admin, { id, from: 5 }, transport);
    await middle.until(received(5));
    expect(middle.events()).toEqual(indexed(events.slice(5), 5));

    // One past the end waits for that event; further on, for its own.
    const atEnd = subscribe(app.url, admin, { id, from: 10 }, transport);
    const beyond = subscribe(app.url, admin, { id, from: 11 }, transport);
    const more = [ev(20, 'o', 'ten'), ev(21, 'o', 'eleven'), ev(22, 'o', 'twelve')];
    await append(id, 3, more);
    await atEnd.until(received(3));
    await beyond.until(received(2));
    expect(atEnd.events()).toEqual(indexed(more, 10));
    expect(beyond.events()).toEqual(indexed(more.slice(1), 11));

    await close(id);
    for (const live of [middle, atEnd, beyond]) {
      await live.until(isDone);
      expect(batches(live.results).at(-1)!.next).toBe(13);
      expect((await live.ended).completed).toBe(true);
    }

    // Closed already: the stored events from fromEvent, then DONE; past the end, only the empty DONE batch.
    const closed = subscribe(app.url, admin, { id, from: 8 }, transport);
    await closed.until(isDone);
    expect(closed.events()).toEqual(indexed([...events.slice(8), ...more], 8));
    const past = subscribe(app.url, admin, { id, from: 50 }, transport);
    await past.until(isDone);
    expect(batches(past.results)).toEqual([{ next: 50, status: 'DONE', events: [] }]);
    for (const live of [middle, atEnd, beyond, closed, past]) live.close();
  });

  it('sends only the selected types; next still covers the others', async () => {
    const events = [ev(0, 'i', 'ls'), ev(1, 'o', 'a b'), ev(2, 'e', 'oops'), ev(3, 'o', 'c')];
    const id = await ingest(app, recorder, {}, [events]);
    const live = subscribe(app.url, admin, { id, events: ['ERROR', 'INPUT'] }, transport);
    await live.until(isDone);
    expect(live.events()).toEqual([{ index: 0, ...events[0] }, { index: 2, ...events[2] }]);
    expect(batches(live.results).at(-1)!.next).toBe(4);
    const none = subscribe(app.url, admin, { id, events: [] }, transport);
    await none.until(isDone);
    expect(batches(none.results)).toEqual([{ next: 4, status: 'DONE', events: [] }]);
    live.close();
    none.close();
  });

  it('cuts batches at 1 MiB of payload; one larger event travels alone', async () => {
    const kib = (n: number, fill: number) => new Uint8Array(n * 1024).fill(fill);
    const events = [
      ...Array.from({ length: 6 }, (_, k) => ev(k, 'o', kib(384, k))),
      ev(6, 'o', kib(2048, 7)),
      ev(7, 'o', 'tail'),
    ];
    const id = await ingest(app, recorder, { open: true }, [events.slice(0, 5), events.slice(5)]);
    const live = subscribe(app.url, admin, { id }, transport);
    await live.until(received(events.length), 30_000);
    await close(id);
    await live.until(isDone);
    expect(live.events().map((e) => e.index)).toEqual(events.map((_, k) => k));
    expect(live.events()).toEqual(indexed(events));
    for (const batch of batches(live.results)) {
      const payload = batch.events.reduce((n, e) => n + Buffer.from(e.data, 'base64').length, 0);
      if (batch.events.length > 1) expect(payload).toBeLessThanOrEqual(1024 * 1024);
    }
    const big = batches(live.results).find((b) => b.events.some((e) => e.index === 6))!;
    expect(big.events).toHaveLength(1);
    live.close();
  });

  it('cuts batches at 10,000 events, so that a run of keystrokes stays a reasonable message', async () => {
    const keys = Array.from({ length: 12_345 }, (_, k) => ev(k / 100, 'i', String.fromCharCode(97 + (k % 26))));
    const id = await ingest(app, recorder, {}, [keys]);
    const live = subscribe(app.url, admin, { id }, transport);
    await live.until(isDone, 30_000);
    expect(batches(live.results).map((b) => [b.events.length, b.next, b.status])).toEqual([
      [10_000, 10_000, 'OPEN'],
      [2_345, 12_345, 'DONE'],
    ]);
    expect(live.events()).toEqual(indexed(keys));
    live.close();
  });

  it('refuses without a key, for an unknown or invisible session, for a reviewer, and a negative fromEvent', async () => {
    const id = await ingest(app, recorder, { userId: 'alice', review: { type: 'JIT', status: 'APPROVED', groups: [{ group: 'dba', status: 'APPROVED' }] } }, [
      [ev(0, 'o', 'x')],
    ]);
    const other = await app.org(`other-${transport}`);
    const outsider = await app.key(other, 'ADMIN', 'eve');
    const reviewer = await app.key(orgId, 'STANDARD', 'bob', { groups: ['dba'] });
    const cases: [string | undefined, Record<string, unknown>, string][] = [
      [undefined, { id }, 'UNAUTHENTICATED'],
      [outsider, { id }, 'NOT_FOUND'],
      [admin, { id: '00000000-0000-4000-8000-000000000000' }, 'NOT_FOUND'],
      [admin, { id: 'not-a-uuid' }, 'NOT_FOUND'],
      [reviewer, { id }, 'FORBIDDEN'],
      [admin, { id, from: -1 }, 'BAD_USER_INPUT'],
    ];
    for (const [key, variables, code] of cases) {
      const live = subscribe(app.url, key, variables as { id: string }, transport);
      await live.until((r) => r.length > 0);
      expect(errorCode(live.results), JSON.stringify(variables)).toBe(code);
      expect(live.results).toHaveLength(1);
      expect((await live.ended).completed).toBe(true);
      live.close();
    }
  });

  it('holds a key to REEL_MAX_SUBSCRIPTIONS_PER_KEY live subscriptions on the server', async () => {
    const id = await openSession();
    const auditor = await app.key(orgId, 'AUDITOR', `auditor-${transport}`);
    const held = [0, 1, 2].map(() => subscribe(app.url, auditor, { id }, transport));
    await waitFor(() => app.running.live.subscriptions() >= 3);
    const refused = subscribe(app.url, auditor, { id }, transport);
    await refused.until((r) => r.length > 0);
    expect(errorCode(refused.results)).toBe('RATE_LIMITED');
    expect(refused.results[0]!.errors![0]!.extensions).toMatchObject({ limit: 3 });
    // Another key is not held to this one's count; an ended subscription frees its place.
    const byAdmin = subscribe(app.url, admin, { id }, transport);
    held[0]!.close();
    await waitFor(() => app.running.live.subscriptions() === 3);
    const again = subscribe(app.url, auditor, { id }, transport);
    await append(id, 0, [ev(0, 'o', 'hello')]);
    await again.until(received(1));
    await byAdmin.until(received(1));
    for (const live of [...held, refused, byAdmin, again]) live.close();
  });

  it("ends a revoked key's subscriptions with UNAUTHENTICATED within the key cache's time", async () => {
    const id = await openSession();
    const key = await app.key(orgId, 'AUDITOR', `revoked-${transport}`);
    const live = subscribe(app.url, key, { id }, transport);
    await append(id, 0, [ev(0, 'o', 'before')]);
    await live.until(received(1));
    await revokeApiKey(key);
    // REEL_KEY_CACHE_SECONDS=1: the keys are checked each second (not on the next event: none comes).
    await live.until((r) => r.some((x) => x.errors), 10_000);
    expect(live.results.at(-1)!.errors![0]!.extensions?.code).toBe('UNAUTHENTICATED');
    expect((await live.ended).completed).toBe(true);
    live.close();
  });
});
