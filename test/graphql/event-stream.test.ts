import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from '../support/app.ts';
import { vectors } from '../support/vectors.ts';
import { failed, ok } from '../support/graphql.ts';
import { b64, chunked, concat, ev, fromVector, ingest, type EventIn, type Kind } from '../support/ingest.ts';
import { codePoints, decodedTuples, readStream, rendered, type Format } from './helpers.ts';

/*
 * `eventStream` / `eventSize` end to end (spec §3, §4, §4.1–4.3, §5): every session is ingested through
 * the GraphQL mutations a recorder uses, split over several append calls, and read back over HTTP.
 */

let app: TestApp;
let orgId: string;
let recorder: string;
let owner: string; // STANDARD, subject 'alice': owns the sessions below
let admin: string;
let auditor: string;
let reviewer: string; // STANDARD, subject 'rita', group 'dba'
let stranger: string; // STANDARD, subject 'mallory', no groups
let otherOrgAdmin: string;
let otherOrgOwner: string; // STANDARD, subject 'alice', in another org

const OWNER = 'alice';

beforeAll(async () => {
  app = await startTestApp();
  orgId = await app.org('streams');
  recorder = await app.key(orgId, 'RECORDER', 'recorder-1');
  owner = await app.key(orgId, 'STANDARD', OWNER);
  admin = await app.key(orgId, 'ADMIN', 'root');
  auditor = await app.key(orgId, 'AUDITOR', 'audit');
  reviewer = await app.key(orgId, 'STANDARD', 'rita', { groups: ['dba'] });
  stranger = await app.key(orgId, 'STANDARD', 'mallory');
  const elsewhere = await app.org('elsewhere');
  otherOrgAdmin = await app.key(elsewhere, 'ADMIN', 'root');
  otherOrgOwner = await app.key(elsewhere, 'STANDARD', OWNER, { groups: ['dba'] });
});

afterAll(async () => {
  await app?.close();
});

/** Ingests events owned by OWNER as a Postgres session unless told otherwise. */
const store = (calls: readonly (readonly EventIn[])[], spec: Partial<Parameters<typeof ingest>[2]> = {}) =>
  ingest(app, recorder, { verb: 'EXEC', userId: OWNER, ...spec }, calls);

describe('vectors.json sessions', () => {
  for (const vector of vectors.sessions) {
    describe(vector.name, () => {
      const sessionIds: Record<string, string> = {};
      beforeAll(async () => {
        const events = vector.events.map(fromVector);
        const spec = { verb: vector.verb, startDate: vector.startDate, connectionSubtype: vector.connectionSubtype };
        // The same events, stored three ways: one call, one event per call, and calls of 1, 2, 3… events.
        sessionIds.whole = await store([events], spec);
        sessionIds.single = await store(chunked(events, [1]), spec);
        sessionIds.mixed = await store(chunked(events, [1, 2, 3]), spec);
      });

      for (const r of vector.renderings) {
        const label = `${r.format}${r.events ? ` events=${r.events.join(',')}` : ''}`;
        it(`${label} → eventStream and eventSize as in the vector`, async () => {
          for (const [how, id] of Object.entries(sessionIds)) {
            const [stream, size] = await rendered(app, owner, id, r.format, r.events);
            expect(stream, how).toEqual(r.eventStream);
            expect(size, how).toBe(r.eventSize);
          }
        });
      }

      it('the defaults are RAW with the format defaults, as the vectors say', async () => {
        const raw = vector.renderings.find((r) => r.format === 'RAW' && r.events === null);
        if (!raw) return;
        // No arguments at all: format RAW, every event type; eventSize without arguments is the payload bytes.
        const res = ok(
          await app.gql<{ session: { eventStream: unknown; eventSize: number } }>(
            `query($id: ID!) { session(id: $id) { eventStream eventSize } }`,
            { id: sessionIds.whole },
            owner,
          ),
        );
        expect(res.session.eventStream).toEqual(raw.eventStream);
        expect(res.session.eventSize).toBe(raw.eventSize);
      });

      it('explicit events equal to the format default give the same rendering', async () => {
        for (const r of vector.renderings.filter((x) => x.events === null && x.format !== 'RAW_QUERIES')) {
          const defaults: Kind[] = r.format === 'RAW' ? ['i', 'o', 'e'] : ['o', 'e'];
          const [stream, size] = await rendered(app, owner, sessionIds.whole!, r.format, defaults);
          expect(stream).toEqual(r.eventStream);
          expect(size).toBe(r.eventSize);
        }
      });

      it('literal arguments in the query text render as variables do', async () => {
        for (const r of vector.renderings) {
          const args = `format: ${r.format}${r.events ? `, events: [${r.events.map((k) => ({ i: 'INPUT', o: 'OUTPUT', e: 'ERROR' })[k]).join(', ')}]` : ''}`;
          const res = ok(
            await app.gql<{ session: { eventStream: unknown; eventSize: number } }>(
              `query($id: ID!) { session(id: $id) { eventStream(${args}) eventSize(${args}) } }`,
              { id: sessionIds.whole },
              owner,
            ),
          );
          expect(res.session.eventStream, args).toEqual(r.eventStream);
          expect(res.session.eventSize, args).toBe(r.eventSize);
        }
      });
    });
  }

  it('the §4.1 session gives every selection of RAW, UTF8 and BASE64 consistently', async () => {
    const vector = vectors.sessions.find((v) => v.verb === 'EXEC')!;
    const events = vector.events.map(fromVector);
    const id = await store(chunked(events, [2]), { startDate: vector.startDate });
    const selections: Kind[][] = [['i'], ['o'], ['e'], ['i', 'o'], ['i', 'e'], ['o', 'e'], ['i', 'o', 'e'], ['e', 'i']];
    for (const sel of selections) {
      const picked = vector.events.filter(([, k]) => sel.includes(k));
      const bytes = Buffer.concat(picked.map(([, , d]) => Buffer.from(d, 'base64')));
      const [raw, rawSize] = await rendered(app, owner, id, 'RAW', sel);
      expect(raw, sel.join()).toEqual(picked);
      expect(rawSize).toBe(bytes.length);
      const [utf8, utf8Size] = await rendered(app, owner, id, 'UTF8', sel);
      expect(utf8).toEqual([bytes.toString('utf8')]);
      expect(utf8Size).toBe(codePoints(bytes.toString('utf8')));
      const [base64, base64Size] = await rendered(app, owner, id, 'BASE64', sel);
      expect(base64).toEqual([bytes.toString('base64')]);
      expect(base64Size).toBe(bytes.toString('base64').length);
    }
  });
});

