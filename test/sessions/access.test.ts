import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApiKey, hashKey, KeyCache, revokeApiKey } from '../../src/auth/keys.ts';
import { prisma } from '../../src/db/client.ts';
import { startTestApp, type TestApp } from '../support/app.ts';
import { codeOf, failed, ok } from '../support/graphql.ts';
import { APPEND, CLOSE, ev, OPEN, SESSION, SESSIONS, type AppendResult, type OpenResult, type SessionsResult } from '../support/ingest.ts';

/* Spec §7 (access) through the real HTTP surface, and the `sessions` query of §2. */

let app: TestApp;
/** The server's clock: real time plus `skew`, which tests move forward past the API-key cache, or `frozenAt`. */
let skew = 0;
let frozenAt: number | undefined;
const clock = () => frozenAt ?? Date.now() + skew;
const pastKeyCache = () => {
  skew += app.config.keyCacheSeconds * 1000;
};
let orgA: string;
let orgB: string;
const k = {} as Record<
  'adminA' | 'auditorA' | 'alice' | 'bob' | 'carol' | 'recorderA' | 'adminB' | 'recorderB' | 'aliceB',
  string
>;
const s = {} as Record<'alice' | 'bobReviewed' | 'carol' | 'other' | 'noUser' | 'byAdmin' | 'orgB', string>;

async function open(key: string, input: Record<string, unknown>): Promise<string> {
  return ok(await app.gql<OpenResult>(OPEN, { input }, key)).openSession.id;
}

/** Ids of every session the key sees, following pages. */
async function listIds(key: string, filter?: Record<string, unknown>, first = 100): Promise<string[]> {
  const ids: string[] = [];
  let after: string | null = null;
  for (;;) {
    const page: SessionsResult = ok(await app.gql<SessionsResult>(SESSIONS, { first, after, filter }, key));
    ids.push(...page.sessions.edges.map((e) => e.node.id));
    if (!page.sessions.pageInfo.hasNextPage) return ids;
    after = page.sessions.pageInfo.endCursor;
    expect(after).toBeTruthy();
  }
}

async function sessionOf(key: string, id: string) {
  return ok(await app.gql<{ session: { id: string } | null }>(SESSION, { id }, key)).session;
}

beforeAll(async () => {
  app = await startTestApp({}, { clock: { get now() { return clock(); } } });
  orgA = await app.org('acme');
  orgB = await app.org('globex');
  k.adminA = await app.key(orgA, 'ADMIN', 'root');
  k.auditorA = await app.key(orgA, 'AUDITOR', 'auditor');
  k.alice = await app.key(orgA, 'STANDARD', 'alice', { groups: ['dba', 'oncall'], email: 'alice@acme.test' });
  k.bob = await app.key(orgA, 'STANDARD', 'bob');
  k.carol = await app.key(orgA, 'STANDARD', 'carol', { groups: ['sre'] });
  k.recorderA = await app.key(orgA, 'RECORDER', 'gateway-a');
  k.adminB = await app.key(orgB, 'ADMIN', 'root');
  k.recorderB = await app.key(orgB, 'RECORDER', 'gateway-b');
  k.aliceB = await app.key(orgB, 'STANDARD', 'alice', { groups: ['dba'] });

  const base = { verb: 'EXEC', type: 'database', connectionSubtype: 'postgres', roleName: 'pg-prod' };
  s.alice = await open(k.recorderA, { ...base, userId: 'alice', script: 'SELECT 1', metadata: { owner: 'alice' } });
  s.bobReviewed = await open(k.recorderA, {
    ...base,
    userId: 'bob',
    script: 'DELETE FROM accounts',
    metadata: { ticket: 'T-1' },
    review: {
      type: 'ONETIME',
      status: 'PENDING',
      groups: [
        { group: 'dba', status: 'PENDING' },
        { group: 'security', status: 'APPROVED' },
      ],
    },
  });
  s.carol = await open(k.recorderA, { ...base, userId: 'carol' });
  s.other = await open(k.recorderA, {
    ...base,
    userId: 'dave',
    review: { type: 'JIT', status: 'APPROVED', groups: [{ group: 'finance', status: 'APPROVED' }] },
  });
  s.noUser = await open(k.recorderA, { ...base, identityType: 'MACHINE' });
  s.byAdmin = await open(k.adminA, { verb: 'CONNECT', type: 'application', roleName: 'ssh-bastion', userId: 'root' });
  s.orgB = await open(k.recorderB, {
    ...base,
    userId: 'alice',
    review: { type: 'ONETIME', status: 'PENDING', groups: [{ group: 'dba', status: 'PENDING' }] },
  });
  // Some events in Alice's and Bob's sessions, so that stream reads have something to show.
  ok(await app.gql(APPEND, { id: s.alice, seq: 0, events: [ev(0.1, 'o', 'hello')] }, k.recorderA));
  ok(await app.gql(APPEND, { id: s.bobReviewed, seq: 0, events: [ev(0.1, 'i', 'DELETE FROM accounts')] }, k.recorderA));
});

