/*
 * The index's keys: every three consecutive UTF-16 code units of folded text (windows holding an
 * LF, which no needle has, are left out), each hashed to 16 bits. A block's set of keys goes in a
 * smallint[] column under PostgreSQL's built-in GIN (array_ops): a needle's keys are all in the set
 * of any block that holds it, so `trigrams @> needle keys` finds every block that can match, and
 * `folded LIKE` decides. A collision only adds a block for LIKE to reject: with ~1,500 keys in a
 * block out of 65,536, a needle of 10 characters (8 keys) is a false candidate for fewer than one
 * block in 10^12.
 *
 * Why not pg_trgm: measured on this machine, its trigram extraction (lower-casing and splitting
 * words with the locale's functions, inside the database, in the writer's transaction) was most of
 * the cost of writing text under its index (docs/decisions.md).
 */

const LF = 0x0a;
const KEYS = 1 << 16;

/** Keys seen in the text being read (a bit each), cleared after each text. */
const seen = new Uint8Array(KEYS / 8);

/** FNV-1a over three code units, folded to a signed 16-bit integer (a smallint). */
function key(a: number, b: number, c: number): number {
  let h = Math.imul(0x811c9dc5 ^ a, 0x01000193);
  h = Math.imul(h ^ b, 0x01000193);
  h = Math.imul(h ^ c, 0x01000193);
  return ((h >>> 16) ^ h) & 0xffff;
}

/** The distinct keys of a folded text (a block, with LF between units), as smallints. */
export function trigramKeys(folded: string): number[] {
  const keys: number[] = [];
  for (let i = 0; i + 2 < folded.length; i++) {
    const c = folded.charCodeAt(i + 2);
    if (c === LF) {
      i += 2;
      continue;
    }
    const b = folded.charCodeAt(i + 1);
    if (b === LF) {
      i += 1;
      continue;
    }
    const a = folded.charCodeAt(i);
    if (a === LF) continue;
    const k = key(a, b, c);
    const bit = 1 << (k & 7);
    if ((seen[k >> 3]! & bit) === 0) {
      seen[k >> 3]! |= bit;
      keys.push(k);
    }
  }
  for (const k of keys) seen[k >> 3] = 0;
  return keys.map((k) => (k << 16) >> 16);
}

/** The keys a block must hold to hold the (folded) needle; none for a needle under three code units. */
export const needleKeys = (needle: string): number[] => trigramKeys(needle);
