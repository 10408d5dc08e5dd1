import fc from 'fast-check';
import { describe, expect, it, vi } from 'vitest';
import {
  computeEventSize,
  computeRawQueriesSize,
  renderInline,
  renderRawQueries,
  type InlineFormat,
} from '../../src/render/inline.ts';
import { ReelError } from '../../src/errors.ts';
import { loadConfig } from '../../src/config.ts';
import type { TypeSelection } from '../../src/render/common.ts';
import type { SessionEvent } from '../../src/sessions/event.ts';
import { ev, NO_CAP, source, splitInto, utf8 } from './helpers.ts';

const FORMATS: InlineFormat[] = ['RAW', 'UTF8', 'BASE64'];
const jsonBytes = (v: unknown) => Buffer.byteLength(JSON.stringify(v), 'utf8');
const bytes = (...b: number[]) => new Uint8Array(b);

/** `eventStream` and `eventSize` of the events, as a query asking for both gets them. */
async function rendered(format: InlineFormat, events: SessionEvent[], types?: TypeSelection | null) {
  return {
    eventStream: await renderInline(format, source(events), { types, maxBytes: NO_CAP }),
    eventSize: await computeEventSize(format, source(events), types),
  };
}

/** Asserts that `rendering` fails on the inline cap of `maxBytes`, with the error clients are shown. */
async function expectTooLarge(rendering: Promise<unknown>, maxBytes: number): Promise<void> {
  const err = await rendering.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(ReelError);
  expect(err).toMatchObject({ code: 'EVENT_STREAM_TOO_LARGE', details: { maxBytes } });
}

describe('empty selections', () => {
  const events = [ev(0.1, 'i', 'ls\n'), ev(0.2, 'o', 'a b\n')];
  it.each([
    ['RAW', [], []],
    ['UTF8', [], ['']],
    ['BASE64', [], ['']],
    ['UTF8', ['e'], ['']],
    ['BASE64', ['e'], ['']],
    ['RAW', ['e'], []],
  ] as const)('%s events=%j → %j, size 0', async (format, types, expected) => {
    expect(await rendered(format, events, types)).toEqual({ eventStream: expected, eventSize: 0 });
    expect(await computeEventSize(format, source(events), types)).toBe(0);
  });

  it('an empty stream renders empty too', async () => {
    for (const f of FORMATS) {
      const r = await rendered(f, []);
      expect(r).toEqual({ eventStream: f === 'RAW' ? [] : [''], eventSize: 0 });
    }
    expect(await renderRawQueries(source([]), { maxBytes: NO_CAP })).toEqual([]);
    expect(await computeRawQueriesSize(source([]))).toBe(0);
  });

  it('nothing selected: the stream is not read at all', async () => {
    const src = source([ev(0, 'o', 'x')]);
    await renderInline('UTF8', src, { types: [], maxBytes: NO_CAP });
    await computeEventSize('BASE64', src, new Set());
    expect(src.pulled).toBe(0);
  });

  it('defaults: RAW reads all types, UTF8 and BASE64 output and error', async () => {
    const events = [ev(0, 'i', 'in'), ev(1, 'o', 'out'), ev(2, 'e', 'err')];
    expect(await renderInline('RAW', source(events), { maxBytes: NO_CAP })).toHaveLength(3);
    expect(await renderInline('UTF8', source(events), { maxBytes: NO_CAP })).toEqual(['outerr']);
    expect(await renderInline('UTF8', source(events), { types: null, maxBytes: NO_CAP })).toEqual(['outerr']);
    expect(await computeEventSize('BASE64', source(events))).toBe(8); // "outerr" → 6 bytes → 8 chars
  });
});