describe('RAW_QUERIES (§4.3, §5)', () => {
  const pg = { verb: 'CONNECT' as const, connectionSubtype: 'postgres' };

  for (const [n, v] of vectors.pgwireVectors.entries()) {
    it(`pgwire vector ${n} as a Postgres CONNECT session → ${JSON.stringify(v.queries)}`, async () => {
      const id = await store([[ev(0.25, 'i', Buffer.from(v.hex, 'hex'))]], pg);
      const [stream, size] = await rendered(app, owner, id, 'RAW_QUERIES');
      expect(stream).toEqual(v.queries.map((q) => [0.25, 'i', b64(q)]));
      expect(size).toBe(v.queries.reduce((s, q) => s + Buffer.byteLength(q), 0));
    });
  }

  it('pgwire vectors one after another in one session, messages split across events and calls', async () => {
    const bytes = Buffer.concat(vectors.pgwireVectors.map((v) => Buffer.from(v.hex, 'hex')));
    const starts: number[] = [];
    let at = 0;
    for (const v of vectors.pgwireVectors) {
      starts.push(at);
      at += v.hex.length / 2;
    }
    // 5-byte events, each in its own call: every message spans several events and calls.
    const events: EventIn[] = [];
    for (let off = 0; off < bytes.length; off += 5) events.push(ev(off / 100, 'i', bytes.subarray(off, off + 5)));
    const id = await store(chunked(events, [1]), pg);
    const [stream, size] = await rendered(app, owner, id, 'RAW_QUERIES');
    const expected = vectors.pgwireVectors.flatMap((v, k) =>
      v.queries.map((q) => [Math.floor(starts[k]! / 5) * 5 / 100, 'i', b64(q)]),
    );
    expect(stream).toEqual(expected);
    expect(size).toBe(vectors.pgwireVectors.flatMap((v) => v.queries).reduce((s, q) => s + Buffer.byteLength(q), 0));
  });

  it('the §5 CONNECT vector re-chunked into 3-byte events: same SQL, time of the event holding the first byte', async () => {
    const vector = vectors.sessions.find((v) => v.verb === 'CONNECT')!;
    const bytes = Buffer.concat(vector.events.map(([, , d]) => Buffer.from(d, 'base64')));
    // Start offset of each original event (each holds exactly one message).
    const offsets: number[] = [];
    let at = 0;
    for (const [, , d] of vector.events) {
      offsets.push(at);
      at += Buffer.from(d, 'base64').length;
    }
    const events: EventIn[] = [];
    for (let off = 0; off < bytes.length; off += 3) events.push(ev(off, 'i', bytes.subarray(off, off + 3)));
    const id = await store(chunked(events, [4, 1, 7]), { ...pg, startDate: vector.startDate });
    const [stream, size] = await rendered(app, owner, id, 'RAW_QUERIES');
    const raw = vector.renderings.find((r) => r.format === 'RAW_QUERIES')!;
    const expected = (raw.eventStream as [number, Kind, string][]).map(([t, k, sql]) => {
      const index = vector.events.findIndex(([time]) => time === t);
      return [Math.floor(offsets[index]! / 3) * 3, k, sql];
    });
    expect(stream).toEqual(expected);
    expect(size).toBe(raw.eventSize);
    expect(JSON.stringify(decodedTuples(stream))).not.toContain('secret');
  });

  it('the password message of a CONNECT session is never part of RAW_QUERIES', async () => {
    const vector = vectors.sessions.find((v) => v.verb === 'CONNECT')!;
    const id = await store(chunked(vector.events.map(fromVector), [2]), { ...pg, startDate: vector.startDate });
    const [stream] = await rendered(app, owner, id, 'RAW_QUERIES');
    const text = decodedTuples(stream).map(([, , sql]) => sql);
    expect(text).toEqual(['select now();', 'SELECT $1::int']);
    expect(text.join('')).not.toContain('secret');
  });

  it('output and error events of a CONNECT session do not disturb the parse', async () => {
    const q = Buffer.from('510000000d73656c656374203100', 'hex'); // Q "select 1"
    const id = await store(
      [
        [ev(0.1, 'i', q.subarray(0, 6)), ev(0.15, 'o', 'garbage \x00\x01 in between')],
        [ev(0.2, 'e', 'Q\x00\x00\x00\x0fnot this'), ev(0.3, 'i', q.subarray(6))],
      ],
      pg,
    );
    const [stream, size] = await rendered(app, owner, id, 'RAW_QUERIES');
    expect(decodedTuples(stream)).toEqual([[0.1, 'i', 'select 1']]);
    expect(size).toBe(8);
  });

  it('EXEC Postgres session: every non-empty input event is one query, in order, with its own time', async () => {
    const id = await store(
      chunked(
        [
          ev(0.1, 'i', 'SELECT 1;'),
          ev(0.2, 'o', 'ignored output'),
          ev(0.3, 'i', ''),
          ev(0.4, 'i', "UPDATE t SET name = 'café ✓' WHERE id = 2;\n"),
          ev(0.5, 'e', 'ERROR: nope'),
          ev(0.6, 'i', Buffer.from([0x51, 0, 0, 0, 4])), // bytes that look like a wire message: still the script, whole
        ],
        [2, 1],
      ),
      { verb: 'EXEC', script: "SELECT 1;UPDATE t SET name = 'café ✓' WHERE id = 2;" },
    );
    const [stream, size] = await rendered(app, owner, id, 'RAW_QUERIES');
    expect(stream).toEqual([
      [0.1, 'i', b64('SELECT 1;')],
      [0.4, 'i', b64("UPDATE t SET name = 'café ✓' WHERE id = 2;\n")],
      [0.6, 'i', b64(Buffer.from([0x51, 0, 0, 0, 4]))],
    ]);
    expect(size).toBe(9 + Buffer.byteLength("UPDATE t SET name = 'café ✓' WHERE id = 2;\n") + 5);
  });

  it('RAW_QUERIES reads input whatever the events argument; size and stream agree', async () => {
    const id = await store([[ev(0.1, 'i', 'select 1'), ev(0.2, 'o', 'out'), ev(0.3, 'i', 'select 22')]], { verb: 'EXEC' });
    const expected = [
      [0.1, 'i', b64('select 1')],
      [0.3, 'i', b64('select 22')],
    ];
    expect(await rendered(app, owner, id, 'RAW_QUERIES', ['i'])).toEqual([expected, 17]);
    expect(await rendered(app, owner, id, 'RAW_QUERIES', ['i', 'o', 'e'])).toEqual([expected, 17]);
    for (const sel of [['o'], ['o', 'e']] as Kind[][]) {
      const [stream, size] = await rendered(app, owner, id, 'RAW_QUERIES', sel);
      expect(size, sel.join()).toBe(decodedTuples(stream).reduce((n, [, , sql]) => n + Buffer.byteLength(String(sql)), 0));
    }
  });

  it('type "postgres" without a subtype is a Postgres session too', async () => {
    const id = await store([[ev(0.3, 'i', 'select 42')]], { verb: 'EXEC', type: 'postgres', connectionSubtype: null });
    const [stream, size] = await rendered(app, owner, id, 'RAW_QUERIES');
    expect(stream).toEqual([[0.3, 'i', b64('select 42')]]);
    expect(size).toBe(9);
  });

  for (const subtype of ['ssh', 'mysql', 'tcp', null]) {
    it(`connectionSubtype ${subtype}: UNSUPPORTED_FORMAT for eventStream and eventSize, other formats fine`, async () => {
      const id = await store([[ev(0.1, 'i', 'select 1'), ev(0.2, 'o', 'x')]], {
        verb: 'CONNECT',
        type: subtype === 'ssh' ? 'custom' : 'database',
        connectionSubtype: subtype,
      });
      for (const field of ['eventStream(format: RAW_QUERIES)', 'eventSize(format: RAW_QUERIES)']) {
        const res = await app.gql(`query($id: ID!) { session(id: $id) { id ${field} } }`, { id }, owner);
        const err = failed(res);
        expect(err.extensions?.code, field).toBe('UNSUPPORTED_FORMAT');
        expect(err.path).toEqual(['session', field.slice(0, field.indexOf('('))]);
      }
      for (const format of ['RAW', 'UTF8', 'BASE64'] as const) await rendered(app, owner, id, format);
    });
  }

  it('a Postgres session with no queries gives [] and 0', async () => {
    const connect = await store([[ev(0.1, 'i', Buffer.from('0000000804d2162f', 'hex')), ev(0.2, 'o', 'N')]], pg);
    const exec = await store([[ev(0.1, 'o', 'only output'), ev(0.2, 'i', '')]], { verb: 'EXEC' });
    const nothing = await store([], pg);
    for (const id of [connect, exec, nothing]) {
      const [stream, size] = await rendered(app, owner, id, 'RAW_QUERIES');
      expect(stream).toEqual([]);
      expect(size).toBe(0);
    }
  });

  it('garbage input never fails the rendering', async () => {
    const noise = Buffer.alloc(300);
    for (let k = 0; k < noise.length; k++) noise[k] = (k * 73 + 11) % 256;
    const calls = [
      [ev(0.1, 'i', noise.subarray(0, 100))],
      [ev(0.2, 'i', Buffer.from('51ffffffff', 'hex')), ev(0.3, 'i', noise.subarray(100))],
      [ev(0.4, 'i', Buffer.from('510000000d73656c656374203100', 'hex'))],
      [ev(0.5, 'i', Buffer.from('5000000020', 'hex'))], // a Parse cut short by the end of the stream
    ];
    const id = await store(calls, pg);
    const res = ok(await readStream(app, owner, id, 'RAW_QUERIES'));
    expect(Array.isArray(res.session?.eventStream)).toBe(true);
  });
});

