import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { prisma } from '../../src/db/client.ts';
import type { TestApp } from '../support/app.ts';
import { codeOf, ok } from '../support/graphql.ts';
import { b64, chunked, ev, type EventIn, ingest, KIND_TO_TYPE, type Kind, TYPE_TO_KIND } from '../support/ingest.ts';
import { body, download, link, pathOf, fetchPath, requestLink, startDownloadApp } from '../downloads/helpers.ts';
import { cstr, typed } from '../pgwire/frames.ts';

/*
 * Time windows (spec §14) through the public API: `from`/`to` on eventStream, eventSize and
 * downloadLink, against a plain filter of the events ingested; and the proof that a window does not
 * read what it skips (the chunks before it are made unreadable, and the window is still served).
 */

let app: TestApp;
let admin: string;

beforeAll(async () => {
  app = await startDownloadApp();
  const orgId = await app.org('acme');
  admin = await app.key(orgId, 'ADMIN', 'root');
});

afterAll(async () => {
  await app?.close();
});

const WINDOWED = /* GraphQL */ `
  query Windowed($id: ID!, $format: EventStreamFormat, $events: [EventType!], $from: Float, $to: Float) {
    session(id: $id) {
      eventStream(format: $format, events: $events, from: $from, to: $to)
      eventSize(format: $format, events: $events, from: $from, to: $to)
    }
  }`;

interface Window {
  from?: number;
  to?: number;
}

async function windowed(id: string, format: string, window: Window, events?: Kind[]) {
  const vars = { id, format, ...window, ...(events && { events: events.map((k) => KIND_TO_TYPE[k]) }) };
  const data = ok(await app.gql<{ session: { eventStream: unknown[]; eventSize: number } }>(WINDOWED, vars, admin));
  return data.session;
}

/** The codes of a response's errors (the query asks for two fields, each fails on its own). */
const codes = (res: { errors?: { extensions?: { code?: unknown } }[] }) => (res.errors ?? []).map((e) => e.extensions?.code);

const inWindow = (w: Window) => (e: EventIn) => (w.from === undefined || e.time >= w.from) && (w.to === undefined || e.time < w.to);
const payload = (e: EventIn) => Buffer.from(e.data, 'base64');

/** What RAW and UTF8 must give for a window: the selected events in it, as if they were the whole stream. */
function expected(events: readonly EventIn[], w: Window) {
  const kept = events.filter(inWindow(w));
  const output = kept.filter((e) => e.type !== 'INPUT');
  const text = new TextDecoder('utf-8', { ignoreBOM: true }).decode(Buffer.concat(output.map(payload)));
  return {
    raw: kept.map((e) => [e.time, TYPE_TO_KIND[e.type], e.data]),
    rawSize: kept.reduce((n, e) => n + payload(e).length, 0),
    utf8: [text],
    utf8Size: [...text].length,
  };
}