describe('awkward payloads', () => {
  const ansi = '\x1b[1;31mred\x1b[0m\x00\x07';
  it('UTF8 keeps ANSI escapes, NUL and BEL as text', async () => {
    const r = await rendered('UTF8', [ev(0, 'o', ansi)]);
    expect(r).toEqual({ eventStream: [ansi], eventSize: ansi.length });
    // Real JSON text for any bytes (§10).
    expect(JSON.parse(JSON.stringify(r.eventStream))).toEqual([ansi]);
  });

  it('UTF8 replaces invalid bytes with U+FFFD per WHATWG (maximal subparts)', async () => {
    // ff → FFFD; e2 82 then 'x' → one FFFD; lone continuation 80 → FFFD; overlong c0 af → two FFFD.
    const data = bytes(0x61, 0xff, 0xe2, 0x82, 0x78, 0x80, 0xc0, 0xaf, 0x62);
    const r = await rendered('UTF8', [ev(0, 'o', data)]);
    expect(r.eventStream).toEqual(['a\uFFFD\uFFFDx\uFFFD\uFFFD\uFFFDb']);
    expect(r.eventSize).toBe(8);
  });

  it('UTF8 decodes a character split across events whole, and flushes a truncated one at the end', async () => {
    const euro = utf8('€'); // e2 82 ac
    const grin = utf8('😀'); // f0 9f 98 80
    const events = [
      ev(0, 'o', euro.slice(0, 1)),
      ev(1, 'e', euro.slice(1)),
      ev(2, 'i', 'ignored'),
      ev(3, 'o', grin.slice(0, 2)),
      ev(4, 'o', new Uint8Array(0)),
      ev(5, 'o', grin.slice(2)),
      ev(6, 'o', grin.slice(0, 3)),
    ];
    const r = await rendered('UTF8', events);
    expect(r).toEqual({ eventStream: ['€😀\uFFFD'], eventSize: 3 });
    expect(await computeEventSize('UTF8', source(events))).toBe(3);
  });

  it('UTF8 size counts code points, not UTF-16 units or bytes', async () => {
    const r = await rendered('UTF8', [ev(0, 'o', 'a😀é')]);
    expect(r.eventSize).toBe(3);
  });

  it('UTF8 keeps a byte order mark (the text represents the bytes)', async () => {
    const r = await renderInline('UTF8', source([ev(0, 'o', bytes(0xef, 0xbb, 0xbf, 0x41))]), { maxBytes: NO_CAP });
    expect(r).toEqual(['\uFEFFA']);
  });

  it('BASE64 is correct across event boundaries (every carry length)', async () => {
    const all = new Uint8Array(256).map((_, k) => k);
    for (const cuts of [[1], [2], [1, 2], [4, 5], [3, 7, 8, 200], [255]]) {
      const events = splitInto(all, cuts);
      const r = await rendered('BASE64', events);
      const expected = Buffer.from(all).toString('base64');
      expect(r).toEqual({ eventStream: [expected], eventSize: expected.length });
    }
  });

  it('RAW carries binary payloads as base64 with times exactly as recorded', async () => {
    const data = bytes(0, 255, 0x1b, 0x80);
    const r = await rendered('RAW', [ev(0.268589438, 'o', data), ev(12, 'i', new Uint8Array(0))]);
    expect(r).toEqual({ eventStream: [[0.268589438, 'o', 'AP8bgA=='], [12, 'i', '']], eventSize: 4 });
  });
});

