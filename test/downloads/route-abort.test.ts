import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { renderDownload } from '../../src/render/files.ts';
import type { SessionEvent } from '../../src/sessions/event.ts';
import { source } from '../render/helpers.ts';
import type { TestApp } from '../support/app.ts';
import { type EventSpec, ingest } from '../support/ingest.ts';
import { body, download, link, startDownloadApp } from './helpers.ts';

/*
 * Big downloads stream (spec §6), and a client that goes away mid-stream leaves the server healthy:
 * the next download works and GraphQL still answers promptly (on PGlite, the one connection is not
 * left inside a transaction or cursor).
 */

const MiB = 1024 * 1024;
const EVENT_BYTES = MiB;
const EVENTS_PER_CALL = 4;
const CALLS = 5; // 20 MiB of output over 5 append calls

let app: TestApp;
let admin: string;
let bigId: string;
let smallId: string;
let bigSha: string;
let bigEvents: SessionEvent[];

/** One MiB of tab-separated text lines, different per event. */
function payload(n: number): Buffer {
  const parts: string[] = [];
  let size = 0;
  for (let row = 0; size < EVENT_BYTES; row++) {
    const line = `${n}\t${row}\t=cell ${(n * 7919 + row) % 100003}\t"q"\n`;
    parts.push(line);
    size += line.length;
  }
  return Buffer.from(parts.join('')).subarray(0, EVENT_BYTES);
}

beforeAll(async () => {
  app = await startDownloadApp();
  const org = await app.org('acme');
  admin = await app.key(org, 'ADMIN', 'root');
  const events: EventSpec[] = [];
  const hash = createHash('sha256');
  for (let n = 0; n < CALLS * EVENTS_PER_CALL; n++) {
    const data = payload(n);
    hash.update(data);
    events.push([n / 10, 'o', new Uint8Array(data)]);
  }
  bigSha = hash.digest('hex');
  bigEvents = events.map(([time, , data]) => ({ time, type: 'o', data: data as Uint8Array }));
  bigId = await ingest(app, admin, { events, perCall: EVENTS_PER_CALL });
  smallId = await ingest(app, admin, { events: [[0, 'o', 'a\tb\n']] });
}, 240_000);

afterAll(async () => {
  await app?.close();
});

/** Starts a download, reads its first chunk, then aborts the request. */
async function abortAfterFirstChunk(downloadUrl: string): Promise<number> {
  const controller = new AbortController();
  const res = await download(app, downloadUrl, { signal: controller.signal });
  expect(res.status).toBe(200);
  const reader = res.body!.getReader();
  const first = await reader.read();
  expect(first.done).toBe(false);
  controller.abort();
  await reader.cancel().catch(() => undefined);
  return first.value!.length;
}

async function sessionStart(id: string): Promise<string | undefined> {
  const res = await app.gql<{ session: { startDate: string } | null }>('query($id: ID!) { session(id: $id) { startDate } }', { id }, admin);
  return res.data?.session?.startDate;
}

/** The server answers GraphQL promptly and a small download completely. */
async function expectHealthy(): Promise<void> {
  const started = Date.now();
  const res = await app.gql<{ session: { id: string; eventSize: number } | null }>(
    'query($id: ID!) { session(id: $id) { id eventSize } }',
    { id: bigId },
    admin,
    AbortSignal.timeout(10_000),
  );
  expect(res.errors).toBeUndefined();
  expect(res.data?.session).toEqual({ id: bigId, eventSize: CALLS * EVENTS_PER_CALL * EVENT_BYTES });
  expect(Date.now() - started).toBeLessThan(10_000);
  const small = await download(app, (await link(app, admin, smallId, { extension: 'csv' })).downloadUrl, {
    signal: AbortSignal.timeout(10_000),
  });
  expect(small.status).toBe(200);
  expect((await body(small)).toString()).toBe('a,b\r\n');
}

describe('a slow reader', () => {
  it.each(['csv', 'json'])('%s: gets exactly the rendering in memory, whatever the backpressure', async (extension) => {
    const { downloadUrl } = await link(app, admin, bigId, { extension });
    const res = await download(app, downloadUrl);
    expect(res.status).toBe(200);
    // Pauses fill the socket, so the server waits for it to drain while holding chunks it reuses.
    const reader = res.body!.getReader();
    const got = createHash('sha256');
    for (let n = 0; ; n++) {
      const { done, value } = await reader.read();
      if (done) break;
      got.update(value);
      if (n % 16 === 0) await new Promise((r) => setTimeout(r, n === 0 ? 200 : 2));
    }
    // The CSV of this content does not depend on the start date; JSON's times do, so compare from the server's.
    const startDate = new Date((await sessionStart(bigId)) ?? 0);
    const expected = createHash('sha256');
    for await (const c of renderDownload(extension, source([bigEvents]), startDate).body) expected.update(c);
    expect(got.digest('hex')).toBe(expected.digest('hex'));
  }, 120_000);
});

describe('a client aborting mid-stream', () => {
  it.each(['bin', 'csv', 'json'])('%s: the server stays healthy', async (extension) => {
    const { downloadUrl } = await link(app, admin, bigId, { extension, eventTime: true, newline: true });
    const firstChunk = await abortAfterFirstChunk(downloadUrl);
    expect(firstChunk).toBeGreaterThan(0);
    await expectHealthy();
    // The aborted link is not burnt either.
    expect(await abortAfterFirstChunk(downloadUrl)).toBeGreaterThan(0);
    await expectHealthy();
  }, 120_000);

  it('several aborted downloads at once, then a complete 20 MiB download, byte for byte', async () => {
    const { downloadUrl } = await link(app, admin, bigId, { extension: 'bin' });
    await Promise.all([1, 2, 3].map(() => abortAfterFirstChunk(downloadUrl)));
    await expectHealthy();
    const res = await download(app, downloadUrl);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('application/octet-stream');
    const bytes = await body(res);
    expect(bytes.length).toBe(CALLS * EVENTS_PER_CALL * EVENT_BYTES);
    expect(createHash('sha256').update(bytes).digest('hex')).toBe(bigSha);
    await expectHealthy();
  }, 180_000);
});
