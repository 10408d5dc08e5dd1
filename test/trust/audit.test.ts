import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { revokeApiKey } from '../../src/auth/keys.ts';
import { clientIp } from '../../src/client-ip.ts';
import { queryRows } from '../../src/sessions/chunk-storage.ts';
import { startTestApp, type TestApp } from '../support/app.ts';
import { reelInProcess } from '../support/cli.ts';
import { codeOf, ok } from '../support/graphql.ts';
import { CLOSE, OPEN } from '../support/ingest.ts';

/*
 * The audit trail (spec §15) through the public API: writes record their event in the same
 * transaction (and a refused write records nothing), ADMIN and AUDITOR keys read their org's events
 * newest first with filters, nothing changes or removes an event, and `reel audit` prints them.
 */

const EVENTS = /* GraphQL */ `
  query($first: Int, $after: String, $filter: AuditFilter) {
    auditEvents(first: $first, after: $after, filter: $filter) {
      edges { cursor node { id time action sessionId actorKeyId actorSubject actorRole clientIp details } }
      pageInfo { hasNextPage endCursor }
    }
  }`;

interface AuditNode {
  id: string;
  time: string;
  action: string;
  sessionId: string | null;
  actorKeyId: string | null;
  actorSubject: string | null;
  actorRole: string | null;
  clientIp: string | null;
  details: Record<string, unknown> | null;
}
interface EventsResult {
  auditEvents: { edges: { cursor: string; node: AuditNode }[]; pageInfo: { hasNextPage: boolean; endCursor: string | null } };
}

let app: TestApp;
let orgId: string;
let admin: string;
let auditor: string;
let standard: string;
let recorder: string;
let otherAdmin: string;

async function events(key: string, filter: Record<string, unknown> = {}, first = 100): Promise<AuditNode[]> {
  return ok(await app.gql<EventsResult>(EVENTS, { filter, first }, key)).auditEvents.edges.map((e) => e.node);
}

beforeAll(async () => {
  app = await startTestApp();
  orgId = await app.org('acme');
  admin = await app.key(orgId, 'ADMIN', 'root');
  auditor = await app.key(orgId, 'AUDITOR', 'auditor');
  standard = await app.key(orgId, 'STANDARD', 'alice');
  recorder = await app.key(orgId, 'RECORDER', 'gateway');
  otherAdmin = await app.key(await app.org('other'), 'ADMIN', 'root');
});
afterAll(async () => {
  await app?.close();
});

/** Opens a session through a (pretended) proxy that forwarded the request of 203.0.113.7. */
const openForwarded = (target: TestApp, key: string) =>
  fetch(`${target.url}/graphql`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', Authorization: `Bearer ${key}`, 'X-Forwarded-For': '203.0.113.7' },
    body: JSON.stringify({ query: OPEN, variables: { input: { verb: 'EXEC', type: 'database', roleName: 'xff' } } }),
  });

