import type { EventKind } from '../sessions/event.ts';

/** Which event types a rendering reads: a set or a list of kinds (duplicates are harmless). */
export type TypeSelection = ReadonlySet<EventKind> | readonly EventKind[];

/** Normalised selection: one flag per kind, so the per-event test is a property read. */
export interface TypeFilter {
  readonly i: boolean;
  readonly o: boolean;
  readonly e: boolean;
  readonly none: boolean;
}

export function typeFilter(types: TypeSelection): TypeFilter {
  const has = (k: EventKind) => (types instanceof Set ? types.has(k) : (types as readonly EventKind[]).includes(k));
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
 * milliseconds. Throws RangeError when the result is not a representable date.
 */
export function eventTimeIso(startMs: number, time: number): string {
  return new Date(startMs + secondsToMillis(time)).toISOString();
}
