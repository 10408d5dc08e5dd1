import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { JsonReader, JsonSyntaxError } from '../../src/transfer/json-reader.ts';

/** The bytes of `text` cut at the given offsets, as a stream would deliver them. */
async function* pieces(bytes: Buffer, cuts: number[]): AsyncGenerator<Buffer> {
  let at = 0;
  for (const cut of [...new Set(cuts.map((c) => c % (bytes.length + 1)))].sort((a, b) => a - b)) {
    if (cut > at) yield bytes.subarray(at, cut);
    at = Math.max(at, cut);
  }
  if (at < bytes.length) yield bytes.subarray(at);
}

async function parse(text: string | Buffer, cuts: number[] = []): Promise<unknown> {
  const reader = new JsonReader(pieces(Buffer.isBuffer(text) ? text : Buffer.from(text, 'utf8'), cuts));
  const value = await reader.step(() => reader.value());
  await reader.step(() => reader.end());
  return value;
}

async function syntaxError(text: string, cuts: number[] = []): Promise<JsonSyntaxError> {
  const err = await parse(text, cuts).then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(JsonSyntaxError);
  return err as JsonSyntaxError;
}

describe('JsonReader', () => {
  it('parses any JSON as JSON.parse does, however the input is cut', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.jsonValue(),
        fc.constantFrom(undefined, 0, 1, ' \t\n'),
        fc.array(fc.nat(), { maxLength: 20 }),
        async (value, indent, cuts) => {
          const text = JSON.stringify(value, null, indent);
          expect(await parse(text, cuts)).toEqual(JSON.parse(text));
        },
      ),
      { numRuns: 500 },
    );
  });

  it('keeps strings exact across chunk boundaries: escapes, surrogate pairs, multi-byte characters', async () => {
    const text = JSON.stringify({ s: 'a\\"b\n\t\u0001é中😀\u2028', k: ['\ud800', 'x'.repeat(70_000)] });
    for (let cut = 0; cut < 60; cut++) {
      expect(await parse(text, [cut, cut + 1, cut + 3])).toEqual(JSON.parse(text));
    }
  });

  it('reads numbers exactly as JSON.parse does', async () => {
    for (const n of ['0.268589438', '1e-07', '-0', '1E+21', '123456789012345678901234567890', '0.1', '5e-324', '2147483647000000000']) {
      expect(await parse(n, [1, 2, 3])).toBe(JSON.parse(n));
    }
  });

  it('treats a "__proto__" key as data', async () => {
    const value = (await parse('{"__proto__":{"x":1},"a":2}')) as Record<string, unknown>;
    expect(Object.getPrototypeOf(value)).toBe(Object.prototype);
    expect(Object.keys(value)).toEqual(['__proto__', 'a']);
    expect(value.__proto__).toEqual({ x: 1 });
  });

  it('walks arrays and objects element by element', async () => {
    const reader = new JsonReader(pieces(Buffer.from(' [ {"a": [1, 2]} , {"b": null} ] '), [3, 9, 17]));
    await reader.step(() => reader.expect('['));
    const seen: unknown[] = [];
    for (let first = true; await reader.step(() => reader.nextElement(first)); first = false) {
      await reader.step(() => reader.expect('{'));
      for (let k = true; ; k = false) {
        const key = await reader.step(() => reader.nextKey(k));
        if (key === null) break;
        seen.push(key, await reader.step(() => reader.value()));
      }
    }
    await reader.step(() => reader.end());
    expect(seen).toEqual(['a', [1, 2], 'b', null]);
  });

  it.each([
    ['', 0, 'expected a value, found the end of the input'],
    ['[1,2', 4, "expected ',' or ']', found the end of the input"],
    ['[1,]', 3, "expected a value, found ']'"],
    ['{"a":1,}', 7, "expected a key string, found '}'"],
    ['{"a" 1}', 5, "expected ':', found '1'"],
    ['{a:1}', 1, "expected a key string, found 'a'"],
    ['"abc', 0, 'unterminated string'],
    ['"a\tb"', 2, 'control character in a string'],
    ['"\\x"', 0, 'invalid escape in a string'],
    ['01', 0, 'invalid number "01"'],
    ['1.', 0, 'invalid number "1."'],
    ['-', 0, 'invalid number "-"'],
    ['tru', 0, "expected a value, found 't'"],
    ['nul!', 0, "expected a value, found 'n'"],
    ['[1] 2', 4, "expected the end of the input, found '2'"],
    ['\u00ff', 0, 'expected a value, found byte 0xc3'],
  ])('rejects %j at byte %i: %s', async (text, offset, message) => {
    const err = await syntaxError(text, [1, 2]);
    expect(err.message).toBe(message);
    expect(err.offset).toBe(offset);
  });

  it('rejects nesting deeper than 256 levels instead of overflowing the stack', async () => {
    const err = await syntaxError('['.repeat(300) + ']'.repeat(300));
    expect(err.message).toMatch(/nesting deeper than 256/);
  });

  it('parses a value far larger than one chunk without rescanning it chunk by chunk', async () => {
    const big = 'A'.repeat(8 * 1024 * 1024);
    const bytes = Buffer.from(JSON.stringify([big]));
    const chunks = Array.from({ length: Math.ceil(bytes.length / 65536) }, (_, i) => (i + 1) * 65536);
    const started = performance.now();
    expect(await parse(bytes, chunks)).toEqual([big]);
    expect(performance.now() - started).toBeLessThan(5000);
  });
});