describe('writes', () => {
  it('records key creation from the command line, with the operator as the actor', async () => {
    const created = await events(admin, { action: 'KEY_CREATED' });
    expect(created.map((e) => e.details?.subject)).toEqual(['gateway', 'alice', 'auditor', 'root']); // newest first
    expect(created[0]).toMatchObject({ actorKeyId: null, actorSubject: 'reel-cli', actorRole: null, sessionId: null, details: { role: 'RECORDER', via: 'cli' } });
    // Another org's keys are not in this org's trail, and the other org sees only its own.
    expect(await events(otherAdmin, { action: 'KEY_CREATED' })).toHaveLength(1);
  });

  it('records an opened and a closed session once each, with the key, its role and the client address', async () => {
    const id = '5b3c1a52-9a7e-4c1f-8a3e-2f4b6d8e0a11';
    const input = { id, verb: 'EXEC', type: 'database', roleName: 'pg-prod', startDate: '2024-07-25T15:56:35.317Z', userId: 'alice' };
    // A retried open and a retried close are not new events.
    for (let i = 0; i < 2; i++) ok(await app.gql(OPEN, { input }, recorder));
    for (let i = 0; i < 2; i++) ok(await app.gql(CLOSE, { id }, recorder));
    const trail = await events(auditor, { sessionId: id });
    expect(trail.map((e) => e.action)).toEqual(['SESSION_CLOSED', 'SESSION_OPENED']);
    for (const e of trail) {
      expect(e).toMatchObject({ sessionId: id, actorSubject: 'gateway', actorRole: 'RECORDER', clientIp: '127.0.0.1' });
      expect(e.actorKeyId).toMatch(/^[0-9a-f-]{36}$/);
    }
    expect(trail[1]!.details).toMatchObject({ roleName: 'pg-prod', verb: 'EXEC' });
    expect(trail[0]!.details).toMatchObject({ status: 'DONE' });
  });

  it('records nothing for a refused write', async () => {
    const before = await events(admin);
    const opened = await app.gql(OPEN, { input: { verb: 'EXEC', type: 'database', roleName: '', startDate: '2024-07-25T15:56:35.317Z' } }, recorder);
    expect(codeOf(opened)).toBe('BAD_USER_INPUT');
    expect(codeOf(await app.gql(OPEN, { input: { verb: 'EXEC', type: 'database', roleName: 'x' } }, standard))).toBe('FORBIDDEN');
    expect(await events(admin)).toEqual(before);
  });

  it('takes the peer address, not X-Forwarded-For, by default', async () => {
    expect((await openForwarded(app, recorder)).status).toBe(200);
    const [opened] = await events(admin, { action: 'SESSION_OPENED' });
    expect(opened!.clientIp).toBe('127.0.0.1');
  });

  it('records a revocation', async () => {
    const { id } = (await revokeApiKey(standard))!;
    const [revoked] = await events(admin, { action: 'KEY_REVOKED' });
    expect(revoked).toMatchObject({ actorSubject: 'reel-cli', details: { keyId: id, role: 'STANDARD', subject: 'alice' } });
  });
});

describe('reading the trail', () => {
  it('pages newest first, and filters by action, session, actor and time', async () => {
    const all = await events(admin);
    expect(all.length).toBeGreaterThanOrEqual(7);
    expect(all.map((e) => e.time)).toEqual([...all.map((e) => e.time)].sort().reverse());
    const first = ok(await app.gql<EventsResult>(EVENTS, { first: 3 }, admin)).auditEvents;
    const second = ok(await app.gql<EventsResult>(EVENTS, { first: 3, after: first.pageInfo.endCursor }, admin)).auditEvents;
    expect([...first.edges, ...second.edges].map((e) => e.node.id)).toEqual(all.slice(0, 6).map((e) => e.id));
    expect((await events(admin, { actorSubject: 'gateway' })).every((e) => e.actorSubject === 'gateway')).toBe(true);
    const middle = all[3]!.time;
    const after = await events(admin, { after: middle });
    const before = await events(admin, { before: middle });
    expect(after.every((e) => e.time > middle) && before.every((e) => e.time < middle)).toBe(true);
    expect(await events(admin, { after: '2999-01-01T00:00:00Z' })).toEqual([]);
  });

  it('is for ADMIN and AUDITOR keys: others get FORBIDDEN, no key UNAUTHENTICATED, bad filters BAD_USER_INPUT', async () => {
    const reader = await app.key(orgId, 'STANDARD', 'bob');
    expect(codeOf(await app.gql(EVENTS, {}, reader))).toBe('FORBIDDEN');
    expect(codeOf(await app.gql(EVENTS, {}, recorder))).toBe('FORBIDDEN');
    expect(codeOf(await app.gql(EVENTS, {}))).toBe('UNAUTHENTICATED');
    expect(codeOf(await app.gql(EVENTS, { filter: { sessionId: 'nope' } }, admin))).toBe('BAD_USER_INPUT');
    expect(codeOf(await app.gql(EVENTS, { filter: { action: 'NOPE' } }, admin))).toBe('BAD_USER_INPUT');
    expect(codeOf(await app.gql(EVENTS, { filter: { after: '2024-01-02T00:00:00Z', before: '2024-01-01T00:00:00Z' } }, admin))).toBe('BAD_USER_INPUT');
    expect(codeOf(await app.gql(EVENTS, { first: 101 }, admin))).toBe('BAD_USER_INPUT');
  });

  it('cannot be changed or emptied, even through SQL', async () => {
    await expect(queryRows("UPDATE audit_events SET actor_subject = 'someone else'")).rejects.toThrow(/append-only/);
    await expect(queryRows('DELETE FROM audit_events')).rejects.toThrow(/append-only/);
    await expect(queryRows('TRUNCATE audit_events')).rejects.toThrow(/append-only/);
    expect((await events(admin)).some((e) => e.actorSubject === 'someone else')).toBe(false);
  });
});

