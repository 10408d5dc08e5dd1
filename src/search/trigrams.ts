/*
 * The index's keys: every three consecutive UTF-16 code units of folded text (windows holding an
 * LF, which no needle has, are left out), each hashed to an int4. A block's set of keys goes in an
 * int[] column under PostgreSQL's built-in GIN (array_ops): a needle's keys are all in the set of
 * any block that holds it, so `trigrams @> needle keys` finds every block that can match, and
 * `folded LIKE` decides. Hash collisions only add blocks for LIKE to reject.
 *
 * Why not pg_trgm: measured on this machine, its trigram extraction (lower-casing and splitting
 * words with the locale's functions, inside the database) ran at about 12 MB/s of text, the
 * insertion into GIN of the same number of int keys took a tenth of that time, and JavaScript
 * computes the keys at well over 100 MB/s (docs/decisions.md).
 */

const LF = 0x0a;

/** FNV-1a over three code units. */
function key(a: number, b: number, c: number): number {
  let h = Math.imul(0x811c9dc5 ^ a, 0x01000193);
  h = Math.imul(h ^ b, 0x01000193);
  return Math.imul(h ^ c, 0x01000193) | 0;
}

/** An open-addressing set of int32 keys, reused between calls (0 marks an empty slot). */
let table = new Int32Array(1 << 14);

/** The distinct keys of a folded text (a block, with LF between units). */
export function trigramKeys(folded: string): number[] {
  let size = table.length;
  while (size < folded.length * 2) size *= 2;
  if (size !== table.length) table = new Int32Array(size);
  else table.fill(0);
  const mask = size - 1;
  const keys: number[] = [];
  let zero = false;
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
    if (k === 0) {
      if (!zero) keys.push(0);
      zero = true;
      continue;
    }
    for (let slot = (k ^ (k >>> 15)) & mask; ; slot = (slot + 1) & mask) {
      const held = table[slot]!;
      if (held === k) break;
      if (held === 0) {
        table[slot] = k;
        keys.push(k);
        break;
      }
    }
  }
  return keys;
}

/** The keys a block must hold to hold the (folded) needle; none for a needle under three code units. */
export const needleKeys = (needle: string): number[] => trigramKeys(needle);
