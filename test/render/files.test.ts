import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { isUtf8 } from 'node:buffer';
import { CHUNK_BYTES, ChunkSink } from '../../src/render/chunks.ts';
import { EventClock, millisFromDecimal, secondsToMillis, utf8Decoder } from '../../src/render/common.ts';
import { renderDownload, renderJsonFile, renderRawFile } from '../../src/render/files.ts';
import { writeJsonString } from '../../src/render/json.ts';
import { batched, collect, collectText, eventTimeIso, ev, utf8 } from './helpers.ts';

const START = new Date('2024-07-25T15:56:35.317Z');
const bytes = (...b: number[]) => new Uint8Array(b);

describe('event time', () => {
  it.each([
    [0.268589438, '2024-07-25T15:56:35.585Z'],
    [0, '2024-07-25T15:56:35.317Z'],
    [0.0009999, '2024-07-25T15:56:35.317Z'],
    [1.005, '2024-07-25T15:56:36.322Z'], // 1.005 * 1000 is 1004.999…
    [4.35, '2024-07-25T15:56:39.667Z'], // 4.35 * 1000 is 4349.999…
    [0.1 + 0.2, '2024-07-25T15:56:35.617Z'],
    [1e-7, '2024-07-25T15:56:35.317Z'],
    [86400.999, '2024-07-26T15:56:36.316Z'],
    [3e9, '2119-08-19T21:16:35.317Z'],
  ])('%s s → %s', (time, iso) => {
    expect(new EventClock(START.getTime()).iso(time)).toBe(iso);
    expect(eventTimeIso(START.getTime(), time)).toBe(iso);
  });

  it('truncates toward the past for (invalid) negative times, and rejects non-finite ones', () => {
    expect(secondsToMillis(-0.0005)).toBe(-1);
    expect(secondsToMillis(-1.5)).toBe(-1500);
    expect(() => secondsToMillis(Number.NaN)).toThrow(RangeError);
    expect(() => new EventClock(0).iso(1e21)).toThrow(RangeError);
    expect(() => eventTimeIso(0, 1e21)).toThrow(RangeError);
  });

  // secondsToMillis takes float shortcuts; the decimal computation is the definition.
  const times = fc.oneof(
    fc.double({ noNaN: true, noDefaultInfinity: true, min: -2e9, max: 2e9 }),
    fc.integer({ min: -2e12, max: 2e12 }).map((ms) => ms / 1000), // recorded to the millisecond
    fc.integer({ min: 0, max: 2e9 }).map((us) => us / 1e6), // to the microsecond
    fc.tuple(fc.integer({ min: 0, max: 1e9 }), fc.constantFrom(1e-4, -1e-4, 4e-4, 1e-10, -1e-10)).map(([ms, d]) => ms / 1000 + d),
  );

  it('takes float shortcuts that agree with the decimal definition', () => {
    fc.assert(
      fc.property(times, (t) => {
        expect(secondsToMillis(t)).toBe(millisFromDecimal(t));
      }),
      { numRuns: 20_000 },
    );
    for (const t of [1.005, 4.35, 0.0009999, 0.001, -0.001, 999_999_999.999, 123.4565, 0.30000000000000004]) {
      expect(secondsToMillis(t)).toBe(millisFromDecimal(t));
    }
  });

  it('EventClock formats like eventTimeIso, second after second and across the epoch', () => {
    fc.assert(
      fc.property(fc.integer({ min: -1e12, max: 1e12 }), fc.array(times, { maxLength: 30 }), (startMs, ts) => {
        const clock = new EventClock(startMs);
        for (const t of [...ts].sort((a, b) => a - b)) {
          const ms = startMs + secondsToMillis(t);
          if (Math.abs(ms) > 8.64e15) continue; // outside the Date range: both throw
          expect(clock.iso(t)).toBe(eventTimeIso(startMs, t));
        }
      }),
    );
    expect(() => new EventClock(0).iso(1e21)).toThrow(RangeError);
  });
});