describe('empty selections and empty sessions (§4)', () => {
  let id: string;
  let empty: string;
  beforeAll(async () => {
    id = await store([[ev(0.1, 'i', 'SELECT 1;'), ev(0.2, 'o', 'one')], [ev(0.3, 'e', 'two')]]);
    empty = await store([]);
  });

  it('events: [] → [] for RAW, [""] for UTF8 and BASE64, size 0', async () => {
    for (const [format, expected] of [
      ['RAW', []],
      ['UTF8', ['']],
      ['BASE64', ['']],
    ] as const) {
      const [stream, size] = await rendered(app, owner, id, format, []);
      expect(stream, format).toEqual(expected);
      expect(size, format).toBe(0);
    }
  });

  it('a session without events → [] / [""] with size 0 for the defaults', async () => {
    for (const [format, expected] of [
      ['RAW', []],
      ['UTF8', ['']],
      ['BASE64', ['']],
      ['RAW_QUERIES', []],
    ] as const) {
      const [stream, size] = await rendered(app, owner, empty, format);
      expect(stream, format).toEqual(expected);
      expect(size, format).toBe(0);
    }
  });

  it('a selection matching no stored event → [] / [""] with size 0', async () => {
    const onlyOutput = await store([[ev(0.1, 'o', 'out')]]);
    for (const [format, expected] of [
      ['RAW', []],
      ['UTF8', ['']],
      ['BASE64', ['']],
    ] as const) {
      const [stream, size] = await rendered(app, owner, onlyOutput, format, ['e']);
      expect(stream, format).toEqual(expected);
      expect(size, format).toBe(0);
    }
  });

  it('zero-length events render as empty payloads in RAW and add nothing to UTF8/BASE64', async () => {
    const withEmpty = await store([[ev(0.1, 'o', ''), ev(0.2, 'o', 'x')], [ev(0.3, 'e', '')]]);
    expect(await rendered(app, owner, withEmpty, 'RAW')).toEqual([
      [
        [0.1, 'o', ''],
        [0.2, 'o', 'eA=='],
        [0.3, 'e', ''],
      ],
      1,
    ]);
    expect(await rendered(app, owner, withEmpty, 'UTF8')).toEqual([['x'], 1]);
    expect(await rendered(app, owner, withEmpty, 'BASE64')).toEqual([['eA=='], 4]);
  });
});