afterAll(async () => {
  await app?.close();
});

const orgASessions = () => [s.alice, s.bobReviewed, s.carol, s.other, s.noUser, s.byAdmin];

describe('unauthenticated calls', () => {
  const operations = (id: string): [string, string, Record<string, unknown>][] => [
    ['session', SESSION, { id }],
    ['sessions', SESSIONS, {}],
    ['openSession', OPEN, { input: { verb: 'EXEC', type: 'database', roleName: 'r' } }],
    ['appendSessionEvents', APPEND, { id, seq: 1, events: [ev(0, 'o', 'x')] }],
    ['closeSession', CLOSE, { id }],
  ];

  async function expectUnauthenticated(headers: Record<string, string>) {
    for (const [field, query, variables] of operations(s.alice)) {
      const res = await fetch(`${app.url}/graphql`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...headers },
        body: JSON.stringify({ query, variables }),
      });
      const body = (await res.json()) as { data?: Record<string, unknown> | null; errors?: { extensions?: { code?: string } }[] };
      expect(body.errors?.[0]?.extensions?.code, `${field} with ${JSON.stringify(headers)}`).toBe('UNAUTHENTICATED');
      expect(body.data?.[field] ?? null).toBeNull();
    }
  }

  it('rejects a request without an Authorization header', async () => {
    await expectUnauthenticated({});
  });

  it('rejects garbage and malformed keys', async () => {
    await expectUnauthenticated({ authorization: 'Bearer garbage' });
    await expectUnauthenticated({ authorization: `Bearer reel_${'A'.repeat(43)}` });
    await expectUnauthenticated({ authorization: 'Bearer ' });
    await expectUnauthenticated({ authorization: `Basic ${Buffer.from('root:secret').toString('base64')}` });
    await expectUnauthenticated({ authorization: `Bearer ${k.adminA}x` });
    await expectUnauthenticated({ authorization: `Bearer ${k.adminA.slice(0, -1)}` });
    await expectUnauthenticated({ authorization: `Bearer ${'x'.repeat(10_000)}` });
  });

  it('rejects a revoked key once the key cache has expired (and accepted it before)', async () => {
    expect(app.config.keyCacheSeconds).toBe(5);
    const { id, key } = await createApiKey({ orgId: orgA, role: 'ADMIN', subject: 'temp-admin' });
    frozenAt = clock(); // however long the requests take
    try {
      expect(await listIds(key)).toHaveLength(orgASessions().length);
      await revokeApiKey(id);
      // Decided: a key checked in the last REEL_KEY_CACHE_SECONDS is trusted without a lookup.
      frozenAt += app.config.keyCacheSeconds * 1000 - 1;
      expect(await listIds(key)).toHaveLength(orgASessions().length);
      frozenAt += 1;
      await expectUnauthenticated({ authorization: `Bearer ${key}` });
    } finally {
      skew = frozenAt - Date.now();
      frozenAt = undefined;
    }
  });

  it('rejects a key revoked before its first use at once', async () => {
    const { id, key } = await createApiKey({ orgId: orgA, role: 'ADMIN', subject: 'temp-admin-2' });
    await revokeApiKey(id);
    await expectUnauthenticated({ authorization: `Bearer ${key}` });
  });

  it('rejects a revoked recorder key on ingest and stores nothing', async () => {
    const { id, key } = await createApiKey({ orgId: orgA, role: 'RECORDER', subject: 'temp-recorder' });
    const sid = await open(key, { verb: 'EXEC', type: 'database', roleName: 'r' });
    await revokeApiKey(id);
    pastKeyCache();
    expect(codeOf(await app.gql(APPEND, { id: sid, seq: 0, events: [ev(0, 'o', 'x')] }, key))).toBe('UNAUTHENTICATED');
    expect(codeOf(await app.gql(CLOSE, { id: sid }, key))).toBe('UNAUTHENTICATED');
    expect(codeOf(await app.gql(OPEN, { input: { verb: 'EXEC', type: 'database', roleName: 'r2' } }, key))).toBe(
      'UNAUTHENTICATED',
    );
    // Nothing was stored: the next sequence is still 0 and the session still open.
    const appended = ok(await app.gql<AppendResult>(APPEND, { id: sid, seq: 0, events: [] }, k.recorderA));
    expect(appended.appendSessionEvents).toEqual({ sequence: 0, eventCount: 0, eventSize: 0 });
    const read = ok(await app.gql<{ session: { status: string } }>(SESSION, { id: sid }, k.adminA));
    expect(read.session.status).toBe('OPEN');
    expect((await listIds(k.adminA, { roleName: 'r2' })).length).toBe(0);
  });

  it('stored nothing for unauthenticated ingest calls', async () => {
    const ids = await listIds(k.adminA);
    expect(ids.filter((id) => !orgASessions().includes(id))).toHaveLength(1); // the temp recorder's session only
    const read = ok(await app.gql<{ session: { status: string } }>(SESSION, { id: s.alice }, k.adminA));
    expect(read.session.status).toBe('OPEN');
  });
});

