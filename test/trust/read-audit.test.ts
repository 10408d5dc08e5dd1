import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { flushAudit, recordAudit } from '../../src/audit/log.ts';
import { indexPendingSessions } from '../../src/search/indexer.ts';
import { queryRows } from '../../src/sessions/chunk-storage.ts';
import { registry } from '../../src/metrics.ts';
import { startTestApp, type TestApp } from '../support/app.ts';
import { ok } from '../support/graphql.ts';
import { ingest } from '../support/ingest.ts';
import { subscribe } from '../support/live.ts';
import { download, link } from '../downloads/helpers.ts';

/*
 * The audit of reads and links (spec §15): STREAM_READ once per session per request, LINK_ISSUED,
 * LINK_USED with the bytes actually sent and whether the client stayed, LINK_REFUSED with the
 * status (in the org of the session the URL names). They are written in batches; a batch that
 * cannot be written is logged, counted and written later, never dropped.
 */

const AUDIT = `query($f: AuditFilter) { auditEvents(first: 100, filter: $f) {
  edges { node { action sessionId actorSubject actorRole clientIp details } } } }`;
type Node = { action: string; sessionId: string | null; actorSubject: string | null; actorRole: string | null; clientIp: string | null; details: Record<string, unknown> };

let app: TestApp;
let admin: string;
let auditor: string;
let sessionId: string;
const OUTPUT = 'needle in the output\n'.repeat(2000);

async function trail(filter: Record<string, unknown>): Promise<Node[]> {
  await flushAudit();
  return ok(await app.gql<{ auditEvents: { edges: { node: Node }[] } }>(AUDIT, { f: filter }, admin)).auditEvents.edges.map((e) => e.node);
}

beforeAll(async () => {
  app = await startTestApp();
  const org = await app.org('acme');
  admin = await app.key(org, 'ADMIN', 'root');
  auditor = await app.key(org, 'AUDITOR', 'auditor');
  sessionId = await ingest(app, await app.key(org, 'RECORDER', 'gw'), { events: [[0, 'o', OUTPUT]] });
  await indexPendingSessions();
});
afterAll(async () => {
  await app?.close();
});

describe('STREAM_READ', () => {
  it('is recorded once per session per request, for renderings, sizes of the stream, searches and subscriptions', async () => {
    const before = (await trail({ action: 'STREAM_READ', sessionId })).length;
    const two = `query($id: ID!) { session(id: $id) { a: eventStream(format: UTF8) b: eventStream(format: BASE64) eventSize(format: UTF8) } }`;
    ok(await app.gql(two, { id: sessionId }, auditor));
    const reads = await trail({ action: 'STREAM_READ', sessionId });
    expect(reads.length - before).toBe(1);
    expect(reads[0]).toMatchObject({ actorSubject: 'auditor', actorRole: 'AUDITOR', clientIp: '127.0.0.1', details: { how: 'eventStream' } });
    // A plain eventSize is an attribute, not a read of the stream.
    ok(await app.gql('query($id: ID!) { session(id: $id) { eventSize } }', { id: sessionId }, auditor));
    expect((await trail({ action: 'STREAM_READ', sessionId })).length - before).toBe(1);
    ok(await app.gql('{ sessions(filter: { text: "needle" }) { edges { node { id } } } }', {}, auditor));
    expect((await trail({ action: 'STREAM_READ', sessionId }))[0]!.details).toEqual({ how: 'search' });
    const sub = subscribe(app.url, auditor, { id: sessionId }, 'sse');
    await sub.ended;
    expect((await trail({ action: 'STREAM_READ', sessionId }))[0]!.details).toEqual({ how: 'sessionEvents' });
    expect((await trail({ action: 'STREAM_READ', sessionId })).length - before).toBe(3);
  });
});