describe('content corners', () => {
  /** UTF8 of the given output bytes, decoded as the WHATWG decoder does (invalid → U+FFFD). */
  const decode = (bytes: Uint8Array) => new TextDecoder('utf-8').decode(bytes);

  it('ANSI escapes pass through UTF8 as JSON text, and BASE64 keeps them byte for byte', async () => {
    const text = '\x1b[1;32mops@web-1\x1b[0m:\x1b[1;34m~\x1b[0m$ ls\r\n\x1b[2J\x1b[H\x07done\r\n';
    const id = await store([[ev(0.1, 'o', text.slice(0, 10))], [ev(0.2, 'o', text.slice(10))]]);
    const [utf8, size] = await rendered(app, owner, id, 'UTF8');
    expect(utf8).toEqual([text]);
    expect(size).toBe(codePoints(text));
    expect(await rendered(app, owner, id, 'BASE64')).toEqual([[b64(text)], b64(text).length]);
  });

  it('NUL and other control bytes survive UTF8 and RAW', async () => {
    const bytes = Buffer.from([0x61, 0x00, 0x62, 0x00, 0x00, 0x01, 0x1f, 0x7f, 0x0a, 0x22, 0x5c]);
    const id = await store([[ev(0, 'o', bytes.subarray(0, 3))], [ev(1, 'e', bytes.subarray(3))]]);
    const [utf8, size] = await rendered(app, owner, id, 'UTF8');
    expect(utf8).toEqual(['a\u0000b\u0000\u0000\u0001\u001f\u007f\n"\\']);
    expect(size).toBe(11);
    expect(await rendered(app, owner, id, 'RAW')).toEqual([
      [
        [0, 'o', b64(bytes.subarray(0, 3))],
        [1, 'e', b64(bytes.subarray(3))],
      ],
      11,
    ]);
  });

  it('invalid UTF-8 becomes U+FFFD; the size counts code points of the decoded text', async () => {
    const cases: Buffer[] = [
      Buffer.from([0x66, 0xff, 0x6f, 0xc3, 0x28, 0x6f]), // stray byte, bad continuation
      Buffer.from([0xed, 0xa0, 0x80, 0x21]), // an encoded surrogate
      Buffer.from([0xc0, 0xaf, 0xe0, 0x80, 0xaf]), // overlong forms
      Buffer.from([0xf4, 0x90, 0x80, 0x80]), // above U+10FFFF
      Buffer.from([0x41, 0xe2, 0x82]), // truncated at the end of the stream
      Buffer.from([0x80, 0x80, 0xbf]), // lone continuation bytes
    ];
    for (const bytes of cases) {
      const id = await store([[ev(0.5, 'o', bytes)]]);
      const [utf8, size] = await rendered(app, owner, id, 'UTF8');
      const expected = decode(bytes);
      expect(expected).toContain('\uFFFD');
      expect(utf8, bytes.toString('hex')).toEqual([expected]);
      expect(size, bytes.toString('hex')).toBe(codePoints(expected));
      // RAW and BASE64 keep the bytes as they are.
      expect(await rendered(app, owner, id, 'BASE64')).toEqual([[b64(bytes)], b64(bytes).length]);
      expect((await rendered(app, owner, id, 'RAW'))[0]).toEqual([[0.5, 'o', b64(bytes)]]);
    }
  });

  it('an incomplete character cut by the next event is U+FFFD, the next event decodes on its own', async () => {
    // 0xE2 0x9C starts ✓ but the next event begins with 'A': one U+FFFD, then "A".
    const id = await store([[ev(0, 'o', Buffer.from([0x78, 0xe2, 0x9c]))], [ev(1, 'o', 'A')]]);
    expect(await rendered(app, owner, id, 'UTF8')).toEqual([['x\uFFFDA'], 3]);
  });

  it('a multi-byte character split across two events decodes whole: same call, separate calls', async () => {
    const check = Buffer.from('✓', 'utf8'); // e2 9c 93
    const face = Buffer.from('😀', 'utf8'); // f0 9f 98 80: one code point, two UTF-16 units
    const first = [ev(0.1, 'o', Buffer.concat([Buffer.from('ok '), check.subarray(0, 2)])), ev(0.2, 'o', Buffer.concat([check.subarray(2), Buffer.from(' ')]))];
    const second = [ev(0.3, 'o', face.subarray(0, 1)), ev(0.4, 'o', face.subarray(1, 3)), ev(0.5, 'o', Buffer.concat([face.subarray(3), Buffer.from('\n')]))];
    const expected = 'ok ✓ 😀\n';
    const ways = {
      'one call': [[...first, ...second]],
      'one event per call': chunked([...first, ...second], [1]),
      'two calls': [first, second],
    };
    for (const [how, calls] of Object.entries(ways)) {
      const id = await store(calls);
      const [utf8, size] = await rendered(app, owner, id, 'UTF8');
      expect(utf8, how).toEqual([expected]);
      expect(utf8![0], how).not.toContain('\uFFFD');
      expect(size, how).toBe(7);
    }
  });

  it('a character split across an output and an error event decodes whole; an input event between does not interfere', async () => {
    const check = Buffer.from('✓', 'utf8');
    const id = await store([
      [ev(0.1, 'o', check.subarray(0, 1)), ev(0.2, 'i', 'typed')],
      [ev(0.3, 'e', check.subarray(1))],
    ]);
    expect(await rendered(app, owner, id, 'UTF8')).toEqual([['✓'], 1]);
    // With input selected the bytes are interleaved: the character is broken by "typed".
    const [mixed, size] = await rendered(app, owner, id, 'UTF8', ['i', 'o', 'e']);
    const expected = decode(Buffer.concat([check.subarray(0, 1), Buffer.from('typed'), check.subarray(1)]));
    expect(mixed).toEqual([expected]);
    expect(size).toBe(codePoints(expected));
  });

  it('binary output in BASE64: every byte value, events of uneven sizes across calls', async () => {
    const all = Buffer.alloc(256 * 3);
    for (let k = 0; k < all.length; k++) all[k] = (k * 7) % 256;
    const events: EventIn[] = [];
    let at = 0;
    for (const n of [1, 2, 4, 5, 7, 3, 1, 1, 64, 100, 200]) {
      events.push(ev(events.length / 10, events.length % 3 === 2 ? 'e' : 'o', all.subarray(at, at + n)));
      at += n;
    }
    events.push(ev(events.length / 10, 'o', all.subarray(at)));
    const id = await store(chunked(events, [2, 3, 1]));
    const [base64, size] = await rendered(app, owner, id, 'BASE64');
    expect(base64).toEqual([all.toString('base64')]);
    expect(size).toBe(all.toString('base64').length);
    const [raw, rawSize] = await rendered(app, owner, id, 'RAW');
    expect(raw).toEqual(events.map((e) => [e.time, e.type === 'OUTPUT' ? 'o' : 'e', e.data]));
    expect(rawSize).toBe(all.length);
    expect(Buffer.concat((raw as [number, Kind, string][]).map(([, , d]) => Buffer.from(d, 'base64')))).toEqual(all);
    // BASE64 of the output only.
    const outOnly = concat(events.filter((e) => e.type === 'OUTPUT'));
    expect(await rendered(app, owner, id, 'BASE64', ['o'])).toEqual([[outOnly.toString('base64')], outOnly.toString('base64').length]);
    // UTF8 of the same bytes never fails.
    const [utf8, utf8Size] = await rendered(app, owner, id, 'UTF8');
    expect(utf8).toEqual([decode(all)]);
    expect(utf8Size).toBe(codePoints(decode(all)));
  });

  it('event times are kept exactly as recorded, in recorded order', async () => {
    const times = [0, 1e-9, 0.268589438, 12345.678901234, 0.1 + 0.2, 3, 2.5, 86400.000001];
    const events = times.map((t, k) => ev(t, (['i', 'o', 'e'] as const)[k % 3]!, `event ${k}`));
    const id = await store(chunked(events, [3]));
    const [raw] = await rendered(app, owner, id, 'RAW');
    expect((raw as [number][]).map(([t]) => t)).toEqual(times);
    expect(decodedTuples(raw).map(([, , d]) => d)).toEqual(times.map((_, k) => `event ${k}`));
  });

  it('UTF8 and BASE64 honour explicit selections; RAW sizes are payload bytes of the selection', async () => {
    const id = await store([
      [ev(0, 'i', 'in-é'), ev(1, 'o', 'out-✓')],
      [ev(2, 'e', 'err-😀'), ev(3, 'o', '!')],
    ]);
    const payload = { i: 'in-é', o: 'out-✓!', e: 'err-😀' };
    for (const sel of [['i'], ['e'], ['i', 'e'], ['o', 'i']] as Kind[][]) {
      // Concatenated in recorded order, not in selection order.
      const order: [Kind, string][] = [['i', 'in-é'], ['o', 'out-✓'], ['e', 'err-😀'], ['o', '!']];
      const text = order.filter(([k]) => sel.includes(k)).map(([, s]) => s).join('');
      expect(await rendered(app, owner, id, 'UTF8', sel), sel.join()).toEqual([[text], codePoints(text)]);
      expect(await rendered(app, owner, id, 'BASE64', sel), sel.join()).toEqual([[b64(text)], b64(text).length]);
      const bytes = sel.reduce((n, k) => n + Buffer.byteLength(payload[k]), 0);
      expect((await rendered(app, owner, id, 'RAW', sel))[1]).toBe(bytes);
    }
  });
});