describe('download formats', () => {
  const CONTENT_TYPES = {
    csv: 'text/csv; charset=utf-8',
    json: 'application/json; charset=utf-8',
    raw: 'application/octet-stream',
  };
  const BODIES = {
    csv: '"a,b"\r\n',
    json: '[{"time":"2024-07-25T15:56:35.317Z","type":"o","stream":"a,b"}]',
    raw: 'a,b',
  };
  it.each([
    ['csv', 'csv'],
    ['CSV', 'csv'],
    ['tsvcsv', 'csv'],
    ['json', 'json'],
    ['JsOn', 'json'],
    ['ndjson', 'json'],
    ['txt', 'raw'],
    ['log', 'raw'],
    ['csv2', 'raw'],
  ] as const)('%s → %s', async (ext, format) => {
    const file = renderDownload(ext, batched([ev(0, 'o', 'a,b')]), START);
    expect(file.contentType).toBe(CONTENT_TYPES[format]);
    expect(await collectText(file.body)).toBe(BODIES[format]);
  });
});

describe('raw file', () => {
  it('keeps payload bytes unchanged, binary and invalid UTF-8 included', async () => {
    const data = bytes(0, 0xff, 0x1b, 0x5b, 0x6d, 0x0d, 0x0a, 0xe2, 0x82);
    const out = await collect(renderRawFile(batched([ev(1, 'o', data), ev(2, 'i', 'x')]), START));
    expect(out).toEqual(data);
  });

  it('prefixes event time and a space, appends newline', async () => {
    const text = await collectText(
      renderRawFile(batched([ev(0.5, 'o', 'a'), ev(0.6, 'e', '')]), START, { eventTime: true, newline: true }),
    );
    expect(text).toBe('2024-07-25T15:56:35.817Z a\n2024-07-25T15:56:35.917Z \n');
  });

  it('empty selection → empty file, source not read', async () => {
    const src = batched([ev(0, 'o', 'x')]);
    expect((await collect(renderRawFile(src, START, { types: [] }))).length).toBe(0);
    expect(src.pulled).toBe(0);
    expect((await collect(renderRawFile(batched([ev(0, 'i', 'x')]), START))).length).toBe(0);
  });

  it('coalesces small writes into 64 KiB chunks and copies big payloads into its own', async () => {
    const small = Array.from({ length: 5000 }, (_, k) => ev(k, 'o', new Uint8Array(100).fill(k % 256)));
    const chunks: Uint8Array[] = [];
    for await (const c of renderRawFile(batched(small), START, { newline: true })) chunks.push(c);
    expect(chunks.length).toBe(Math.ceil((5000 * 101) / CHUNK_BYTES));
    expect(chunks.slice(0, -1).every((c) => c.length === CHUNK_BYTES)).toBe(true);
    expect(Buffer.concat(chunks).equals(Buffer.concat(small.map((e) => Buffer.concat([e.data, bytes(10)]))))).toBe(
      true,
    );

    const big = new Uint8Array(3 * CHUNK_BYTES + 5).fill(7);
    const yielded: Uint8Array[] = [];
    for await (const c of renderRawFile(batched([ev(0, 'o', 'head'), ev(1, 'o', big), ev(2, 'o', 'tail')]), START)) {
      yielded.push(c);
    }
    expect(Buffer.concat(yielded).equals(Buffer.concat([utf8('head'), big, utf8('tail')]))).toBe(true);
    // Nothing yielded refers to the payload's memory, which a download reuses for the next page.
    expect(yielded.every((c) => c.buffer !== big.buffer)).toBe(true);
    expect(yielded.every((c) => c.length <= CHUNK_BYTES)).toBe(true);
  });

  it('is streamed: yields before reading the whole source, and closing it closes the source', async () => {
    const src = batched(Array.from({ length: 10_000 }, (_, k) => ev(k, 'o', new Uint8Array(1000))), 10);
    let chunks = 0;
    for await (const _ of renderRawFile(src, START)) {
      if (++chunks === 2) break;
    }
    expect(src.pulled).toBeLessThan(20); // batches of 10 events
    expect(src.finished).toBe(false);
    expect(src.closed).toBe(true);
  });
});

