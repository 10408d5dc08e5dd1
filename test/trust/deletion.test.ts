import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { flushAudit } from '../../src/audit/log.ts';
import { indexPendingSessions } from '../../src/search/indexer.ts';
import { purgeSessions } from '../../src/sessions/deletion.ts';
import { queryRows } from '../../src/sessions/chunk-storage.ts';
import { startTestApp, type TestApp } from '../support/app.ts';
import { reelInProcess } from '../support/cli.ts';
import { codeOf, ok } from '../support/graphql.ts';
import { APPEND, CLOSE, OPEN, b64, ingest } from '../support/ingest.ts';
import { subscribe } from '../support/live.ts';
import { download, link } from '../downloads/helpers.ts';

/*
 * Deletion and retention (spec §15): deleteSession leaves nothing of the session but its audit
 * events, ends its live subscriptions and a download still reading it (with an error, never short
 * and quiet); its links answer 404. Retention purges sessions that ended long enough ago, never
 * open ones, in batches, idempotently, by `reel prune` and by REEL_RETENTION_DAYS.
 */

const DELETE = 'mutation($id: ID!) { deleteSession(sessionId: $id) }';
const SESSION = 'query($id: ID!) { session(id: $id) { id } }';
const AUDIT = 'query($f: AuditFilter) { auditEvents(first: 100, filter: $f) { edges { node { action sessionId details } } } }';

let app: TestApp;
let orgId: string;
let admin: string;
let auditor: string;
let recorder: string;

beforeAll(async () => {
  app = await startTestApp();
  orgId = await app.org('acme');
  admin = await app.key(orgId, 'ADMIN', 'root');
  auditor = await app.key(orgId, 'AUDITOR', 'auditor');
  recorder = await app.key(orgId, 'RECORDER', 'gateway');
});
afterAll(async () => {
  await app?.close();
});

/** Rows anywhere that belong to the session. */
async function leftovers(id: string): Promise<Record<string, number>> {
  const count = async (table: string, column = 'session_id') =>
    Number((await queryRows<{ n: string }>(`SELECT count(*)::text AS n FROM ${table} WHERE ${column} = $1::uuid`, [id]))[0]!.n);
  return {
    sessions: await count('sessions', 'id'),
    chunks: await count('session_event_chunks'),
    search: await count('session_search_blocks'),
    progress: await count('session_search_progress'),
    reviews: await count('reviews'),
  };
}

type AuditNode = { action: string; sessionId: string | null; details: Record<string, unknown> };
const trail = async (filter: Record<string, unknown>) =>
  ok(await app.gql<{ auditEvents: { edges: { node: AuditNode }[] } }>(AUDIT, { f: filter }, admin)).auditEvents.edges.map((e) => e.node);

describe('deleteSession', () => {
  it('removes the session, its events, searchable text and review; keeps its audit events; its links answer 404', async () => {
    const review = { type: 'ONETIME', status: 'APPROVED', groups: [{ group: 'sre', status: 'APPROVED' }] };
    const id = await ingest(app, recorder, { events: [[0, 'o', 'secret output\n']], review });
    const { downloadUrl } = await link(app, admin, id, { extension: 'txt' });
    await indexPendingSessions();
    expect(await leftovers(id)).toMatchObject({ sessions: 1, search: expect.any(Number), reviews: 1 });
    expect((await leftovers(id)).search).toBeGreaterThan(0);
    expect(codeOf(await app.gql(DELETE, { id }, auditor))).toBe('FORBIDDEN'); // ADMIN only, and nothing changed
    expect((await leftovers(id)).chunks).toBeGreaterThan(0);
    expect(ok(await app.gql<{ deleteSession: string }>(DELETE, { id }, admin)).deleteSession).toBe(id);
    expect(await leftovers(id)).toEqual({ sessions: 0, chunks: 0, search: 0, progress: 0, reviews: 0 });
    expect(ok(await app.gql<{ session: unknown }>(SESSION, { id }, admin)).session).toBeNull();
    expect((await download(app, downloadUrl)).status).toBe(404);
    await flushAudit();
    const events = await trail({ sessionId: id });
    // (The 404 of its link is not a LINK_REFUSED: refusals of sessions that do not exist are only logged.)
    expect(events.map((e) => e.action)).toEqual(['SESSION_DELETED', 'LINK_ISSUED', 'SESSION_CLOSED', 'SESSION_OPENED']);
    expect(events[0]!.details).toMatchObject({ roleName: 'pg-prod', eventCount: 1 });
    expect(codeOf(await app.gql(DELETE, { id }, admin))).toBe('NOT_FOUND'); // once
  });

  it('is NOT_FOUND for another organisation’s session and for a malformed id, and deletes nothing', async () => {
    const other = await app.org('other');
    const otherAdmin = await app.key(other, 'ADMIN', 'root');
    const id = await ingest(app, recorder, { events: [[0, 'o', 'x']] });
    expect(codeOf(await app.gql(DELETE, { id }, otherAdmin))).toBe('NOT_FOUND');
    expect(codeOf(await app.gql(DELETE, { id: 'nope' }, admin))).toBe('NOT_FOUND');
    expect(codeOf(await app.gql(DELETE, { id }))).toBe('UNAUTHENTICATED');
    expect((await leftovers(id)).sessions).toBe(1);
  });

  it('ends a live subscription to the session', async () => {
    const { openSession } = ok(await app.gql<{ openSession: { id: string } }>(OPEN, { input: { verb: 'CONNECT', type: 'database', roleName: 'live' } }, recorder));
    const id = openSession.id;
    ok(await app.gql(APPEND, { id, seq: 0, events: [{ time: 0, type: 'OUTPUT', data: b64('hello') }] }, recorder));
    const sub = subscribe(app.url, admin, { id }, 'sse');
    await sub.until((r) => r.some((x) => (x.data?.sessionEvents.events.length ?? 0) > 0));
    ok(await app.gql(DELETE, { id }, admin));
    const ended = await Promise.race([sub.ended, new Promise((resolve) => setTimeout(() => resolve('still open'), 15_000))]);
    sub.close();
    const last = sub.results.at(-1);
    expect(ended === 'still open' ? 'still open' : (last?.errors?.[0]?.extensions?.code ?? JSON.stringify(ended))).toBe('NOT_FOUND');
  });

  it('cuts a download that is still reading the session with an error, never a short file', async () => {
    const { openSession } = ok(await app.gql<{ openSession: { id: string } }>(OPEN, { input: { verb: 'EXEC', type: 'custom', roleName: 'big' } }, recorder));
    const id = openSession.id;
    const part = Buffer.alloc(4 * 1024 * 1024, 'a');
    for (let seq = 0; seq < 6; seq++) {
      ok(await app.gql(APPEND, { id, seq, events: [{ time: seq, type: 'OUTPUT', data: part.toString('base64') }] }, recorder));
    }
    ok(await app.gql(CLOSE, { id }, recorder));
    const { downloadUrl } = await link(app, admin, id, { extension: 'raw' });
    const res = await download(app, downloadUrl);
    expect(res.status).toBe(200);
    const reader = res.body!.getReader();
    let received = (await reader.read()).value?.length ?? 0; // the download has begun
    ok(await app.gql(DELETE, { id }, admin));
    const outcome = await (async () => {
      try {
        for (;;) {
          const { done, value } = await reader.read();
          if (done) return 'ended';
          received += value.length;
        }
      } catch {
        return 'failed';
      }
    })();
    expect({ outcome, short: received < 24 * 1024 * 1024 }).toEqual({ outcome: 'failed', short: true });
  });
});