describe('the API-key cache', () => {
  const made = () => `reel_${randomUUID()}${randomUUID()}`;

  it('with REEL_KEY_CACHE_SECONDS=0 asks the database every time', async () => {
    const { id, key } = await createApiKey({ orgId: orgA, role: 'AUDITOR', subject: 'uncached' });
    const cache = new KeyCache(0, clock);
    expect((await cache.viewer(key))?.subject).toBe('uncached');
    await revokeApiKey(id);
    expect(await cache.viewer(key)).toBeNull();
  });

  it('never remembers an unknown key: one stored later works at once', async () => {
    const cache = new KeyCache(60_000, clock);
    const key = made();
    expect(await cache.viewer(key)).toBeNull();
    await prisma().apiKey.create({
      data: { orgId: orgA, role: 'AUDITOR', subject: 'late', keyHash: hashKey(key), prefix: key.slice(0, 11) },
    });
    expect((await cache.viewer(key))?.subject).toBe('late');
  });

  it('shares one lookup between concurrent checks of a key, and rejects implausible keys without one', async () => {
    const cache = new KeyCache(60_000, clock);
    const first = cache.viewer(k.auditorA);
    expect(cache.viewer(k.auditorA)).toBe(first);
    expect((await first)?.role).toBe('AUDITOR');
    expect(await cache.viewer(`not-reel_${made()}`)).toBeNull();
    expect(await cache.viewer(`reel_${'x'.repeat(300)}`)).toBeNull();
  });
});

