import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TestApp } from '../support/app.ts';
import { ok } from '../support/graphql.ts';
import { ev, ingest } from '../support/ingest.ts';
import { body, download, link, startDownloadApp } from '../downloads/helpers.ts';

/*
 * /metrics (spec §16) through HTTP, as Prometheus scrapes it: requests by route template and
 * status, GraphQL operations, download bytes by format, ingest events and bytes, live
 * subscriptions, process metrics; REEL_METRICS_TOKEN when set. Counters are read before and after
 * what they count (they add up over the test file's process).
 */

const TOKEN = 'metrics-token-0123456789';
let app: TestApp;
let admin: string;

beforeAll(async () => {
  app = await startDownloadApp({ REEL_METRICS_TOKEN: TOKEN });
  admin = await app.key(await app.org('acme'), 'ADMIN', 'root');
});

afterAll(async () => {
  await app?.close();
});

async function scrape(): Promise<string> {
  const res = await fetch(`${app.url}/metrics`, { headers: { Authorization: `Bearer ${TOKEN}` } });
  expect(res.status).toBe(200);
  expect(res.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
  return res.text();
}

/** The value of one sample (name and labels as Prometheus writes them), 0 when absent. */
function sample(text: string, name: string, labels: Record<string, string> = {}): number {
  const want = Object.entries(labels).map(([k, v]) => `${k}="${v}"`);
  for (const line of text.split('\n')) {
    const m = /^([a-zA-Z_:][\w:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!m || m[1] !== name) continue;
    const got = m[2]?.split(/,(?=[a-zA-Z_]+=")/) ?? [];
    if (want.every((w) => got.includes(w))) return Number(m[3]);
  }
  return 0;
}

describe('/metrics', () => {
  it('asks for REEL_METRICS_TOKEN when it is set', async () => {
    for (const header of [undefined, 'Bearer wrong', `Bearer ${TOKEN}x`, TOKEN]) {
      const res = await fetch(`${app.url}/metrics`, { headers: header ? { Authorization: header } : {} });
      expect(res.status, String(header)).toBe(401);
      expect(await res.json()).toEqual({ message: 'unauthorized', status: 401 });
    }
    expect((await fetch(`${app.url}/metrics`, { method: 'POST', headers: { Authorization: `Bearer ${TOKEN}` } })).status).toBe(405);
  });

  it('counts downloads by route template and format, and ingest by event type', async () => {
    const before = await scrape();
    const id = await ingest(app, admin, { connectionSubtype: null, events: [[1, 'i', 'ls\r'], [2, 'o', 'hello\n'], [3, 'e', 'oops\n']] });
    const l = await link(app, admin, id, { extension: 'csv' });
    const csv = await body(await download(app, l.downloadUrl));
    await fetch(`${app.url}/api/sessions/${id}/download?token=nope`);
    await fetch(`${app.url}/no/such/${id}`);
    const after = await scrape();

    const delta = (name: string, labels: Record<string, string>) => sample(after, name, labels) - sample(before, name, labels);
    expect(delta('reel_ingest_events_total', { type: 'i' })).toBe(1);
    expect(delta('reel_ingest_events_total', { type: 'o' })).toBe(1);
    expect(delta('reel_ingest_bytes_total', { type: 'o' })).toBe(6);
    expect(delta('reel_ingest_bytes_total', { type: 'e' })).toBe(5);
    expect(delta('reel_download_bytes_total', { format: 'csv' })).toBe(csv.length);
    const route = (path: string, status: string) => ({ route: path, method: 'GET', status });
    expect(delta('reel_http_request_duration_seconds_count', route('/api/sessions/:id/download', '200'))).toBe(1);
    expect(delta('reel_http_request_duration_seconds_count', route('/api/sessions/:id/download', '401'))).toBe(1);
    expect(delta('reel_http_request_duration_seconds_count', route('other', '404'))).toBe(1);
    expect(sample(after, 'reel_http_request_duration_seconds_count', { route: '/graphql', method: 'POST', status: '200' })).toBeGreaterThan(0);
    // No label value holds an id, a token or a path: their number does not grow with sessions.
    expect(after).not.toContain(id);
    expect(after).not.toMatch(/[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/);
  });

  it('counts GraphQL operations by type and name, with their errors; and shows the process', async () => {
    const id = await ingest(app, admin, { connectionSubtype: null, events: [[1, 'o', 'a']] });
    const before = await scrape();
    ok(await app.gql('query Listing { sessions(first: 1) { edges { node { id } } } }', {}, admin));
    const broken = await app.gql('query Broken($id: ID!) { session(id: $id) { eventStream(format: RAW, from: -1) } }', { id }, admin);
    expect(broken.errors).toHaveLength(1);
    const after = await scrape();
    const delta = (name: string, labels: Record<string, string>) => sample(after, name, labels) - sample(before, name, labels);
    expect(delta('graphql_envelop_request', { operationName: 'Listing', operationType: 'query' })).toBe(1);
    expect(delta('graphql_envelop_request', { operationName: 'Broken', operationType: 'query' })).toBe(1);
    expect(delta('graphql_envelop_error_result', { operationName: 'Broken' })).toBe(1);
    expect(sample(after, 'process_cpu_user_seconds_total')).toBeGreaterThan(0);
    expect(after).toContain('# TYPE reel_live_subscriptions gauge');
    // Nothing is waiting to be indexed once the server is idle.
    await expect.poll(async () => sample(await scrape(), 'reel_search_indexing_queue'), { timeout: 10_000 }).toBe(0);
    expect(after).toContain('# TYPE reel_search_indexing_queue gauge');
    // The pool exists on PostgreSQL only.
    if (app.config.databaseUrl) expect(sample(after, 'reel_db_pool_connections', { state: 'total' })).toBeGreaterThan(0);
    else expect(after).not.toMatch(/^reel_db_pool_connections\{/m);
  });

  it('counts live subscriptions while they are open', async () => {
    const id = await ingest(app, admin, { open: true, connectionSubtype: null, events: [[1, 'o', 'a']] }, [[ev(1, 'o', 'a')]]);
    const controller = new AbortController();
    const res = await fetch(`${app.url}/graphql`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', Accept: 'text/event-stream', Authorization: `Bearer ${admin}` },
      body: JSON.stringify({ query: `subscription { sessionEvents(sessionId: "${id}") { next } }` }),
      signal: controller.signal,
    });
    const reader = res.body!.getReader();
    await reader.read(); // the first batch: the subscription is open
    await expect.poll(async () => sample(await scrape(), 'reel_live_subscriptions'), { timeout: 10_000 }).toBe(1);
    controller.abort();
    await expect.poll(async () => sample(await scrape(), 'reel_live_subscriptions'), { timeout: 10_000 }).toBe(0);
  });
});
