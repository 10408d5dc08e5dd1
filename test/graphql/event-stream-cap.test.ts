import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from '../support/app.ts';
import { failed, ok } from '../support/graphql.ts';
import { b64, chunked, ev, ingest, type EventIn, type Kind } from '../support/ingest.ts';
import { readStream, rendered, type Format } from './helpers.ts';

/*
 * §4.4 inline size cap, with REEL_MAX_INLINE_STREAM_BYTES=1000: a rendering larger than the cap fails
 * with EVENT_STREAM_TOO_LARGE pointing to downloadLink; renderings under it, and sizes, still work.
 * One app per file: the database handle is process-wide.
 */

const CAP = 1000;
let app: TestApp;
let recorder: string;
let owner: string;
let auditor: string;

beforeAll(async () => {
  app = await startTestApp({ REEL_MAX_INLINE_STREAM_BYTES: String(CAP) });
  const orgId = await app.org('capped');
  recorder = await app.key(orgId, 'RECORDER', 'rec');
  owner = await app.key(orgId, 'STANDARD', 'alice');
  auditor = await app.key(orgId, 'AUDITOR', 'audit');
});

afterAll(async () => {
  await app?.close();
});

const store = (calls: readonly (readonly EventIn[])[], verb: 'EXEC' | 'CONNECT' = 'EXEC', subtype = 'postgres') =>
  ingest(app, recorder, { verb, connectionSubtype: subtype, userId: 'alice' }, calls);

async function expectTooLarge(key: string, id: string, format: Format, events?: Kind[] | null) {
  const res = await readStream(app, key, id, format, events);
  const errors = res.errors ?? [];
  // eventStream fails; its eventSize sibling is no inline rendering and still answers.
  expect(errors, JSON.stringify(errors)).toHaveLength(1);
  const err = errors[0]!;
  expect(err.extensions?.code, format).toBe('EVENT_STREAM_TOO_LARGE');
  expect(err.message).toMatch(/downloadLink/);
  expect(err.path).toEqual(['session', 'eventStream']);
  expect(res.data?.session?.eventStream ?? null).toBeNull();
  return res.data?.session?.eventSize;
}

