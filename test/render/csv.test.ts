import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ChunkSink } from '../../src/render/chunks.ts';
import { csvField, CsvWriter, isPlainNumber } from '../../src/render/csv.ts';
import { renderCsvFile, type FileOptions } from '../../src/render/files.ts';
import type { EventType, SessionEvent } from '../../src/sessions/event.ts';
import { batched, collectText, eventTimeIso, ev, splitInto, utf8 } from './helpers.ts';

const START = new Date('2024-07-25T15:56:35.317Z');
const T = (time: number) => eventTimeIso(START.getTime(), time);
const bytes = (...b: number[]) => new Uint8Array(b);
const csv = (events: SessionEvent[], options: FileOptions = {}) =>
  collectText(renderCsvFile(batched(events), START, options));
const one = (text: string | Uint8Array, options: FileOptions = {}) => csv([ev(0, 'o', text)], options);

/**
 * §6 CSV written the obvious way over the whole content, to compare the streaming writer with. A
 * field of more than `maxFieldBytes` bytes is rendered as CsvWriter streams it: quoted, and guarded
 * whenever it starts with = + - @.
 */
function referenceCsv(events: SessionEvent[], types: EventType[], eventTime: boolean, newline: boolean, maxFieldBytes = Infinity): string {
  const parts: Uint8Array[] = [];
  const owner: number[] = []; // event time of each content byte
  for (const e of events) {
    if (!types.includes(e.type)) continue;
    const data = newline ? Buffer.concat([e.data, bytes(10)]) : e.data;
    parts.push(data);
    for (let k = 0; k < data.length; k++) owner.push(e.time);
  }
  const content = Buffer.concat(parts);
  const lines = new TextDecoder('utf-8', { ignoreBOM: true }).decode(content).split('\n');
  // U+000A comes only from byte 0x0A, so the k-th line starts after the k-th LF byte.
  const starts = [0];
  for (let at = content.indexOf(10); at !== -1; at = content.indexOf(10, at + 1)) starts.push(at + 1);
  // The bytes of each field, split the same way, for their length.
  const fieldBytes = [...starts, content.length + 1].slice(1).map((next, k) => {
    const line = content.subarray(starts[k]!, next - 1);
    return splitBytes(line.at(-1) === 13 ? line.subarray(0, -1) : line, 9).map((f) => f.length);
  });
  const long = (f: string) => `"${/^[=+\-@]/.test(f) ? "'" : ''}${f.replaceAll('"', '""')}"`;
  let out = '';
  lines.forEach((line, k) => {
    const l = line.endsWith('\r') ? line.slice(0, -1) : line;
    if (l === '') return;
    const fields = l.split('\t').map((f, j) => (fieldBytes[k]![j]! > maxFieldBytes ? long(f) : csvField(f)));
    out += `${eventTime ? `${T(owner[starts[k]!]!)},` : ''}${fields.join(',')}\r\n`;
  });
  return out;
}

/** `bytes` cut at each `byte`. */
function splitBytes(bytes: Uint8Array, byte: number): Uint8Array[] {
  const parts: Uint8Array[] = [];
  let from = 0;
  for (let at = bytes.indexOf(byte); at !== -1; at = bytes.indexOf(byte, from)) {
    parts.push(bytes.subarray(from, at));
    from = at + 1;
  }
  parts.push(bytes.subarray(from));
  return parts;
}

/** Minimal RFC 4180 reader: records end with CRLF. */
function parseCsv(text: string): string[][] {
  const records: string[][] = [];
  let record: string[] = [];
  let field = '';
  let k = 0;
  while (k < text.length) {
    if (text[k] === '"') {
      k++;
      for (;;) {
        if (k >= text.length) throw new Error('unterminated quote');
        if (text[k] === '"' && text[k + 1] === '"') {
          field += '"';
          k += 2;
        } else if (text[k] === '"') {
          break;
        } else {
          field += text[k++];
        }
      }
      k++;
    }
    if (text[k] === ',') {
      record.push(field);
      field = '';
      k++;
    } else if (text.startsWith('\r\n', k)) {
      record.push(field);
      records.push(record);
      record = [];
      field = '';
      k += 2;
    } else if (text[k] === '"') {
      throw new Error(`stray quote at ${k}`);
    } else if (k < text.length) {
      field += text[k++];
    }
  }
  if (field !== '' || record.length > 0) throw new Error('record without CRLF');
  return records;
}