describe('inline cap', () => {
  const events = (n: number, size = 1000): SessionEvent[] =>
    Array.from({ length: n }, (_, k) => ev(k / 10, 'o', new Uint8Array(size).fill(0x41 + (k % 26))));

  it('the measure is the exact JSON byte length: equal passes, one less throws', async () => {
    const cases: [InlineFormat, SessionEvent[]][] = [
      ['RAW', [...events(3, 10), ev(1e-7, 'e', bytes(1, 2))]],
      ['UTF8', [ev(0, 'o', 'tab\tquote" back\\ é😀 \x1b[0m\x00\n'), ev(1, 'o', bytes(0xe2, 0x82))]],
      ['BASE64', events(3, 11)],
    ];
    for (const [format, evs] of cases) {
      const value = await renderInline(format, source(evs), { maxBytes: NO_CAP });
      const size = jsonBytes(value);
      await expect(renderInline(format, source(evs), { maxBytes: size })).resolves.toEqual(value);
      await expectTooLarge(renderInline(format, source(evs), { maxBytes: size - 1 }), size - 1);
    }
  });

  it.each(FORMATS)('%s: throws as soon as the cap is crossed and closes the source', async (format) => {
    const src = source(events(1000));
    const err = await renderInline(format, src, { maxBytes: 10_000 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ReelError);
    expect(err).toMatchObject({ code: 'EVENT_STREAM_TOO_LARGE', details: { maxBytes: 10_000 } });
    expect((err as Error).message).toMatch(/downloadLink/);
    expect(src.pulled).toBeLessThanOrEqual(11);
    expect(src.finished).toBe(false);
    expect(src.closed).toBe(true);
  });

  it('one huge event is rejected without decoding or encoding it', async () => {
    const huge = new Uint8Array(16 * 1024 * 1024);
    const decode = vi.spyOn(TextDecoder.prototype, 'decode');
    const encode = vi.spyOn(Buffer.prototype, 'toString');
    try {
      for (const f of FORMATS) {
        const src = source([ev(0, 'o', huge), ev(1, 'o', 'never read')]);
        await expectTooLarge(renderInline(f, src, { maxBytes: 1024 }), 1024);
        expect(src.pulled).toBe(1);
      }
      expect(decode.mock.calls.some(([input]) => input === huge)).toBe(false);
      expect(encode.mock.calls.some(([enc]) => enc === 'base64')).toBe(false);
    } finally {
      decode.mockRestore();
      encode.mockRestore();
    }
  });

  it('RAW_QUERIES is capped the same way', async () => {
    const queries = source(Array.from({ length: 100 }, (_, k) => ({ time: k, sql: utf8('SELECT 1;'.repeat(20)) })));
    await expectTooLarge(renderRawQueries(queries, { maxBytes: 2000 }), 2000);
    expect(queries.pulled).toBeLessThan(20);
    expect(queries.closed).toBe(true);
  });

  it("the server's default cap is 8 MiB", async () => {
    const { maxInlineStreamBytes } = loadConfig({});
    expect(maxInlineStreamBytes).toBe(8 * 1024 * 1024);
    const events = source([ev(0, 'o', new Uint8Array(6 * 1024 * 1024 + 3))]);
    await expectTooLarge(renderInline('BASE64', events, { maxBytes: maxInlineStreamBytes }), 8 * 1024 * 1024);
  });
});

describe('properties', () => {
  // Bytes rich in multi-byte, truncated and invalid sequences.
  const piece = fc.oneof(
    fc.uint8Array({ maxLength: 8 }),
    fc.constantFrom(...['€', '😀', 'é', 'a', '\n', '\uFEFF'].map(utf8)),
    fc.constantFrom(bytes(0xe2, 0x82), bytes(0xf0, 0x9f), bytes(0xff), bytes(0xed, 0xa0, 0x80), bytes(0xc0, 0xaf)),
  );
  const content = fc.array(piece, { maxLength: 20 }).map((ps) => new Uint8Array(Buffer.concat(ps)));
  const cuts = fc.array(fc.nat(), { maxLength: 8 });

  it('UTF8 and BASE64 do not depend on how the bytes are split into events', async () => {
    await fc.assert(
      fc.asyncProperty(content, cuts, async (data, points) => {
        const events = splitInto(data, points);
        const text = new TextDecoder('utf-8', { ignoreBOM: true }).decode(data);
        const utf8r = await rendered('UTF8', events);
        expect(utf8r).toEqual({ eventStream: [text], eventSize: [...text].length });
        expect(await computeEventSize('UTF8', source(events))).toBe([...text].length);
        const base64 = Buffer.from(data).toString('base64');
        expect(await rendered('BASE64', events)).toEqual({
          eventStream: [base64],
          eventSize: base64.length,
        });
        expect(await computeEventSize('BASE64', source(events))).toBe(base64.length);
        expect(await computeEventSize('RAW', source(events))).toBe(data.length);
      }),
      { numRuns: 300 },
    );
  });
});

describe('UTF8 cap measure', () => {
  it('equals the JSON text length exactly, for any bytes', async () => {
    await fc.assert(
      fc.asyncProperty(fc.uint8Array({ maxLength: 300 }), fc.array(fc.nat(300), { maxLength: 4 }), async (bytes, cuts) => {
        const events = splitInto(bytes, cuts);
        const eventStream = await renderInline('UTF8', source(events), { maxBytes: NO_CAP });
        const exact = Buffer.byteLength(JSON.stringify(eventStream), 'utf8');
        await expect(renderInline('UTF8', source(events), { maxBytes: exact })).resolves.toEqual(eventStream);
        await expectTooLarge(renderInline('UTF8', source(events), { maxBytes: exact - 1 }), exact - 1);
      }),
      { numRuns: 200 },
    );
  });
});