describe('roles', () => {
  it('ADMIN sees every session of its org, and only those', async () => {
    const ids = await listIds(k.adminA);
    expect(ids).toEqual(expect.arrayContaining(orgASessions()));
    expect(ids).not.toContain(s.orgB);
    for (const id of orgASessions()) expect((await sessionOf(k.adminA, id))?.id).toBe(id);
    expect(await listIds(k.adminB)).toEqual([s.orgB]);
    expect((await sessionOf(k.adminB, s.orgB))?.id).toBe(s.orgB);
  });

  it('AUDITOR sees every session of its org, and only those', async () => {
    expect(new Set(await listIds(k.auditorA))).toEqual(new Set(await listIds(k.adminA)));
    for (const id of orgASessions()) expect((await sessionOf(k.auditorA, id))?.id).toBe(id);
    expect(await sessionOf(k.auditorA, s.orgB)).toBeNull();
  });

  it('STANDARD sees its own sessions and those it reviews', async () => {
    expect(new Set(await listIds(k.alice))).toEqual(new Set([s.alice, s.bobReviewed]));
    expect(await listIds(k.bob)).toEqual([s.bobReviewed]);
    expect(await listIds(k.carol)).toEqual([s.carol]);
    expect(await listIds(k.aliceB)).toEqual([s.orgB]);

    expect((await sessionOf(k.alice, s.alice))?.id).toBe(s.alice);
    expect((await sessionOf(k.alice, s.bobReviewed))?.id).toBe(s.bobReviewed);
    for (const id of [s.carol, s.other, s.noUser, s.byAdmin, s.orgB]) expect(await sessionOf(k.alice, id)).toBeNull();
    for (const id of [s.alice, s.carol, s.other, s.noUser, s.byAdmin]) expect(await sessionOf(k.bob, id)).toBeNull();
    // Same subject in another org: nothing of org A.
    expect(await sessionOf(k.aliceB, s.alice)).toBeNull();
  });

  it('a reviewer reads the metadata and script of the sessions it reviews', async () => {
    const q = `query($id: ID!) { session(id: $id) { id userId metadata script { data } scriptSize review { groups { group } } } }`;
    const read = ok(await app.gql<{ session: Record<string, unknown> }>(q, { id: s.bobReviewed }, k.alice));
    expect(read.session).toMatchObject({
      id: s.bobReviewed,
      userId: 'bob',
      metadata: { ticket: 'T-1' },
      script: { data: 'DELETE FROM accounts' },
      scriptSize: 20,
      review: { groups: [{ group: 'dba' }, { group: 'security' }] },
    });
  });

  it("a reviewer gets FORBIDDEN on the reviewed session's event stream; its owner reads it", async () => {
    const q = `query($id: ID!) { session(id: $id) { id eventStream } }`;
    const asReviewer = await app.gql<{ session: { id: string; eventStream: unknown } | null }>(q, { id: s.bobReviewed }, k.alice);
    expect(failed(asReviewer).extensions?.code).toBe('FORBIDDEN');
    expect(failed(asReviewer).path).toEqual(['session', 'eventStream']);
    const sized = await app.gql(`query($id: ID!) { session(id: $id) { eventSize(format: RAW) } }`, { id: s.bobReviewed }, k.alice);
    expect(codeOf(sized)).toBe('FORBIDDEN');
    for (const key of [k.bob, k.adminA, k.auditorA]) {
      const read = ok(await app.gql<{ session: { eventStream: unknown } }>(q, { id: s.bobReviewed }, key));
      expect(read.session.eventStream).toEqual([[0.1, 'i', Buffer.from('DELETE FROM accounts').toString('base64')]]);
    }
    const own = ok(await app.gql<{ session: { eventStream: unknown } }>(q, { id: s.alice }, k.alice));
    expect(own.session.eventStream).toEqual([[0.1, 'o', Buffer.from('hello').toString('base64')]]);
  });

  it('RECORDER reads nothing', async () => {
    for (const id of [...orgASessions(), s.orgB]) expect(await sessionOf(k.recorderA, id)).toBeNull();
    for (const filter of [undefined, { userId: 'alice' }, { status: 'OPEN' }]) {
      const page = ok(await app.gql<SessionsResult>(SESSIONS, { first: 10, filter }, k.recorderA));
      expect(page.sessions.edges).toEqual([]);
      expect(page.sessions.pageInfo.hasNextPage).toBe(false);
    }
  });

  it('RECORDER and ADMIN ingest (open, append, close)', async () => {
    for (const key of [k.recorderA, k.adminA]) {
      const id = await open(key, { verb: 'CONNECT', type: 'custom', roleName: 'ingest-check' });
      const appended = ok(await app.gql<AppendResult>(APPEND, { id, seq: 0, events: [ev(0, 'o', 'abc')] }, key));
      expect(appended.appendSessionEvents).toEqual({ sequence: 0, eventCount: 1, eventSize: 3 });
      const closed = ok(await app.gql<{ closeSession: { status: string } }>(CLOSE, { id }, key));
      expect(closed.closeSession.status).toBe('DONE');
    }
  });

  it('AUDITOR and STANDARD cannot ingest (FORBIDDEN), and nothing changes', async () => {
    const before = await listIds(k.adminA);
    for (const key of [k.auditorA, k.alice, k.bob]) {
      expect(codeOf(await app.gql(OPEN, { input: { verb: 'EXEC', type: 'database', roleName: 'nope', userId: 'alice' } }, key))).toBe(
        'FORBIDDEN',
      );
      expect(codeOf(await app.gql(OPEN, { input: { id: s.alice, verb: 'EXEC', type: 'database', roleName: 'nope' } }, key))).toBe(
        'FORBIDDEN',
      );
      expect(codeOf(await app.gql(APPEND, { id: s.alice, seq: 1, events: [ev(1, 'o', 'x')] }, key))).toBe('FORBIDDEN');
      expect(codeOf(await app.gql(CLOSE, { id: s.alice, input: { exitCode: 1 } }, key))).toBe('FORBIDDEN');
    }
    expect(await listIds(k.adminA)).toEqual(before);
    const read = ok(await app.gql<{ session: { status: string } }>(SESSION, { id: s.alice }, k.adminA));
    expect(read.session.status).toBe('OPEN');
    // Sequence 1 is still the next one: the forbidden append stored nothing.
    const appended = ok(await app.gql<AppendResult>(APPEND, { id: s.alice, seq: 1, events: [] }, k.recorderA));
    expect(appended.appendSessionEvents).toEqual({ sequence: 1, eventCount: 1, eventSize: 5 });
  });
});