describe('CSV fields', () => {
  it.each([
    ['=cmd|\' /C calc\'!A0', "'=cmd|' /C calc'!A0"],
    ['@SUM(A1)', "'@SUM(A1)"],
    ['+', "'+"],
    ['+1', '+1'],
    ['=1', "'=1"],
    ['-5', '-5'],
    ['-3.25', '-3.25'],
    ['-1e-3', '-1e-3'],
    ['-1E+3', '-1E+3'],
    ['5.', '5.'],
    ['-5.', '-5.'],
    ['--5', "'--5"],
    ['-5a', "'-5a"],
    ['-1e', "'-1e"],
    ['-.', "'-."],
    ['- 5', "'- 5"],
    ['-٣', "'-٣"], // only ASCII digits make a number
    ['=1,2', `"'=1,2"`],
    ['-"x"', `"'-""x"""`],
    ['a"b', '"a""b"'],
    ['"', '""""'],
    ['c,d', '"c,d"'],
    ['e\rf', '"e\rf"'],
    ['', ''],
    [' =x', ' =x'],
    ['\x1b[31m\x00', '\x1b[31m\x00'],
  ])('%j → %j', (input, output) => {
    expect(csvField(input)).toBe(output);
  });
});

describe('CSV file', () => {
  it('quotes, commas, CR, tabs at the ends', async () => {
    expect(await one('a"b\tc,d\te\rf\r\n\ta\t\n')).toBe('"a""b","c,d","e\rf"\r\n,a,\r\n');
  });

  it('formula guard and negative numbers in a psql-like table', async () => {
    const table = 'id\tamount\tnote\n1\t-5\t=cmd|\' /C calc\'!A0\n2\t-.5\t@SUM(A1)\n3\t+7.5e3\t-\n';
    expect(await one(table)).toBe(
      "id,amount,note\r\n1,-5,'=cmd|' /C calc'!A0\r\n2,-.5,'@SUM(A1)\r\n3,+7.5e3,'-\r\n",
    );
  });

  it('drops one trailing CR per line and skips empty lines', async () => {
    expect(await one('\r\n\n\r\r\nx\r\r\n\r\ny')).toBe('"\r"\r\n"x\r"\r\ny\r\n');
    expect(await one('a\r\tb\r\n')).toBe('"a\r",b\r\n');
    expect(await one('\n\n\r\n')).toBe('');
    expect(await one('\t\r\n')).toBe(',\r\n');
  });

  it('empty selection and empty stream → empty file', async () => {
    expect(await csv([])).toBe('');
    expect(await csv([ev(0, 'o', 'a')], { types: [] })).toBe('');
    expect(await csv([ev(0, 'i', 'a')])).toBe('');
  });

  it('ANSI escapes and NUL pass through; invalid UTF-8 becomes U+FFFD', async () => {
    expect(await one('\x1b[1mbold\x1b[0m\x00\n')).toBe('\x1b[1mbold\x1b[0m\x00\r\n');
    expect(await one(bytes(0x61, 0xff, 0x09, 0xe2, 0x82, 0x0d, 0x0a, 0xc0))).toBe('a\uFFFD,\uFFFD\r\n\uFFFD\r\n');
  });

  it('a byte order mark is kept as text', async () => {
    expect(await one(bytes(0xef, 0xbb, 0xbf, 0x61))).toBe('\uFEFFa\r\n');
  });

  it('a multi-byte character split across events decodes whole', async () => {
    const grin = utf8('😀');
    const events = [ev(1, 'o', bytes(0x61, grin[0]!)), ev(2, 'o', grin.slice(1, 3)), ev(3, 'o', bytes(grin[3]!, 0x0a))];
    expect(await csv(events)).toBe('a😀\r\n');
  });

  it('lines spanning events take the event time of their first byte', async () => {
    const euro = utf8('€');
    const events = [
      ev(1, 'o', 'ab'),
      ev(1.5, 'i', 'not selected\n'),
      ev(2, 'o', 'c\td\ne'),
      ev(3, 'o', 'f\n'),
      ev(4, 'o', '\n'),
      ev(5, 'o', bytes(0x0a, euro[0]!)),
      ev(6, 'o', bytes(euro[1]!, euro[2]!, 0x79, 0x0a)),
      ev(7, 'o', '\r'),
      ev(8, 'o', '\n'),
      ev(9, 'o', '\r'),
      ev(10, 'o', 'z'),
    ];
    expect(await csv(events, { eventTime: true })).toBe(
      `${T(1)},abc,d\r\n${T(2)},ef\r\n${T(5)},€y\r\n${T(9)},"\rz"\r\n`,
    );
  });

  it('newline=1 ends each event’s content with LF', async () => {
    const events = [ev(0.1, 'o', 'a\tb'), ev(0.2, 'e', 'c\r'), ev(0.3, 'o', '')];
    expect(await csv(events, { newline: true, eventTime: true })).toBe(`${T(0.1)},a,b\r\n${T(0.2)},c\r\n`);
    expect(await csv(events, { newline: false })).toBe('a,bc\r\n');
  });

  it('long fields are streamed: always quoted, guarded when they start with = + - @', async () => {
    const o = { maxCsvFieldBytes: 8 };
    expect(await one('0123456789\t12345678\n', o)).toBe('"0123456789",12345678\r\n');
    expect(await one('=abcdefghij\n', o)).toBe(`"'=abcdefghij"\r\n`);
    expect(await one('-123456789\t-1234567\n', o)).toBe(`"'-123456789",-1234567\r\n`);
    expect(await one('ab"cdefghijk\n', o)).toBe('"ab""cdefghijk"\r\n');
    expect(await one('abcdefghij\r\n', o)).toBe('"abcdefghij"\r\n');
    expect(await one('abcdefghij\r', o)).toBe('"abcdefghij"\r\n');
    expect(await one('abcdefg\rhij\r\tk\n', o)).toBe('"abcdefg\rhij\r",k\r\n');
    // A trailing CR that is dropped does not make a field long.
    expect(await one('-1234567\r\n', o)).toBe('-1234567\r\n');
    // Across events: CR at an event's end, then LF or more text; a character split inside.
    const euro = utf8('€');
    const events = [
      ev(1, 'o', 'abcdefghij\r'),
      ev(2, 'o', '\nklmnopqrstu\r'),
      ev(3, 'o', bytes(0x76, euro[0]!, euro[1]!)),
      ev(4, 'o', bytes(euro[2]!, 0xff, 0x09, 0x78)),
    ];
    expect(await csv(events, { ...o, eventTime: true })).toBe(
      `${T(1)},"abcdefghij"\r\n${T(2)},"klmnopqrstu\rv€\uFFFD",x\r\n`,
    );
  });

  it('chunks stay small even for many tiny records', async () => {
    const events = Array.from({ length: 20_000 }, (_, k) => ev(k, 'o', `${k}\t-${k}\n`));
    const sizes: number[] = [];
    for await (const c of renderCsvFile(batched(events), START)) sizes.push(c.length);
    expect(Math.max(...sizes)).toBeLessThanOrEqual(64 * 1024);
    expect(sizes.length).toBeGreaterThan(1);
  });
});

