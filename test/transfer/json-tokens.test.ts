import fs from 'node:fs';
import path from 'node:path';
import fc from 'fast-check';
import { Assembler } from 'stream-json/assembler.js';
import type { Token } from 'stream-json/parser.js';
import { afterAll, describe, expect, it } from 'vitest';
import { JsonSyntaxError, JsonTokens } from '../../src/transfer/json-tokens.ts';
import { tempDir } from './helpers.ts';

const dir = tempDir();
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

/** The bytes cut at the given offsets, as a read stream would deliver them. */
async function* pieces(bytes: Buffer, cuts: number[]): AsyncGenerator<Buffer> {
  let at = 0;
  for (const cut of [...new Set(cuts.map((c) => c % (bytes.length + 1)))].sort((a, b) => a - b)) {
    if (cut > at) yield bytes.subarray(at, cut);
    at = Math.max(at, cut);
  }
  if (at < bytes.length) yield bytes.subarray(at);
}

let files = 0;

/** Every token of `text` fed in pieces, and the syntax error that ended them, if any. */
async function tokensOf(text: string | Buffer, cuts: number[] = []): Promise<{ tokens: Token[]; error?: JsonSyntaxError }> {
  const bytes = Buffer.isBuffer(text) ? text : Buffer.from(text, 'utf8');
  // The file is read again only to locate a syntax error.
  const file = path.join(dir, `t${files++}.json`);
  fs.writeFileSync(file, bytes);
  const reader = await JsonTokens.open(file, pieces(bytes, cuts));
  const tokens: Token[] = [];
  try {
    for (let token = await reader.more(); token; token = reader.take() ?? (await reader.more())) tokens.push(token);
    return { tokens };
  } catch (err) {
    if (!(err instanceof JsonSyntaxError)) throw err;
    return { tokens, error: err };
  } finally {
    fs.rmSync(file);
  }
}

function assemble(tokens: Token[]): unknown {
  const asm = new Assembler();
  for (const token of tokens) asm.consume(token);
  expect(asm.done).toBe(true);
  return asm.current;
}

describe('JsonTokens', () => {
  it('gives the tokens of any JSON, assembling to what JSON.parse gives, however the input is cut', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.jsonValue(),
        fc.constantFrom(undefined, 0, 1, ' \t\n'),
        fc.array(fc.nat(), { maxLength: 20 }),
        async (value, indent, cuts) => {
          const text = JSON.stringify(value, null, indent);
          const { tokens, error } = await tokensOf(text, cuts);
          expect(error).toBeUndefined();
          expect(assemble(tokens)).toEqual(JSON.parse(text));
        },
      ),
      { numRuns: 300 },
    );
  });

  it('keeps strings exact across chunk boundaries: escapes, surrogate pairs, multi-byte characters', async () => {
    const text = JSON.stringify({ s: 'a\\"b\n\t\u0001é中😀\u2028', k: ['\ud800', 'x'.repeat(70_000)] });
    for (let cut = 0; cut < 60; cut++) {
      expect(assemble((await tokensOf(text, [cut, cut + 1, cut + 3])).tokens)).toEqual(JSON.parse(text));
    }
  });

  it('drops a UTF-8 byte order mark at the start, even cut in two', async () => {
    const bytes = Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from('{"a":[1]}')]);
    for (const cuts of [[], [1], [2], [3]]) expect(assemble((await tokensOf(bytes, cuts)).tokens)).toEqual({ a: [1] });
  });

  it.each([
    ['', 1, 1, 0, 'expected a value'],
    ['[1,2', 1, 5, 4, "expected ','"],
    ['[1,]', 1, 4, 3, "unexpected token ']'"],
    ['{"a":1,}', 1, 8, 7, "unexpected token '}'"],
    ['{"a" 1}', 1, 6, 5, "expected ':'"],
    ['{a:1}', 1, 2, 1, 'expected an object key'],
    ['"abc', 1, 5, 4, 'expected a string value'],
    ['"a\tb"', 1, 3, 2, 'escaped characters'],
    ['01', 1, 2, 1, 'unexpected characters'],
    ['1.', 1, 3, 2, 'expected a fractional part of a number'],
    ['tru', 1, 1, 0, 'expected a value'],
    ['[1] 2', 1, 5, 4, 'unexpected characters'],
    ['[\n{"a":1},\n{"id": "x",\n "status": done}\n]', 4, 12, 34, 'expected a value'],
  ])('rejects %j at line %i, column %i (character %i): %s', async (text, line, column, offset, message) => {
    for (const cuts of [[], [1], [2, 3], [...Array(text.length).keys()]]) {
      const { error } = await tokensOf(text, cuts);
      expect(error?.message).toBe(message);
      expect(error?.position).toEqual({ line, column, offset });
    }
  });

  it('hands out every token before a syntax error exactly once, however the input is cut', async () => {
    // A valid text with junk put in: whatever the cuts, the same tokens come before the same error
    // (the parser loses those of the chunk it fails in: they are recovered by reading again).
    await fc.assert(
      fc.asyncProperty(
        fc.jsonValue({ maxDepth: 4 }),
        fc.nat(),
        fc.constantFrom('}', ']', ',', ':', 'x', '"\n'),
        fc.array(fc.nat(), { maxLength: 10 }),
        async (value, at, junk, cuts) => {
          const valid = JSON.stringify(value, null, 1);
          const cut = at % (valid.length + 1);
          const text = valid.slice(0, cut) + junk + valid.slice(cut);
          const whole = await tokensOf(text);
          if (!whole.error) return; // the junk happened to fit
          expect(whole.error.position).toBeDefined();
          const { tokens, error } = await tokensOf(text, cuts);
          expect([error?.message, error?.position]).toEqual([whole.error.message, whole.error.position]);
          expect(tokens).toEqual(whole.tokens);
        },
      ),
      { numRuns: 200 },
    );
    const text = '[{"id":"a","n":1},{"id":"b","n":2},{"id":"c" "n":3}]';
    const { tokens, error } = await tokensOf(text, [5, 20]);
    expect(error?.message).toBe("expected ','");
    expect(tokens.at(-1)).toEqual({ name: 'stringValue', value: 'c' });
  });

  it('tokenizes nesting of any depth without overflowing the stack', async () => {
    const { tokens, error } = await tokensOf('['.repeat(100_000) + ']'.repeat(100_000), [4096]);
    expect(error).toBeUndefined();
    expect(tokens).toHaveLength(200_000);
  });

  it('reads a value far larger than one chunk without rescanning it chunk by chunk', async () => {
    const big = 'A'.repeat(8 * 1024 * 1024);
    const bytes = Buffer.from(JSON.stringify([big]));
    const cuts = Array.from({ length: Math.ceil(bytes.length / 65536) }, (_, i) => (i + 1) * 65536);
    const started = performance.now();
    expect(assemble((await tokensOf(bytes, cuts)).tokens)).toEqual([big]);
    expect(performance.now() - started).toBeLessThan(5000);
  });
});