describe('links', () => {
  it('records LINK_ISSUED, and LINK_USED with the bytes sent and the issuer as actor', async () => {
    const { downloadUrl } = await link(app, auditor, sessionId, { extension: 'txt', from: 0, to: 10 });
    const [issued] = await trail({ action: 'LINK_ISSUED', sessionId });
    expect(issued).toMatchObject({ actorSubject: 'auditor', details: { target: 'EVENT_STREAM', extension: 'txt', events: 'o,e', from: 0, to: 10 } });
    const res = await download(app, downloadUrl);
    const bytes = Buffer.from(await res.arrayBuffer()).length;
    expect(bytes).toBe(OUTPUT.length);
    const [used] = await trail({ action: 'LINK_USED', sessionId });
    expect(used).toMatchObject({ actorSubject: 'auditor', actorRole: 'AUDITOR', clientIp: '127.0.0.1', details: { part: 'raw', bytes, complete: true, status: 200 } });
  });

  it('says when the client went away before the end', async () => {
    const big = await ingest(app, await app.key((await queryRows<{ id: string }>('SELECT id::text AS id FROM orgs'))[0]!.id, 'RECORDER', 'gw2'), {
      events: Array.from({ length: 16 }, (_, i) => [i, 'o', 'x'.repeat(1024 * 1024)] as const),
      perCall: 4,
    });
    const { downloadUrl } = await link(app, admin, big, { extension: 'raw' });
    const controller = new AbortController();
    const res = await download(app, downloadUrl, { signal: controller.signal });
    const reader = res.body!.getReader();
    await reader.read();
    controller.abort();
    await reader.cancel().catch(() => {});
    let used: Node | undefined;
    for (let i = 0; i < 50 && !used; i++) {
      [used] = await trail({ action: 'LINK_USED', sessionId: big });
      if (!used) await new Promise((resolve) => setTimeout(resolve, 100));
    }
    expect(used!.details).toMatchObject({ part: 'raw', complete: false });
    expect(used!.details.bytes as number).toBeLessThan(16 * 1024 * 1024);
  });

  it('records LINK_REFUSED with the status in the session’s org, with the client address only; not for unknown sessions', async () => {
    const { downloadUrl } = await link(app, admin, sessionId, { extension: 'csv' });
    const tampered = downloadUrl.replace('extension=csv', 'extension=json');
    expect((await download(app, tampered)).status).toBe(401);
    const [refused] = await trail({ action: 'LINK_REFUSED', sessionId });
    expect(refused).toMatchObject({ actorSubject: null, actorRole: null, clientIp: '127.0.0.1', details: { status: 401, reason: 'invalid', part: 'download', suppressed: 0 } });
    // A flood against one session from one address is one event a minute, not one per request.
    for (let i = 0; i < 5; i++) expect((await download(app, tampered)).status).toBe(401);
    expect(await trail({ action: 'LINK_REFUSED', sessionId })).toHaveLength(1);
    const unknown = downloadUrl.replace(sessionId, '00000000-0000-4000-8000-000000000000');
    const before = (await trail({ action: 'LINK_REFUSED' })).length;
    expect((await download(app, unknown)).status).toBe(401);
    expect((await trail({ action: 'LINK_REFUSED' })).length).toBe(before);
  });

  it('records the view page and its parts as LINK_USED', async () => {
    const { viewLink } = ok(await app.gql<{ viewLink: { downloadUrl: string } }>('mutation($id: ID!) { viewLink(sessionId: $id) { downloadUrl } }', { id: sessionId }, admin));
    const page = await download(app, viewLink.downloadUrl);
    const html = await page.text();
    const [used] = await trail({ action: 'LINK_USED', sessionId });
    expect(used!.details).toMatchObject({ part: 'view-html', bytes: Buffer.byteLength(html), complete: true });
  });
});

describe('writing in batches', () => {
  async function failures(): Promise<number> {
    const metric = (await registry.getSingleMetric('reel_audit_write_failures_total')?.get())?.values[0]?.value;
    return metric ?? 0;
  }

  it('keeps a batch that cannot be written, counts it, and writes it once the database takes it', async () => {
    await flushAudit();
    const before = await failures();
    await queryRows('ALTER TABLE audit_events RENAME TO audit_events_away');
    const orgs = await queryRows<{ id: string }>('SELECT id::text AS id FROM orgs');
    recordAudit({ orgId: orgs[0]!.id, action: 'STREAM_READ', actor: 'cli', sessionId, details: { how: 'outage-test' } });
    await flushAudit();
    expect(await failures()).toBe(before + 1);
    await queryRows('ALTER TABLE audit_events_away RENAME TO audit_events');
    await flushAudit();
    const reads = await trail({ action: 'STREAM_READ', sessionId });
    expect(reads.filter((e) => e.details.how === 'outage-test')).toHaveLength(1);
  });
});
