import { badInput } from '../errors.ts';

/*
 * Matching (spec §12): a unit matches when it contains the needle as a literal, both lower-cased a
 * character at a time with Unicode's simple lower-case mapping. The index stores each unit folded
 * that way, so that the database compares folded text with a folded needle, byte for byte.
 */

/** Longest needle, in code points. */
export const MAX_NEEDLE_CODE_POINTS = 256;
/** Longest `line` of a hit, in code points. */
export const MAX_LINE_CODE_POINTS = 500;
/** Code points of a long unit kept before its first match, when the hit's line is a piece of it. */
const LINE_CONTEXT = 100;

/**
 * Characters whose lower case, taken alone, is not the one String.toLowerCase gives in a string:
 * U+0130 (its full mapping has two code points; the simple one is 'i') and capital sigma (a string
 * may lower it to final sigma).
 */
const CONTEXTUAL = /[\u0130\u03a3]/;

/** Lower-cases a character at a time (simple mapping); keeps the number of code points. */
export function fold(text: string): string {
  if (!CONTEXTUAL.test(text)) return text.toLowerCase();
  let out = '';
  for (const ch of text) {
    const lower = ch.toLowerCase();
    out += lower.length > ch.length ? String.fromCodePoint(lower.codePointAt(0)!) : lower;
  }
  return out;
}

const ASCII_SPACE = /^[ \t\n\v\f\r]+|[ \t\n\v\f\r]+$/g;

/** The needle as searched (trimmed and folded); BAD_USER_INPUT for one §12 does not allow. */
export function needleOf(text: string): string {
  const trimmed = text.replace(ASCII_SPACE, '');
  if (trimmed.length === 0) throw badInput('text must hold something besides spaces');
  if (/[\r\n]/.test(trimmed)) throw badInput('text must be on one line (no CR or LF)');
  let codePoints = 0;
  for (const _ of trimmed) codePoints++;
  if (codePoints > MAX_NEEDLE_CODE_POINTS) throw badInput(`text may be at most ${MAX_NEEDLE_CODE_POINTS} characters long`, { maxLength: MAX_NEEDLE_CODE_POINTS });
  return fold(trimmed);
}

/** A SQL LIKE pattern matching text that contains `needle` literally (backslash is LIKE's escape). */
export function containsPattern(needle: string): string {
  return `%${needle.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
}

/**
 * The `line` of a hit: the unit, or when longer than MAX_LINE_CODE_POINTS the piece of that many
 * code points that starts LINE_CONTEXT before the first match (less near either end). `match` and
 * the result's bounds are UTF-16 indexes of `unit`.
 */
export function hitLine(unit: string, match: number): string {
  if (unit.length <= MAX_LINE_CODE_POINTS) return unit;
  const cps = Array.from(unit);
  if (cps.length <= MAX_LINE_CODE_POINTS) return unit;
  let m = 0;
  for (let units = 0; units < match; m++) units += cps[m]!.length;
  const start = Math.max(0, Math.min(m - LINE_CONTEXT, cps.length - MAX_LINE_CODE_POINTS));
  return cps.slice(start, start + MAX_LINE_CODE_POINTS).join('');
}