describe('across organisations', () => {
  it("another org's session is null from session(id:), exactly like a missing id", async () => {
    const missing = randomUUID();
    for (const key of [k.adminB, k.aliceB]) {
      const foreign = await app.gql(SESSION, { id: s.alice }, key);
      const absent = await app.gql(SESSION, { id: missing }, key);
      expect(foreign).toEqual({ status: 200, data: { session: null }, errors: undefined });
      expect(foreign).toEqual(absent);
    }
  });

  it("another org's sessions are invisible in sessions, whatever the filter", async () => {
    for (const filter of [undefined, { userId: 'alice' }, { roleName: 'pg-prod' }, { status: 'OPEN' }]) {
      expect(await listIds(k.adminB, filter)).toEqual([s.orgB]);
      expect(await listIds(k.aliceB, filter)).toEqual([s.orgB]);
    }
    expect(await listIds(k.adminB, { roleName: 'ssh-bastion' })).toEqual([]);
    expect(new Set(await listIds(k.alice, { userId: 'alice' }))).toEqual(new Set([s.alice]));
  });

  it("appending to or closing another org's session is NOT_FOUND, exactly like a random id", async () => {
    const missing = randomUUID();
    for (const key of [k.recorderB, k.adminB]) {
      const events = [ev(0, 'o', 'intruder')];
      for (const seq of [0, 1, 2]) {
        const foreign = await app.gql(APPEND, { id: s.alice, seq, events }, key);
        const absent = await app.gql(APPEND, { id: missing, seq, events }, key);
        expect(codeOf(foreign)).toBe('NOT_FOUND');
        expect(foreign).toEqual(absent);
      }
      const foreignClose = await app.gql(CLOSE, { id: s.alice, input: { exitCode: 9 } }, key);
      const absentClose = await app.gql(CLOSE, { id: missing, input: { exitCode: 9 } }, key);
      expect(codeOf(foreignClose)).toBe('NOT_FOUND');
      expect(foreignClose).toEqual(absentClose);
    }
    // Untouched: still open, still expecting sequence 2 (0 and 1 were stored by its own recorder).
    const read = ok(await app.gql<{ session: { status: string } }>(SESSION, { id: s.alice }, k.adminA));
    expect(read.session.status).toBe('OPEN');
    const appended = ok(await app.gql<AppendResult>(APPEND, { id: s.alice, seq: 2, events: [] }, k.recorderA));
    expect(appended.appendSessionEvents).toEqual({ sequence: 2, eventCount: 1, eventSize: 5 });
  });
});