describe('JSON file', () => {
  it('decodes each payload on its own; escapes control characters; keys in order', async () => {
    const euro = utf8('€');
    const events = [
      ev(0, 'o', euro.slice(0, 2)),
      ev(0.001, 'o', euro.slice(2)),
      ev(1, 'e', '\x1b[31m"q"\\\x00\n'),
      ev(2, 'i', 'skipped'),
      ev(3, 'o', bytes(0xef, 0xbb, 0xbf)),
    ];
    const text = await collectText(renderJsonFile(batched(events), START, { newline: true, eventTime: false }));
    expect(text).toBe(
      '[{"time":"2024-07-25T15:56:35.317Z","type":"o","stream":"\uFFFD"},' +
        '{"time":"2024-07-25T15:56:35.318Z","type":"o","stream":"\uFFFD"},' +
        '{"time":"2024-07-25T15:56:36.317Z","type":"e","stream":"\\u001b[31m\\"q\\"\\\\\\u0000\\n"},' +
        '{"time":"2024-07-25T15:56:38.317Z","type":"o","stream":"\uFEFF"}]',
    );
    expect(JSON.parse(text)).toHaveLength(4);
  });

  it('writes each payload exactly as JSON.stringify of its decoding, whatever the bytes and chunk size', async () => {
    const piece = fc.oneof(
      fc.uint8Array({ maxLength: 12 }),
      fc.uint8Array({ maxLength: 6, min: 0, max: 0x7f }),
      fc.constantFrom(...['€', '😀', 'é', '"', '\\', '\n', '\r\n', '\x1b[0m', '\x7f', '\u2028', '\uFEFF'].map(utf8)),
      fc.constantFrom(bytes(0xe2, 0x82), bytes(0xed, 0xa0, 0x80), bytes(0xc0, 0xaf), bytes(0xff)),
    );
    const payload = fc.array(piece, { maxLength: 12 }).map((ps) => new Uint8Array(Buffer.concat(ps)));
    await fc.assert(
      fc.asyncProperty(fc.array(payload, { maxLength: 6 }), fc.integer({ min: 16, max: 64 }), async (payloads, chunk) => {
        const decode = (p: Uint8Array) => JSON.stringify(utf8Decoder().decode(p));
        const events = payloads.map((p, k) => ev(k, 'o', p));
        const text = await collectText(renderJsonFile(batched(events), START));
        const times = payloads.map((_, k) => eventTimeIso(START.getTime(), k));
        expect(text).toBe(`[${payloads.map((p, k) => `{"time":"${times[k]}","type":"o","stream":${decode(p)}}`).join(',')}]`);
        // and through a sink of small chunks, which the escapes and runs straddle
        const sink = new ChunkSink(chunk);
        const written = payloads.filter((p) => writeJsonString(sink, p));
        expect(written).toEqual(payloads.filter((p) => isUtf8(p)));
        expect(Buffer.concat(sink.finish()).toString()).toBe(written.map(decode).join(''));
      }),
    );
  });

  it('no events → []', async () => {
    expect(await collectText(renderJsonFile(batched([]), START))).toBe('[]');
    expect(await collectText(renderJsonFile(batched([ev(0, 'o', 'x')]), START, { types: [] }))).toBe('[]');
    expect(await collectText(renderJsonFile(batched([ev(0, 'i', 'x')]), START))).toBe('[]');
  });

  it('many events stream out as one valid array', async () => {
    const events = Array.from({ length: 3000 }, (_, k) => ev(k / 1000, k % 2 ? 'o' : 'e', `line ${k}\n`));
    const parsed = JSON.parse(await collectText(renderJsonFile(batched(events), START))) as { stream: string }[];
    expect(parsed).toHaveLength(3000);
    expect(parsed[2999]).toEqual({ time: '2024-07-25T15:56:38.316Z', type: 'o', stream: 'line 2999\n' });
  });
});