describe('windows of eventStream and eventSize', () => {
  it('equal a filter of the events, for random sessions, splits and windows (times in order or not)', async () => {
    const event = fc.record({
      dt: fc.double({ min: 0, max: 3, noNaN: true }),
      back: fc.boolean(),
      kind: fc.constantFrom<Kind>('i', 'o', 'e'),
      data: fc.oneof(fc.string({ maxLength: 6 }), fc.uint8Array({ maxLength: 6 })),
    });
    await fc.assert(
      fc.asyncProperty(
        fc.array(event, { minLength: 0, maxLength: 40 }),
        fc.boolean(),
        fc.array(fc.integer({ min: 1, max: 6 }), { minLength: 1, maxLength: 4 }),
        fc.array(fc.tuple(fc.option(fc.double({ min: 0, max: 80, noNaN: true }), { nil: undefined }), fc.option(fc.double({ min: 0, max: 80, noNaN: true }), { nil: undefined })), {
          minLength: 1,
          maxLength: 4,
        }),
        async (specs, ordered, sizes, windows) => {
          let t = 0;
          const events = specs.map((s) => {
            // Unordered sessions step back now and then, as a broken recorder would.
            t = ordered || !s.back ? t + s.dt : Math.max(0, t - 2 * s.dt);
            return ev(t, s.kind, s.data);
          });
          const id = await ingest(app, admin, { connectionSubtype: null, type: 'custom' }, chunked(events, sizes));
          for (const [a, b] of windows) {
            const w: Window = a !== undefined && b !== undefined && a > b ? { from: b, to: a } : { from: a, to: b };
            const want = expected(events, w);
            const raw = await windowed(id, 'RAW', w);
            expect(raw).toEqual({ eventStream: want.raw, eventSize: want.rawSize });
            const utf8 = await windowed(id, 'UTF8', w);
            expect(utf8).toEqual({ eventStream: want.utf8, eventSize: want.utf8Size });
          }
        },
      ),
      { seed: 1402, numRuns: 25 },
    );
  });

  it('from == to is an empty selection; bad windows are BAD_USER_INPUT', async () => {
    const id = await ingest(app, admin, { events: [[1, 'o', 'a'], [2, 'o', 'b']] });
    expect(await windowed(id, 'RAW', { from: 1, to: 1 })).toEqual({ eventStream: [], eventSize: 0 });
    expect(await windowed(id, 'UTF8', { from: 2, to: 2 })).toEqual({ eventStream: [''], eventSize: 0 });
    expect(await windowed(id, 'BASE64', { from: 1.5 })).toEqual({ eventStream: [b64('b')], eventSize: 4 });
    for (const w of [{ from: -1 }, { to: -0.5 }, { from: 2, to: 1 }]) {
      const res = await app.gql(WINDOWED, { id, format: 'RAW', ...w }, admin);
      expect(codes(res), JSON.stringify(w)).toEqual(['BAD_USER_INPUT', 'BAD_USER_INPUT']);
      expect(codeOf(await requestLink(app, admin, id, w))).toBe('BAD_USER_INPUT');
    }
    // A window only describes the event stream, not the script.
    expect(codeOf(await requestLink(app, admin, id, { target: 'SCRIPT', from: 1 }))).toBe('BAD_USER_INPUT');
  });

  it('RAW_QUERIES of a CONNECT session parses from the start and keeps the queries sent in the window', async () => {
    // A query whose message starts at 1 and ends at 2, then one at 3.
    const first = typed('Q', cstr('select 1'));
    const second = typed('Q', cstr('select 2'));
    const id = await ingest(app, admin, {
      verb: 'CONNECT',
      events: [
        [1, 'i', first.subarray(0, 4)],
        [2, 'i', first.subarray(4)],
        [3, 'i', second],
      ],
    });
    const sql = (stream: unknown[]) => (stream as [number, string, string][]).map(([t, , d]) => [t, Buffer.from(d, 'base64').toString()]);
    expect(sql((await windowed(id, 'RAW_QUERIES', { from: 0.5, to: 1.5 })).eventStream)).toEqual([[1, 'select 1']]);
    expect(sql((await windowed(id, 'RAW_QUERIES', { from: 1.5 })).eventStream)).toEqual([[3, 'select 2']]);
    expect(await windowed(id, 'RAW_QUERIES', { from: 1.5, to: 3 })).toEqual({ eventStream: [], eventSize: 0 });
    expect((await windowed(id, 'RAW_QUERIES', { to: 10 })).eventSize).toBe(16);
  });
});

describe('a window does not read the chunks before it', () => {
  it('serves the window when every earlier chunk is unreadable, while the whole stream fails', async () => {
    const calls = Array.from({ length: 20 }, (_, k) => [ev(k, 'o', `line ${k}\n`), ev(k + 0.5, 'o', `half ${k}\n`)]);
    const id = await ingest(app, admin, { connectionSubtype: null }, calls);
    // Chunks 0–14 become garbage that no decoder accepts.
    await prisma().$executeRawUnsafe(
      `UPDATE session_event_chunks SET data = '\\xffffffff'::bytea WHERE session_id = $1::uuid AND sequence < 15`,
      id,
    );
    expect(codes(await app.gql(WINDOWED, { id, format: 'UTF8' }, admin))).toContain('INTERNAL_SERVER_ERROR');
    const tail = await windowed(id, 'UTF8', { from: 17.5 });
    expect(tail.eventStream).toEqual(['half 17\nline 18\nhalf 18\nline 19\nhalf 19\n']);
    // And with both bounds (times in order: the reading stops at the window's end).
    expect((await windowed(id, 'RAW', { from: 16, to: 17 })).eventStream).toEqual([
      [16, 'o', b64('line 16\n')],
      [16.5, 'o', b64('half 16\n')],
    ]);
    const l = await link(app, admin, id, { extension: 'txt', from: 19 });
    expect((await body(await download(app, l.downloadUrl))).toString()).toBe('line 19\nhalf 19\n');
  });
});