describe('who may read the stream (§4.2, §7)', () => {
  let id: string;
  const script = 'SELECT secret FROM vault;';
  const events = [ev(0.1, 'i', script), ev(0.2, 'o', 'secret\n------\n42\n(1 row)\n')];
  const FULL = /* GraphQL */ `
    query($id: ID!) {
      session(id: $id) {
        id userId script { data } scriptSize eventSize
        raw: eventStream utf8: eventStream(format: UTF8) base64: eventStream(format: BASE64)
        queries: eventStream(format: RAW_QUERIES)
        rawSize: eventSize(format: RAW) utf8Size: eventSize(format: UTF8) outputSize: eventSize(events: [OUTPUT])
      }
    }`;

  beforeAll(async () => {
    id = await store([events.slice(0, 1), events.slice(1)], {
      verb: 'EXEC',
      startDate: '2025-06-01T00:00:00.000Z', // newer than the others: first in sessions()
      script,
      review: { type: 'ONETIME', status: 'APPROVED', groups: [{ group: 'dba', status: 'APPROVED' }] },
    });
  });

  const expectedFull = () => {
    const out = Buffer.from(events[1]!.data, 'base64');
    return {
      id,
      userId: OWNER,
      script: { data: script },
      scriptSize: Buffer.byteLength(script),
      eventSize: concat(events).length,
      raw: events.map((e) => [e.time, e.type === 'INPUT' ? 'i' : 'o', e.data]),
      utf8: [out.toString('utf8')],
      base64: [out.toString('base64')],
      queries: [[0.1, 'i', b64(script)]],
      rawSize: concat(events).length,
      utf8Size: codePoints(out.toString('utf8')),
      outputSize: out.length,
    };
  };

  for (const who of ['owner', 'admin', 'auditor'] as const) {
    it(`${who} reads every rendering and size`, async () => {
      const key = { owner, admin, auditor }[who];
      const data = ok(await app.gql<{ session: unknown }>(FULL, { id }, key));
      expect(data.session).toEqual(expectedFull());
    });
  }

  it('a reviewer reads metadata, script and the plain eventSize', async () => {
    const data = ok(
      await app.gql<{ session: unknown }>(
        `query($id: ID!) { session(id: $id) { id userId script { data } scriptSize eventSize review { groups { group } } } }`,
        { id },
        reviewer,
      ),
    );
    expect(data.session).toEqual({
      id,
      userId: OWNER,
      script: { data: script },
      scriptSize: Buffer.byteLength(script),
      eventSize: concat(events).length,
      review: { groups: [{ group: 'dba' }] },
    });
  });

  for (const field of [
    'eventStream',
    'eventStream(format: RAW)',
    'eventStream(format: UTF8)',
    'eventStream(format: BASE64)',
    'eventStream(format: RAW_QUERIES)',
    'eventStream(events: [])',
    'eventSize(format: RAW)',
    'eventSize(format: UTF8)',
    'eventSize(format: BASE64)',
    'eventSize(format: RAW_QUERIES)',
    'eventSize(events: [OUTPUT])',
    'eventSize(format: UTF8, events: [])',
  ]) {
    it(`a reviewer gets FORBIDDEN on ${field}, never a silent omission`, async () => {
      const res = await app.gql<{ session: { id: string } | null }>(`query($id: ID!) { session(id: $id) { id ${field} } }`, { id }, reviewer);
      const err = failed(res);
      expect(err.extensions?.code).toBe('FORBIDDEN');
      expect(err.path).toEqual(['session', field.replace(/\(.*$/, '')]);
      expect(err.message).not.toContain('secret');
      expect(JSON.stringify(res.data ?? null)).not.toContain(b64('secret'));
    });
  }

  it('a reviewer gets FORBIDDEN with the arguments given as variables too', async () => {
    for (const variables of [{ format: 'UTF8' }, { format: 'RAW' }, { events: ['OUTPUT'] }, { events: [] }]) {
      const res = await app.gql(
        `query($id: ID!, $format: EventStreamFormat, $events: [EventType!]) {
           session(id: $id) { id eventSize(format: $format, events: $events) } }`,
        { id, ...variables },
        reviewer,
      );
      expect(failed(res).extensions?.code, JSON.stringify(variables)).toBe('FORBIDDEN');
    }
  });

  it('a STANDARD key of another subject without the review group, a recorder and another org (even the same subject) see nothing', async () => {
    for (const key of [stranger, recorder, otherOrgAdmin, otherOrgOwner]) {
      const res = ok(await app.gql<{ session: unknown }>(`query($id: ID!) { session(id: $id) { id eventStream eventSize } }`, { id }, key));
      expect(res.session).toBeNull();
    }
  });

  it('without a key: UNAUTHENTICATED', async () => {
    const res = await app.gql(`query($id: ID!) { session(id: $id) { id eventStream } }`, { id });
    expect(res.errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
    expect(JSON.stringify(res.data ?? null)).not.toContain(b64('secret'));
  });

  it('a session without userId is readable by admins and auditors only, not by a STANDARD key', async () => {
    const anonymous = await ingest(app, recorder, { verb: 'EXEC', userId: null, review: { type: 'JIT', status: 'PENDING', groups: [{ group: 'dba', status: 'PENDING' }] } }, [[ev(0, 'o', 'x')]]);
    for (const key of [admin, auditor]) expect(await rendered(app, key, anonymous, 'UTF8')).toEqual([['x'], 1]);
    const res = await app.gql(`query($id: ID!) { session(id: $id) { id eventStream } }`, { id: anonymous }, reviewer);
    expect(failed(res).extensions?.code).toBe('FORBIDDEN');
  });

  it('sessions() lists the same access rules: a reviewer sees the session but not its stream', async () => {
    const res = await app.gql<{ sessions: { edges: { node: { id: string } }[] } }>(
      `{ sessions(first: 100) { edges { node { id eventStream(format: UTF8) } } } }`,
      undefined,
      reviewer,
    );
    expect(res.errors?.length ?? 0).toBeGreaterThan(0);
    expect(res.errors!.every((e) => e.extensions?.code === 'FORBIDDEN')).toBe(true);
  });

  it('an admin reads many sessions in one query, each with its own rendering', async () => {
    const res = ok(
      await app.gql<{ sessions: { edges: { node: { id: string; eventSize: number; eventStream: unknown } }[] } }>(
        `{ sessions(first: 100) { edges { node { id eventSize eventStream(format: BASE64) } } } }`,
        undefined,
        admin,
      ),
    );
    const mine = res.sessions.edges.find((e) => e.node.id === id)!;
    expect(mine.node.eventStream).toEqual([Buffer.from(events[1]!.data, 'base64').toString('base64')]);
    expect(res.sessions.edges.length).toBeGreaterThan(5);
  });
});

describe('all formats over one larger session', () => {
  it('RAW, UTF8, BASE64 agree with each other over many events and calls', async () => {
    const events: EventIn[] = [];
    const parts: Buffer[] = [];
    for (let k = 0; k < 400; k++) {
      const text = Buffer.from(`${k}: ${'é✓😀 ansi \x1b[0m '.repeat(k % 5)}\n`, 'utf8');
      // Cut at an arbitrary byte, often inside a multi-byte character.
      const cut = (k * 7) % (text.length + 1);
      parts.push(text);
      events.push(ev(k, 'o', text.subarray(0, cut)), ev(k + 0.5, k % 4 === 0 ? 'e' : 'o', text.subarray(cut)));
    }
    const id = await store(chunked(events, [50, 13, 200]));
    const all = Buffer.concat(parts);
    const [utf8, utf8Size] = await rendered(app, owner, id, 'UTF8');
    expect(utf8).toEqual([all.toString('utf8')]);
    expect(utf8Size).toBe(codePoints(all.toString('utf8')));
    const [base64, base64Size] = await rendered(app, owner, id, 'BASE64');
    expect(base64).toEqual([all.toString('base64')]);
    expect(base64Size).toBe(all.toString('base64').length);
    const [raw, rawSize] = await rendered(app, owner, id, 'RAW');
    expect((raw as unknown[]).length).toBe(800);
    expect(rawSize).toBe(all.length);
  });
});

describe('a call larger than one stored chunk (1 MiB)', () => {
  it('events spread over several stored parts read back whole, characters split at part boundaries too', async () => {
    const check = Buffer.from('✓', 'utf8');
    const face = Buffer.from('😀'.repeat(400_000), 'utf8'); // 1.6 MB
    const events = [
      ev(0.1, 'o', Buffer.concat([Buffer.alloc(700_000, 'a'), check.subarray(0, 1)])),
      ev(0.2, 'o', Buffer.concat([check.subarray(1), Buffer.alloc(700_000, 'b')])),
      ev(0.3, 'e', face.subarray(0, face.length - 2)),
      ev(0.4, 'o', face.subarray(face.length - 2)),
      ev(0.5, 'i', 'input'),
    ];
    const id = await store([events.slice(0, 4), events.slice(4)]);
    const output = concat(events.slice(0, 4));
    const text = output.toString('utf8');
    expect(text).not.toContain('\uFFFD');
    expect(await rendered(app, owner, id, 'UTF8')).toEqual([[text], 1_400_001 + 400_000]);
    expect(await rendered(app, owner, id, 'BASE64')).toEqual([[output.toString('base64')], output.toString('base64').length]);
    const [raw, size] = await rendered(app, owner, id, 'RAW');
    expect(raw).toEqual(events.map((e) => [e.time, ({ INPUT: 'i', OUTPUT: 'o', ERROR: 'e' } as const)[e.type], e.data]));
    expect(size).toBe(output.length + 5);
  });
});

describe('format argument', () => {
  it('an unknown format is a GraphQL validation error', async () => {
    const id = await store([[ev(0, 'o', 'x')]]);
    const res = await app.gql(`query($id: ID!) { session(id: $id) { eventStream(format: CSV) } }`, { id }, owner);
    expect(res.errors?.length).toBeGreaterThan(0);
    expect(res.data ?? null).toBeNull();
  });

  it('every format for each reader role answers without errors on the same query', async () => {
    const id = await store([[ev(0, 'i', 'select 1'), ev(1, 'o', 'one\n')]]);
    for (const key of [owner, admin, auditor]) {
      for (const format of ['RAW', 'UTF8', 'BASE64', 'RAW_QUERIES'] as Format[]) {
        const res = ok(await readStream(app, key, id, format));
        expect(res.session?.eventStream, format).not.toBeNull();
      }
    }
  });
});