describe(`inline cap of ${CAP} bytes`, () => {
  it('the config took the variable', () => {
    expect(app.config.maxInlineStreamBytes).toBe(CAP);
  });

  describe('one large output event with a small input', () => {
    let id: string;
    const big = 'x'.repeat(1200);
    beforeAll(async () => {
      id = await store([[ev(0.1, 'i', 'SELECT 1;')], [ev(0.2, 'o', big)]]);
    });

    it('RAW, UTF8 and BASE64 fail with EVENT_STREAM_TOO_LARGE, the sizes still answer', async () => {
      expect(await expectTooLarge(owner, id, 'RAW')).toBe(1209);
      expect(await expectTooLarge(owner, id, 'UTF8')).toBe(1200);
      expect(await expectTooLarge(owner, id, 'BASE64')).toBe(1600);
      expect(await expectTooLarge(auditor, id, 'RAW', ['o'])).toBe(1200);
    });

    it('the error message is the same without a sibling eventSize', async () => {
      const res = await app.gql(`query($id: ID!) { session(id: $id) { id eventStream(format: UTF8) } }`, { id }, owner);
      const err = failed(res);
      expect(err.extensions?.code).toBe('EVENT_STREAM_TOO_LARGE');
      expect(err.message).toContain('downloadLink');
      expect(err.message).not.toContain('xxxx');
    });

    it('a rendering of the same session under the cap still works', async () => {
      expect(await rendered(app, owner, id, 'RAW', ['i'])).toEqual([[[0.1, 'i', b64('SELECT 1;')]], 9]);
      expect(await rendered(app, owner, id, 'UTF8', ['i'])).toEqual([['SELECT 1;'], 9]);
      expect(await rendered(app, owner, id, 'BASE64', ['i'])).toEqual([[b64('SELECT 1;')], 12]);
      expect(await rendered(app, owner, id, 'RAW_QUERIES')).toEqual([[[0.1, 'i', b64('SELECT 1;')]], 9]);
      expect(await rendered(app, owner, id, 'UTF8', [])).toEqual([[''], 0]);
    });

    it('the download link mutation the message points to exists', async () => {
      const res = await app.gql<{ __type: { fields: { name: string }[] } | null }>(`{ __type(name: "Mutation") { fields { name } } }`);
      expect(res.data?.__type?.fields.map((f) => f.name)).toContain('downloadLink');
    });
  });

  it('many small events crossing the cap together fail; the first of them alone does not', async () => {
    const events = Array.from({ length: 300 }, (_, k) => ev(k, k % 2 ? 'o' : 'e', `line ${k}\n`));
    const id = await store(chunked(events, [7, 50]));
    for (const format of ['RAW', 'UTF8', 'BASE64'] as const) await expectTooLarge(owner, id, format);
    const few = await store([events.slice(0, 5)]);
    const [utf8] = await rendered(app, owner, few, 'UTF8');
    expect(utf8).toEqual(['line 0\nline 1\nline 2\nline 3\nline 4\n']);
  });

  it('RAW_QUERIES is capped too: one long query, and many short ones over the wire', async () => {
    const long = await store([[ev(0.5, 'i', `SELECT '${'y'.repeat(1100)}';`)]]);
    expect(await expectTooLarge(owner, long, 'RAW_QUERIES')).toBe(1110);
    const frame = (sql: string) => {
      const body = Buffer.concat([Buffer.from(sql), Buffer.from([0])]);
      const head = Buffer.alloc(5);
      head.write('Q', 0, 'latin1');
      head.writeInt32BE(body.length + 4, 1);
      return Buffer.concat([head, body]);
    };
    const wire = Array.from({ length: 60 }, (_, k) => ev(k / 10, 'i', frame(`select ${k} as n;`)));
    const connect = await store(chunked(wire, [10]), 'CONNECT');
    await expectTooLarge(owner, connect, 'RAW_QUERIES');
    const [stream, size] = await rendered(app, owner, await store([wire.slice(0, 3)], 'CONNECT'), 'RAW_QUERIES');
    expect(stream).toEqual([0, 1, 2].map((k) => [k / 10, 'i', b64(`select ${k} as n;`)]));
    expect(size).toBe(3 * 'select 0 as n;'.length);
  });

  it('an output under the cap in bytes whose JSON escapes cross it is still too large', async () => {
    // 400 NUL bytes: 400 bytes stored, `\u0000` × 400 = 2400 bytes of rendered JSON text.
    const id = await store([[ev(0, 'o', Buffer.alloc(400))]]);
    expect(await expectTooLarge(owner, id, 'UTF8')).toBe(400);
  });

  /*
   * The exact boundary: the implementation measures the value's compact JSON text (src/render/inline.ts),
   * so exactly CAP bytes pass and CAP + 1 fail.
   */
  it('exactly at the cap passes, one byte over fails (UTF8: `["…"]`)', async () => {
    const at = await store([[ev(0, 'o', 'a'.repeat(CAP - 4))]]);
    expect(await rendered(app, owner, at, 'UTF8')).toEqual([['a'.repeat(CAP - 4)], CAP - 4]);
    const over = await store([[ev(0, 'o', 'a'.repeat(CAP - 4 - 1))], [ev(1, 'o', 'b')], [ev(2, 'o', 'c')]]);
    await expectTooLarge(owner, over, 'UTF8');
  });

  it('exactly at the cap passes, one group over fails (BASE64 and RAW)', async () => {
    // BASE64: `["<b64>"]` = 4 + 4·⌈n/3⌉ → n = 747 gives 1000.
    const b = await store([[ev(0, 'o', Buffer.alloc(747, 1))]]);
    expect((await rendered(app, owner, b, 'BASE64'))[1]).toBe(996);
    await expectTooLarge(owner, await store([[ev(0, 'o', Buffer.alloc(748, 1))]]), 'BASE64');
    // RAW: `[[0,"o","<b64>"]]` = 12 + 4·⌈n/3⌉ → n = 741 gives 1000.
    const r = await store([[ev(0, 'o', Buffer.alloc(741, 1))]]);
    expect((await rendered(app, owner, r, 'RAW'))[1]).toBe(741);
    await expectTooLarge(owner, await store([[ev(0, 'o', Buffer.alloc(742, 1))]]), 'RAW');
  });

  it('a session far beyond the cap answers quickly with the error (no full rendering first)', async () => {
    const chunk = 'z'.repeat(64 * 1024);
    const calls = Array.from({ length: 16 }, (_, k) => [ev(k, 'o', chunk)]);
    const id = await store(calls);
    const started = Date.now();
    expect(await expectTooLarge(owner, id, 'BASE64')).toBe(Math.ceil((16 * chunk.length) / 3) * 4);
    expect(Date.now() - started).toBeLessThan(10_000);
    const res = ok(await app.gql<{ session: { eventSize: number } }>(`query($id: ID!) { session(id: $id) { eventSize } }`, { id }, owner));
    expect(res.session.eventSize).toBe(16 * chunk.length);
  });
});
