import fc from 'fast-check';

/*
 * The fuzz run's randomness. Every case is built from its own seed, derived from the run's seed and
 * the case's number, so case N of seed S is the same request whatever ran before it, and can be
 * replayed alone (`npm run fuzz -- --seed S --case N`). Choices go through fast-check's seeded
 * generators (its `gen()` arbitrary, drawn once per case); bulk bytes (megabytes of filler) come
 * from a small xorshift stream seeded by one such draw, since drawing them one by one would cost
 * more than sending them.
 */

/** A 32-bit seed for case `index` of a run seeded with `seed` (splitmix-style mixing). */
export function caseSeed(seed: number, index: number): number {
  let z = (Math.imul(seed | 0, 0x9e3779b1) ^ Math.imul(index + 1, 0x85ebca6b)) >>> 0;
  z = Math.imul(z ^ (z >>> 16), 0x7feb352d) >>> 0;
  z = Math.imul(z ^ (z >>> 15), 0x846ca68b) >>> 0;
  return (z ^ (z >>> 16)) | 0;
}

type Draw = fc.GeneratorValue;

/** The choices one case makes. */
export class Rand {
  constructor(private readonly draw: Draw) {}

  /** An integer in [min, max]. */
  int(min: number, max: number): number {
    return this.draw(fc.integer, { min, max });
  }

  /** True with probability about p. */
  chance(p: number): boolean {
    return this.int(0, 999_999) < p * 1_000_000;
  }

  pick<T>(items: readonly T[]): T {
    if (items.length === 0) throw new Error('pick from nothing');
    return items[this.int(0, items.length - 1)]!;
  }

  /** One of several weighted choices. */
  weighted<T>(choices: readonly (readonly [number, T])[]): T {
    const total = choices.reduce((n, [w]) => n + w, 0);
    let at = this.int(0, total - 1);
    for (const [w, v] of choices) {
      if (at < w) return v;
      at -= w;
    }
    return choices[choices.length - 1]![1];
  }

  /** A size, mostly small, sometimes large: log-uniform in [0, max]. */
  size(max: number): number {
    const bits = Math.log2(max + 1);
    return Math.min(max, Math.floor(2 ** (this.int(0, Math.round(bits * 1000)) / 1000)) - 1);
  }

  /** A short string of any UTF-16 code units (lone surrogates and controls included). */
  anyString(maxLength = 12): string {
    return this.draw(fc.string, { unit: 'binary', maxLength });
  }

  /** Bytes, drawn through fast-check for short ones and from a seeded stream for long ones. */
  bytes(length: number): Buffer {
    if (length <= 64) return Buffer.from(this.draw(fc.uint8Array, { minLength: length, maxLength: length }));
    return fillBytes(this.int(1, 0x7fffffff), length);
  }

  /** `length` characters of an alphabet, from a seeded stream. */
  text(length: number, alphabet = 'abcdefghijklmnopqrstuvwxyz0123456789 '): string {
    const raw = fillBytes(this.int(1, 0x7fffffff), length);
    let out = '';
    const CHUNK = 8192;
    for (let i = 0; i < length; i += CHUNK) {
      const part: string[] = [];
      for (let j = i; j < Math.min(length, i + CHUNK); j++) part.push(alphabet[raw[j]! % alphabet.length]!);
      out += part.join('');
    }
    return out;
  }
}

/** Deterministic filler bytes (xorshift32). */
export function fillBytes(seed: number, length: number): Buffer {
  const out = Buffer.allocUnsafe(length);
  let x = seed >>> 0 || 1;
  for (let i = 0; i < length; i++) {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    out[i] = x & 0xff;
  }
  return out;
}

/** Builds one value from a case seed with the given builder. */
export function build<T>(seed: number, builder: (r: Rand) => T): T {
  const [value] = fc.sample(
    fc.gen().map((g) => builder(new Rand(g))),
    { seed, numRuns: 1 },
  );
  return value!;
}