describe('reel audit', () => {
  it('prints the trail newest first, filtered, as lines or JSON', async () => {
    const [latest] = await events(admin, { action: 'SESSION_CLOSED' });
    await app.stop(); // the command line opens the database itself
    const env = { REEL_DATA_DIR: app.database.dataDir, DATABASE_URL: app.database.databaseUrl };
    const lines = await reelInProcess(['audit', '--org', 'acme', '--session', latest!.sessionId!], env);
    expect(lines.code).toBe(0);
    const rows = lines.stdout.trim().split('\n').map((l) => l.split('\t'));
    expect(rows.map((r) => r[1])).toEqual(['SESSION_CLOSED', 'SESSION_OPENED']);
    expect(rows[0]!.slice(2, 6)).toEqual([latest!.sessionId, 'gateway', 'RECORDER', '127.0.0.1']);
    const json = await reelInProcess(['audit', '--org', 'acme', '--action', 'KEY_REVOKED', '--json'], env);
    expect(json.stdout.trim().split('\n').map((l) => JSON.parse(l) as { action: string })).toEqual([
      expect.objectContaining({ action: 'KEY_REVOKED', actorSubject: 'reel-cli' }),
    ]);
    const bad = await reelInProcess(['audit', '--org', 'acme', '--action', 'NOPE'], env);
    expect(bad.code).toBe(1);
  });
});

describe('client addresses', () => {
  const req = (peer: string, forwarded?: string) => ({ socket: { remoteAddress: peer }, headers: forwarded === undefined ? {} : { 'x-forwarded-for': forwarded } }) as never;

  it('are the peer unless proxies are trusted; then the entry that many hops from the right', () => {
    expect(clientIp(req('::ffff:10.0.0.5', '203.0.113.9'), 0)).toBe('10.0.0.5');
    expect(clientIp(req('10.0.0.5', '198.51.100.1, 203.0.113.9'), 1)).toBe('203.0.113.9');
    expect(clientIp(req('10.0.0.5', '198.51.100.1, 203.0.113.9'), 2)).toBe('198.51.100.1');
    expect(clientIp(req('10.0.0.5', '203.0.113.9'), 3)).toBe('203.0.113.9'); // fewer entries than hops: the leftmost
    expect(clientIp(req('10.0.0.5'), 1)).toBe('10.0.0.5');
  });

  it('come from X-Forwarded-For over HTTP only when REEL_TRUSTED_PROXY_HOPS says so', async () => {
    // (After `reel audit`: a test app per process at a time.)
    const proxied = await startTestApp({ REEL_TRUSTED_PROXY_HOPS: '1' });
    try {
      const org = await proxied.org('p');
      const [key, reader] = [await proxied.key(org, 'RECORDER', 'gw'), await proxied.key(org, 'ADMIN', 'a')];
      expect((await openForwarded(proxied, key)).status).toBe(200);
      const trail = ok(await proxied.gql<EventsResult>(EVENTS, { filter: { action: 'SESSION_OPENED' } }, reader)).auditEvents.edges;
      expect(trail[0]!.node.clientIp).toBe('203.0.113.7');
    } finally {
      await proxied.close();
    }
  });
});