describe('a window starts at the part of a big append that holds it', () => {
  it('the parts of one append call before the window are not read either', async () => {
    // One call of 3 MiB, stored in parts of at most 1 MiB: 24 events of 128 KiB, a second apart.
    const events = Array.from({ length: 24 }, (_, k) => ev(k, 'o', `${String(k).padStart(2, '0')}`.padEnd(128 * 1024, '.')));
    const id = await ingest(app, admin, { connectionSubtype: null }, [events]);
    const parts = await prisma().$queryRawUnsafe<{ part: number }[]>('SELECT part FROM session_event_chunks WHERE session_id = $1::uuid', id);
    expect(parts.length).toBeGreaterThanOrEqual(3);
    await prisma().$executeRawUnsafe(`UPDATE session_event_chunks SET data = '\\xffffffff'::bytea WHERE session_id = $1::uuid AND part < $2`, id, parts.length - 1);
    const tail = await windowed(id, 'RAW', { from: 23 });
    expect(tail.eventStream).toEqual([[23, 'o', events[23]!.data]]);
  });
});

describe('download links bind their window', () => {
  let id: string;
  beforeAll(async () => {
    id = await ingest(app, admin, { events: [[0.25, 'o', 'a'], [1.5, 'o', 'b'], [2, 'e', 'c'], [3, 'i', 'd']] });
  });

  it('serves the window in every format, and puts from/to in the URL', async () => {
    const l = await link(app, admin, id, { extension: 'json', from: 1.5, to: 3 });
    expect(l.downloadUrl).toMatch(/&from=1\.5&to=3$/);
    const json = JSON.parse((await body(await download(app, l.downloadUrl))).toString());
    expect(json.map((r: { stream: string }) => r.stream)).toEqual(['b', 'c']);
    const raw = await link(app, admin, id, { extension: 'txt', events: ['INPUT', 'OUTPUT', 'ERROR'], to: 2 });
    expect(raw.downloadUrl).toMatch(/&to=2$/);
    expect((await body(await download(app, raw.downloadUrl))).toString()).toBe('ab');
    // A bound written with an exponent survives the URL (its `+` is encoded).
    const far = await link(app, admin, id, { extension: 'txt', from: 1e21 });
    expect(far.downloadUrl).toMatch(/&from=1e%2B21$/);
    const farRes = await download(app, far.downloadUrl);
    expect({ status: farRes.status, body: (await body(farRes)).length }).toEqual({ status: 200, body: 0 });
    const none = await link(app, admin, id, { extension: 'txt', from: 1, to: 1 });
    const res = await download(app, none.downloadUrl);
    expect({ status: res.status, body: (await body(res)).length }).toEqual({ status: 200, body: 0 });
  });

  it('refuses a link whose window was changed, added, removed or spelled otherwise (401)', async () => {
    const l = pathOf(app, (await link(app, admin, id, { extension: 'txt', from: 1.5 })).downloadUrl);
    const plain = pathOf(app, (await link(app, admin, id, { extension: 'txt' })).downloadUrl);
    for (const tampered of [
      l.replace('from=1.5', 'from=1'),
      l.replace('from=1.5', 'from=1.50'),
      l.replace('&from=1.5', ''),
      l.replace('from=1.5', 'to=1.5'),
      `${l}&from=1.5`,
      `${plain}&from=0`,
      `${plain}&to=9`,
      l.replace('from=1.5', 'from=-1.5'),
    ]) {
      const res = await fetchPath(app, tampered);
      expect(res.status, tampered).toBe(401);
    }
    expect((await fetchPath(app, l)).status).toBe(200);
  });
});