describe('retention', () => {
  const ended = (daysAgo: number) => new Date(Date.now() - daysAgo * 86_400_000).toISOString();
  async function session(daysAgo: number | null): Promise<string> {
    const start = daysAgo === null ? new Date().toISOString() : ended(daysAgo + 1);
    const { openSession } = ok(
      await app.gql<{ openSession: { id: string } }>(OPEN, { input: { verb: 'EXEC', type: 'custom', roleName: 'old', startDate: start } }, recorder),
    );
    ok(await app.gql(APPEND, { id: openSession.id, seq: 0, events: [{ time: 0, type: 'OUTPUT', data: b64('x') }] }, recorder));
    if (daysAgo !== null) ok(await app.gql(CLOSE, { id: openSession.id, input: { endDate: ended(daysAgo) } }, recorder));
    return openSession.id;
  }

  it('purges sessions that ended long enough ago, never open ones, in batches, once', async () => {
    const old = [await session(40), await session(35), await session(31)];
    const recent = await session(3);
    const open = await session(null);
    await queryRows("UPDATE sessions SET start_date = now() - interval '90 days' WHERE id = $1::uuid", [open]); // old, but open
    expect(await purgeSessions({ orgId, olderThanDays: 30, dryRun: true, actor: 'cli' })).toBe(3);
    expect((await leftovers(old[0]!)).sessions).toBe(1);
    expect(await purgeSessions({ orgId, olderThanDays: 30, actor: 'cli', batch: 2 })).toBe(3);
    for (const id of old) expect(await leftovers(id)).toEqual({ sessions: 0, chunks: 0, search: 0, progress: 0, reviews: 0 });
    expect((await leftovers(recent)).sessions).toBe(1);
    expect((await leftovers(open)).sessions).toBe(1);
    expect(await purgeSessions({ orgId, olderThanDays: 30, actor: 'cli' })).toBe(0); // idempotent
    const purged = await trail({ action: 'SESSIONS_PURGED' });
    expect(purged.map((e) => e.details.count)).toEqual([1, 2]); // two batches, newest first
    expect(purged.flatMap((e) => e.details.sessionIds as string[]).sort()).toEqual([...old].sort());
    expect(purged[0]!.details).toMatchObject({ olderThanDays: 30, via: 'cli' });
  });

  it('by `reel prune`, whose last line says how many', async () => {
    const old = await session(20);
    await app.stop();
    const env = { REEL_DATA_DIR: app.database.dataDir, DATABASE_URL: app.database.databaseUrl };
    const dry = await reelInProcess(['prune', '--org', 'acme', '--older-than', '10', '--dry-run'], env);
    expect([dry.code, dry.last]).toEqual([0, '1 sessions would be purged']);
    const real = await reelInProcess(['prune', '--org', 'acme', '--older-than', '10'], env);
    expect([real.code, real.last]).toEqual([0, '1 sessions purged']);
    const bad = await reelInProcess(['prune', '--org', 'acme', '--older-than', 'soon'], env);
    expect(bad.code).toBe(1);
    // REEL_RETENTION_DAYS: a server purges at start.
    app = await startTestApp({ REEL_RETENTION_DAYS: '2' }, { database: app.database });
    expect((await leftovers(old)).sessions).toBe(0);
    const deadline = Date.now() + 20_000;
    while (Date.now() < deadline && (await trail({ action: 'SESSIONS_PURGED' }))[0]?.details.via !== 'REEL_RETENTION_DAYS') {
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    const [auto] = await trail({ action: 'SESSIONS_PURGED' });
    expect(auto?.details).toMatchObject({ via: 'REEL_RETENTION_DAYS', olderThanDays: 2, count: 1 }); // the 3-day-old one
  });
});