describe('malformed ids', () => {
  const malformed = ['', 'nope', '123', `${randomUUID()}0`, `{${randomUUID()}}`, "' OR 1=1 --", 'ZZZZZZZZ-ZZZZ-ZZZZ-ZZZZ-ZZZZZZZZZZZZ'];

  it('session(id:) answers null, not an error', async () => {
    for (const id of malformed) {
      for (const key of [k.adminA, k.alice, k.recorderA]) {
        expect(await app.gql(SESSION, { id }, key)).toEqual({ status: 200, data: { session: null }, errors: undefined });
      }
    }
  });

  it('ingest on a malformed id is an input error, never an internal one', async () => {
    for (const id of malformed) {
      expect(['NOT_FOUND', 'BAD_USER_INPUT']).toContain(codeOf(await app.gql(APPEND, { id, seq: 0, events: [] }, k.recorderA)));
      expect(['NOT_FOUND', 'BAD_USER_INPUT']).toContain(codeOf(await app.gql(CLOSE, { id }, k.recorderA)));
    }
  });
});

describe('sessions: pagination and filters', () => {
  let orgP: string;
  let adminP: string;
  let aliceP: string;
  interface Row {
    id: string;
    startDate: string;
    status: string;
    verb: string;
    userId: string | null;
    roleName: string;
    type: string;
    connectionSubtype: string | null;
    correlationId: string | null;
    sessionBatchId: string | null;
  }
  const rows: Row[] = [];
  const base = Date.UTC(2024, 0, 1);
  const at = (hours: number) => new Date(base + hours * 3_600_000).toISOString();
  /** Every session of the org in the server's order. */
  let order: string[] = [];

  beforeAll(async () => {
    orgP = await app.org('paging');
    adminP = await app.key(orgP, 'ADMIN', 'root');
    aliceP = await app.key(orgP, 'STANDARD', 'alice');
    const recorder = await app.key(orgP, 'RECORDER', 'gw');
    const specs: (Omit<Row, 'id' | 'startDate'> & { hours: number; close?: boolean })[] = [];
    for (let i = 0; i < 14; i++) {
      specs.push({
        // Four sessions share one startDate (3.5 h) to check that paging is stable on ties.
        hours: i >= 4 && i < 8 ? 3.5 : i,
        status: i % 3 === 0 ? 'READY' : 'OPEN',
        close: i % 5 === 0,
        verb: i % 2 === 0 ? 'EXEC' : 'CONNECT',
        userId: i % 4 === 3 ? null : ['alice', 'bob', 'carol'][i % 3]!,
        roleName: i < 7 ? 'pg-prod' : 'ssh-bastion',
        type: i % 3 === 1 ? 'application' : 'database',
        connectionSubtype: [null, 'postgres', 'mysql', 'ssh'][i % 4]!,
        correlationId: i % 2 === 0 ? 'run-even' : i === 1 ? 'run-one' : null,
        sessionBatchId: i < 5 ? 'batch-a' : i < 9 ? 'batch-b' : null,
      });
    }
    for (const spec of specs) {
      const { hours, close, ...attrs } = spec;
      const input = Object.fromEntries(Object.entries({ ...attrs, startDate: at(hours) }).filter(([, v]) => v !== null));
      const id = await open(recorder, input);
      if (close) ok(await app.gql(CLOSE, { id, input: { endDate: at(hours + 0.25) } }, recorder));
      rows.push({ ...attrs, id, startDate: at(hours), status: close ? 'DONE' : attrs.status });
    }
    order = await listIds(adminP);
  });

  it('lists newest first by startDate, every session once', async () => {
    expect(order).toHaveLength(rows.length);
    expect(new Set(order)).toEqual(new Set(rows.map((r) => r.id)));
    const dates = order.map((id) => Date.parse(rows.find((r) => r.id === id)!.startDate));
    for (let i = 1; i < dates.length; i++) expect(dates[i]!).toBeLessThanOrEqual(dates[i - 1]!);
  });

  it('pages with first/after in the same, stable order whatever the page size', async () => {
    for (const first of [1, 2, 3, 4, 5, 13, 14, 100]) expect(await listIds(adminP, undefined, first)).toEqual(order);
    // Repeated reads agree.
    expect(await listIds(adminP)).toEqual(order);
  });

  it('reports the page boundaries', async () => {
    const page1 = ok(await app.gql<SessionsResult>(SESSIONS, { first: 5 }, adminP)).sessions;
    expect(page1.edges.map((e) => e.node.id)).toEqual(order.slice(0, 5));
    expect(page1.pageInfo.hasNextPage).toBe(true);
    expect(page1.pageInfo.endCursor).toBe(page1.edges[4]!.cursor);
    // A cursor in the middle of the tied startDates.
    const fromCursor = ok(await app.gql<SessionsResult>(SESSIONS, { first: 3, after: page1.edges[4]!.cursor }, adminP)).sessions;
    expect(fromCursor.edges.map((e) => e.node.id)).toEqual(order.slice(5, 8));
    const last = ok(await app.gql<SessionsResult>(SESSIONS, { first: 100, after: page1.edges[4]!.cursor }, adminP)).sessions;
    expect(last.edges.map((e) => e.node.id)).toEqual(order.slice(5));
    expect(last.pageInfo.hasNextPage).toBe(false);
  });

  const filters: [string, Record<string, unknown>, (r: Row) => boolean][] = [
    ['status READY', { status: 'READY' }, (r) => r.status === 'READY'],
    ['status OPEN', { status: 'OPEN' }, (r) => r.status === 'OPEN'],
    ['status DONE', { status: 'DONE' }, (r) => r.status === 'DONE'],
    ['verb EXEC', { verb: 'EXEC' }, (r) => r.verb === 'EXEC'],
    ['verb CONNECT', { verb: 'CONNECT' }, (r) => r.verb === 'CONNECT'],
    ['userId', { userId: 'bob' }, (r) => r.userId === 'bob'],
    ['roleName', { roleName: 'ssh-bastion' }, (r) => r.roleName === 'ssh-bastion'],
    ['type', { type: 'application' }, (r) => r.type === 'application'],
    ['connectionSubtype', { connectionSubtype: 'mysql' }, (r) => r.connectionSubtype === 'mysql'],
    ['correlationId', { correlationId: 'run-even' }, (r) => r.correlationId === 'run-even'],
    ['correlationId (single)', { correlationId: 'run-one' }, (r) => r.correlationId === 'run-one'],
    ['sessionBatchId', { sessionBatchId: 'batch-b' }, (r) => r.sessionBatchId === 'batch-b'],
    // Documented bounds: startedAfter is inclusive (≥), startedBefore exclusive (<).
    ['startedAfter', { startedAfter: at(3.5) }, (r) => Date.parse(r.startDate) >= Date.parse(at(3.5))],
    ['startedBefore', { startedBefore: at(3.5) }, (r) => Date.parse(r.startDate) < Date.parse(at(3.5))],
    [
      'startedAfter and startedBefore',
      { startedAfter: at(2), startedBefore: at(9) },
      (r) => Date.parse(r.startDate) >= Date.parse(at(2)) && Date.parse(r.startDate) < Date.parse(at(9)),
    ],
    ['combined (AND)', { verb: 'EXEC', roleName: 'pg-prod', status: 'OPEN' }, (r) => r.verb === 'EXEC' && r.roleName === 'pg-prod' && r.status === 'OPEN'],
    ['no match', { userId: 'nobody' }, () => false],
  ];

  it.each(filters)('filters by %s', async (_name, filter, keep) => {
    const expected = order.filter((id) => keep(rows.find((r) => r.id === id)!));
    expect(await listIds(adminP, filter)).toEqual(expected);
    // Paged filtered reads give the same list.
    expect(await listIds(adminP, filter, 2)).toEqual(expected);
  });

  it('every filter kind is exercised with a non-trivial result', () => {
    for (const [name, , keep] of filters.filter(([name]) => name !== 'no match')) {
      const n = rows.filter(keep).length;
      expect(n, name).toBeGreaterThan(0);
      expect(n, name).toBeLessThan(rows.length);
    }
  });

  it('filters apply within what a STANDARD caller may see', async () => {
    const mine = order.filter((id) => rows.find((r) => r.id === id)!.userId === 'alice');
    expect(await listIds(aliceP)).toEqual(mine);
    expect(await listIds(aliceP, { userId: 'bob' })).toEqual([]);
    expect(await listIds(aliceP, { verb: 'EXEC' })).toEqual(
      mine.filter((id) => rows.find((r) => r.id === id)!.verb === 'EXEC'),
    );
  });
});