describe('CSV properties', () => {
  const odd = [bytes(0xe2, 0x82), bytes(0xff), bytes(0xf0, 0x9f, 0x98)];
  const common = ['\t', '\n', '=', '-', '+', '@', '1', '.', 'e', 'a', ' ', '€', '😀', '\uFEFF'];
  // Two alphabets: one full of things to quote, one without (that takes the writer's fast path).
  const token = fc.oneof(
    fc.constantFrom(...[...common, '\r', '"', ','].map(utf8), ...odd),
    fc.constantFrom(...[...common, '\r\n', '\r\n', '\r'].map(utf8), ...odd),
  );
  const content = fc.oneof(
    fc.array(token, { maxLength: 40 }),
    fc.array(fc.constantFrom(...[...common, '\r\n', '-12', '+3.5', '1e5', '-.5e-2'].map(utf8)), { maxLength: 60 }),
  ).map((ts) => new Uint8Array(Buffer.concat(ts)));
  const cuts = fc.array(fc.nat(), { maxLength: 8 });
  const kinds = fc.array(fc.constantFrom<EventType>('o', 'e', 'i'), { minLength: 9, maxLength: 9 });

  /** Splits content into events and slips unselected `i` events (holding LFs and TABs) between them. */
  const eventsOf = (data: Uint8Array, points: number[], types: EventType[]): SessionEvent[] =>
    splitInto(data, points).flatMap((e, k) => {
      const type = types[k % types.length] === 'e' ? 'e' : 'o';
      return [{ ...e, type }, ...(types[k % types.length] === 'i' ? [ev(e.time + 0.5, 'i', '\t\n\r')] : [])];
    });

  it('matches the whole-content reference whatever the split, with event times', async () => {
    await fc.assert(
      fc.asyncProperty(content, cuts, kinds, fc.boolean(), async (data, points, types, newline) => {
        const events = eventsOf(data, points, types);
        const got = await csv(events, { eventTime: true, newline });
        expect(got).toBe(referenceCsv(events, ['o', 'e'], true, newline));
        parseCsv(got);
      }),
      { numRuns: 400 },
    );
  });

  it('with streamed long fields: split-independent, and reads back as the guarded values', async () => {
    const plain = /^[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$/;
    await fc.assert(
      fc.asyncProperty(content, cuts, fc.integer({ min: 1, max: 6 }), async (data, points, max) => {
        const options = { maxCsvFieldBytes: max };
        const got = await csv(splitInto(data, points), options);
        expect(got).toBe(await csv([ev(0, 'o', data)], options));
        const expected = new TextDecoder('utf-8', { ignoreBOM: true })
          .decode(data)
          .split('\n')
          .map((l) => (l.endsWith('\r') ? l.slice(0, -1) : l))
          .filter((l) => l !== '')
          .map((l) =>
            l.split('\t').map((f) => {
              const long = Buffer.byteLength(f) > max;
              return /^[=+\-@]/.test(f) && (!plain.test(f) || long) ? `'${f}` : f;
            }),
          );
        expect(parseCsv(got)).toEqual(expected);
      }),
      { numRuns: 400 },
    );
  });
});

describe('CSV fast paths', () => {
  const PLAIN_NUMBER = /^[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$/;

  it('isPlainNumber on bytes agrees with the pattern on the text', () => {
    const text = fc.array(fc.constantFrom('+', '-', '.', 'e', 'E', '0', '7', '9', 'x', ' ', '٣', '\t'), { maxLength: 10 }).map((cs) => cs.join(''));
    fc.assert(
      fc.property(text, fc.nat(3), fc.nat(3), (t, before, after) => {
        // Somewhere inside other bytes, which must not count.
        const bytes = utf8(`${'1'.repeat(before)}${t}${'e'.repeat(after)}`);
        const start = before;
        expect(isPlainNumber(bytes, start, bytes.length - after)).toBe(PLAIN_NUMBER.test(t));
      }),
      { numRuns: 2000 },
    );
  });

  // psql-like rows: what the runs written in one pass are made of, with everything they must
  // notice: quotes, commas, CR, guards and numbers, multi-byte and invalid UTF-8, long fields.
  const cell = fc.oneof(
    fc.constantFrom('12', '-3.5', '+7', '-1e-3', '=A1', '@x', '-', '+', 'a"b', '"', 'c,d', 'e\rf', 'g\r', '\r', '', 'Zürich', '日本', '😀', 'NULL', '\\N'),
    fc.string({ maxLength: 30 }),
    fc.string({ unit: 'binary', maxLength: 12 }),
  );
  const rows = fc
    .array(fc.tuple(fc.array(cell, { minLength: 1, maxLength: 8 }), fc.constantFrom('\r\n', '\n', '\r\r\n', '')), { maxLength: 12 })
    .chain((rs) => fc.tuple(fc.constant(rs), fc.array(fc.constantFrom(bytes(0xff), bytes(0xe2, 0x82), bytes(0xc3)), { maxLength: 2 }), fc.nat()))
    .map(([rs, odd, at]) => {
      const text = utf8(rs.map(([cells, end]) => cells.join('\t') + end).join(''));
      // Invalid UTF-8 slipped in somewhere (or not).
      const cut = text.length === 0 ? 0 : at % text.length;
      return new Uint8Array(Buffer.concat([text.subarray(0, cut), ...odd, text.subarray(cut)]));
    });

  it('writes what the whole-content reference does, whatever the split, chunk size and field limit', async () => {
    await fc.assert(
      fc.asyncProperty(
        rows,
        fc.array(fc.nat(), { maxLength: 6 }),
        fc.integer({ min: 16, max: 600 }),
        fc.oneof(fc.integer({ min: 1, max: 40 }), fc.constant(undefined)),
        fc.boolean(),
        fc.array(fc.constantFrom('none', 'pushed', 'thenLF'), { minLength: 1, maxLength: 5 }),
        async (data, cuts, chunk, maxFieldBytes, eventTime, lfs) => {
          // An LF after some events (as newline=1 adds after each): pushed on its own, or as `thenLF`.
          const lf = (k: number) => lfs[k % lfs.length]!;
          const events = splitInto(data, cuts);
          const sink = new ChunkSink(chunk);
          const writer = new CsvWriter(sink, { eventTime, maxFieldBytes });
          const parts: Uint8Array[] = [];
          for (const [k, e] of events.entries()) {
            writer.push(e.data, T(e.time), lf(k) === 'thenLF');
            if (lf(k) === 'pushed') writer.push(bytes(10), T(e.time));
            parts.push(...sink.drain());
          }
          writer.end();
          parts.push(...sink.finish());
          expect(parts.every((p) => p.length <= Math.max(16, chunk))).toBe(true);
          const got = Buffer.concat(parts).toString('utf8');
          const withLFs = events.map((e, k) => (lf(k) === 'none' ? e : { ...e, data: new Uint8Array(Buffer.concat([e.data, bytes(10)])) }));
          expect(got).toBe(referenceCsv(withLFs, ['o'], eventTime, false, maxFieldBytes));
        },
      ),
      { numRuns: 600 },
    );
  });

  it('thenLF ends the line the event leaves open: a field carried over, an empty last field', () => {
    const sink = new ChunkSink();
    const writer = new CsvWriter(sink, { eventTime: false });
    writer.push(utf8('a\tb'), 'T');
    writer.push(utf8('c\t'), 'T', true); // "bc" was carried over; the TAB opens an empty field
    writer.push(utf8('d'), 'T');
    writer.push(utf8(''), 'T', true);
    writer.push(utf8('e\r'), 'T', true);
    writer.push(utf8(''), 'T', true); // an empty line
    writer.end();
    expect(Buffer.concat(sink.finish()).toString()).toBe('a,bc,\r\nd\r\ne\r\n');
  });

  it('takes the one-pass path for psql rows (and still agrees with the field-by-field one)', async () => {
    // The same rows through a sink too small for one-pass runs: every field then goes one at a time.
    const data = utf8('1\tann@example.com\t"O\'Brien", Ann\t-12.50\t=SUM(A1)\t+44 20\t@ops\t-\r\n'.repeat(50));
    const render = (chunk: number) => {
      const sink = new ChunkSink(chunk);
      const writer = new CsvWriter(sink, { eventTime: true });
      writer.push(data, 'T');
      writer.end();
      return Buffer.concat(sink.finish()).toString('utf8');
    };
    const row = `T,1,ann@example.com,"""O'Brien"", Ann",-12.50,'=SUM(A1),'+44 20,'@ops,'-\r\n`;
    expect(render(64 * 1024)).toBe(row.repeat(50));
    expect(render(16)).toBe(row.repeat(50));
  });
});
