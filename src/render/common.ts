import type { EventType } from '../sessions/event.ts';

/** Which event types a rendering reads: a set or a list of types (duplicates are harmless). */
export type TypeSelection = ReadonlySet<EventType> | readonly EventType[];

/** Normalised selection: one flag per type, so the per-event test is a property read. */
export interface TypeFilter {
  readonly i: boolean;
  readonly o: boolean;
  readonly e: boolean;
  readonly none: boolean;
}

export function typeFilter(types: TypeSelection): TypeFilter {
  const has = (k: EventType) => (types instanceof Set ? types.has(k) : (types as readonly EventType[]).includes(k));
  const i = has('i');
  const o = has('o');
  const e = has('e');
  return { i, o, e, none: !i && !o && !e };
}

/**
 * A decoder for "decoded as UTF-8": WHATWG semantics (invalid bytes → U+FFFD per maximal subpart).
 * `ignoreBOM` keeps a leading U+FEFF: the text must represent the recorded bytes, and a decoder
 * that is flushed per line or per event would otherwise drop a BOM anywhere in the stream.
 */
export const utf8Decoder = (): TextDecoder => new TextDecoder('utf-8', { fatal: false, ignoreBOM: true });

export function toBase64(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('base64');
}

/** Length of the padded base64 of `n` bytes. */
export const base64Length = (n: number): number => 4 * Math.ceil(n / 3);

const TIME_RE = /^(\d+)(?:\.(\d+))?(?:e([+-]\d+))?$/;

/**
 * Milliseconds in `time` seconds, truncated toward −∞, computed from the number's shortest decimal
 * form (what was recorded) so that e.g. 1.005 s gives 1005 ms, not the 1004 of `1.005 * 1000`.
 */
export function secondsToMillis(time: number): number {
  // Fast paths, exact for |time| < 1e9 s: there the recorded decimal d and the product x = time × 1000
  // differ by at most ~1.2e-4 (half an ulp of time, scaled, plus the product's rounding), so
  //  - x more than 1e-3 away from any integer floors to ⌊1000·d⌋;
  //  - x near an integer r with r / 1000 === time means d = r / 1000 exactly (two decimals with at most
  //    three places differ by 1e-3, far more than an ulp here, so they cannot share a double).
  // Anything else (d has more places yet lies within 1e-3 of a millisecond, or is huge) is computed
  // from the shortest decimal form below.
  if (time > -1e9 && time < 1e9) {
    const x = time * 1000;
    const r = Math.round(x);
    const off = x - r;
    if (off > 1e-3 || off < -1e-3) return Math.floor(x);
    if (r / 1000 === time) return r + 0; // + 0: never -0
  }
  return millisFromDecimal(time);
}

/** secondsToMillis from the shortest decimal form alone: exact for every finite time (and slow). */
export function millisFromDecimal(time: number): number {
  if (!Number.isFinite(time)) throw new RangeError(`event time is not finite: ${time}`);
  const negative = time < 0;
  const m = TIME_RE.exec(String(Math.abs(time)));
  if (!m) throw new RangeError(`unexpected event time: ${time}`);
  const frac = m[2] ?? '';
  const digits = BigInt(m[1]! + frac);
  // value = digits × 10^shift seconds = digits × 10^(shift+3) ms
  const shift = Number(m[3] ?? 0) - frac.length + 3;
  let ms: bigint;
  let exact = true;
  if (shift >= 0) {
    ms = digits * 10n ** BigInt(shift);
  } else {
    const div = 10n ** BigInt(-shift);
    ms = digits / div;
    exact = ms * div === digits;
  }
  if (negative) return -Number(ms) - (exact ? 0 : 1);
  return Number(ms);
}

/**
 * §6 event time: startDate + time seconds, truncated to the millisecond, ISO 8601 UTC with
 * milliseconds, for the events of one session in order. Events come many to a second, so the text
 * up to the second is kept and only the milliseconds are formatted for each. Throws RangeError when
 * the result is not a representable date.
 */
export class EventClock {
  private second = Number.NaN;
  private head = '';

  constructor(private readonly startMs: number) {}

  iso(time: number): string {
    const ms = this.startMs + secondsToMillis(time);
    const within = ((ms % 1000) + 1000) % 1000;
    const second = ms - within;
    if (second !== this.second) {
      // toISOString checks the range and writes the year however wide it is; cut off "sss" + "Z".
      this.head = new Date(second).toISOString().slice(0, -4);
      this.second = second;
    }
    return `${this.head}${within < 10 ? '00' : within < 100 ? '0' : ''}${within}Z`;
  }
}