describe('sessions: cursors', () => {
  let unknownCursor: string;
  let futureCursor: string;

  /** The cursor of a session, as its org's ADMIN reads it. */
  async function cursorOf(id: string): Promise<string> {
    const page = ok(await app.gql<SessionsResult>(SESSIONS, { first: 1 }, k.adminA)).sessions;
    expect(page.edges[0]?.node.id).toBe(id);
    return page.edges[0]!.cursor;
  }

  beforeAll(async () => {
    // A session newer than every other, whose cursor is then made unknown by deleting the session.
    const gone = await open(k.recorderA, { verb: 'EXEC', type: 'database', roleName: 'gone', userId: 'zed', startDate: '2099-01-02T00:00:00.000Z' });
    unknownCursor = await cursorOf(gone);
    await prisma().session.delete({ where: { id: gone } });
    // A session of org A newer than everything in org B, invisible to Alice.
    const future = await open(k.recorderA, { verb: 'EXEC', type: 'database', roleName: 'future', userId: 'dave', startDate: '2099-01-01T00:00:00.000Z' });
    futureCursor = await cursorOf(future);
  });

  it('a cursor naming a session the caller cannot see answers exactly like an unknown cursor', async () => {
    // Otherwise the page after it would reveal that the session exists, and where its startDate lies.
    for (const key of [k.adminB, k.aliceB, k.alice]) {
      const foreign = await app.gql(SESSIONS, { first: 10, after: futureCursor }, key);
      const unknown = await app.gql(SESSIONS, { first: 10, after: unknownCursor }, key);
      expect(foreign).toEqual(unknown);
    }
  });

  it('a malformed cursor is BAD_USER_INPUT, not an internal error', async () => {
    const malformed = ['garbage', 'bm9wZQ==', Buffer.from(`${futureCursor}x`).toString('base64'), `${futureCursor.slice(0, -4)}AAAA`];
    for (const after of malformed) {
      expect(codeOf(await app.gql(SESSIONS, { first: 10, after }, k.adminA)), after).toBe('BAD_USER_INPUT');
    }
  });

  it('a negative page size is BAD_USER_INPUT, not an internal error', async () => {
    expect(codeOf(await app.gql(SESSIONS, { first: -1 }, k.adminA))).toBe('BAD_USER_INPUT');
  });
});
