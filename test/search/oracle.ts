import { PgFrontendParser } from '../../src/pgwire/parser.ts';
import type { EventType, SessionEvent } from '../../src/sessions/event.ts';

/*
 * A reference implementation of spec §12's searchable text and hits, written to be obviously
 * right rather than fast: it decodes whole streams at once, finds where each character starts by
 * decoding prefixes (quadratic), and cleans with a plain state machine. Tests compare the real
 * search against it. It shares nothing with src/search/ on purpose: only the Postgres query
 * extraction (spec §5), which has tests of its own, comes from src/.
 */

export type Source = 'SCRIPT' | 'INPUT' | 'QUERY' | 'OUTPUT';

export interface OracleSession {
  verb: 'EXEC' | 'CONNECT';
  /** `connectionSubtype` or `type` is `postgres` (§4.3). */
  postgres: boolean;
  script: string | null;
  events: SessionEvent[];
}

export interface Origin {
  time: number;
  type: EventType;
}

export interface OracleUnit {
  source: Source;
  /** Index of the unit among the units of its source. */
  position: number;
  text: string;
  /** Per code point of `text`: time and type of the event holding its first byte. */
  origins: Origin[];
}

export interface OracleHit {
  time: number;
  type: EventType;
  source: Source;
  line: string;
  position: number;
}

/** The order §12 gives sources of hits with equal times. */
export const SOURCE_ORDER: readonly Source[] = ['SCRIPT', 'INPUT', 'QUERY', 'OUTPUT'];

/** The longest `line` a hit carries, in code points, and how much of it comes before the match. */
export const MAX_LINE = 500;
export const LINE_LEAD = 100;
export const MAX_NEEDLE = 256;

/**
 * Streams are decoded as `TextDecoder` decodes UTF-8 (WHATWG, not fatal: invalid bytes become
 * U+FFFD, one per maximal subpart), except that a U+FEFF at the very start of the stream is kept
 * as a character rather than dropped as a BOM (`ignoreBOM: true`). §12 does not say; this is what
 * the §4 UTF8 rendering does (src/render/common.ts: the text must represent the recorded bytes).
 */
export const STREAM_KEEPS_LEADING_BOM = true;
/**
 * Each query's SQL is decoded by `new TextDecoder()` as it is (the brief's rule), which does drop
 * a U+FEFF that begins the SQL. Queries are decoded one by one, so this is per query.
 */
export const QUERY_KEEPS_LEADING_BOM = false;

const decodeStream = (bytes: Uint8Array): string =>
  new TextDecoder('utf-8', { fatal: false, ignoreBOM: STREAM_KEEPS_LEADING_BOM }).decode(bytes);
const decodeQuery = (bytes: Uint8Array): string =>
  new TextDecoder('utf-8', { fatal: false, ignoreBOM: QUERY_KEEPS_LEADING_BOM }).decode(bytes);
/** Decoding that never drops anything, so that every character has a first byte. */
const decodeAll = (bytes: Uint8Array): string => new TextDecoder('utf-8', { fatal: false, ignoreBOM: true }).decode(bytes);

const codePoints = (text: string): number[] => Array.from(text, (c) => c.codePointAt(0)!);
const fromCps = (cps: readonly number[]) => cps.map((c) => String.fromCodePoint(c)).join('');

/** Code points in a well-formed string: its UTF-16 units less the low halves of surrogate pairs. */
const countCodePoints = (text: string): number => text.length - (text.match(/[\uDC00-\uDFFF]/g)?.length ?? 0);

/**
 * The text of `bytes` as code points, each with the offset of its first byte.
 *
 * Why prefixes work: decoding bytes[0, k) (flushing, so an unfinished sequence at the end becomes
 * one U+FFFD) gives exactly one code point per character of the whole text whose first byte lies
 * before k. Characters that end before k decode the same as in the whole text; the one that
 * straddles k is either an unfinished valid sequence (one U+FFFD in the prefix, one character in
 * the whole) or an invalid one (the decoder emits U+FFFD for the maximal subpart seen so far in
 * both cases and restarts at the offending byte, which is at or after k). So the count grows by
 * one exactly at k − 1 = the first byte of a character.
 */
export function decodeWithOffsets(bytes: Uint8Array): { cps: number[]; starts: number[] } {
  const cps = codePoints(decodeAll(bytes));
  const starts: number[] = [];
  let before = 0;
  for (let k = 1; k <= bytes.length; k++) {
    const count = countCodePoints(decodeAll(bytes.subarray(0, k)));
    if (count === before + 1) starts.push(k - 1);
    else if (count !== before) throw new Error(`oracle: decoded prefix lengths jump from ${before} to ${count} at ${k}`);
    before = count;
  }
  if (starts.length !== cps.length) throw new Error('oracle: character starts do not match the decoded text');
  // The BOM is the only thing the decoder drops, and only as the stream's first three bytes.
  if (!STREAM_KEEPS_LEADING_BOM && bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf) {
    cps.shift();
    starts.shift();
  }
  if (fromCps(cps) !== decodeStream(bytes)) throw new Error('oracle: decoded text differs from TextDecoder');
  return { cps, starts };
}

/** The events' payloads concatenated, decoded, each code point with the event holding its first byte. */
export function decodeEvents(events: readonly SessionEvent[]): { cps: number[]; origins: Origin[] } {
  const total = events.reduce((n, e) => n + e.data.length, 0);
  const buffer = new Uint8Array(total);
  const owner: Origin[] = []; // per byte
  let at = 0;
  for (const e of events) {
    buffer.set(e.data, at);
    at += e.data.length;
    for (let i = 0; i < e.data.length; i++) owner.push({ time: e.time, type: e.type });
  }
  const { cps, starts } = decodeWithOffsets(buffer);
  return { cps, origins: starts.map((s) => owner[s]!) };
}

const ESC = 0x1b;
const BEL = 0x07;
const BS = 0x08;
const TAB = 0x09;
const LF = 0x0a;
const CR = 0x0d;
const DEL = 0x7f;
const BACKSLASH = 0x5c;

const inRange = (c: number, lo: number, hi: number) => c >= lo && c <= hi;

type State =
  | 'text'
  /** After ESC. */
  | 'esc'
  /** ESC [ and parameter bytes 0x30–0x3F. */
  | 'csiParams'
  /** CSI intermediate bytes 0x20–0x2F (no more parameters allowed). */
  | 'csiIntermediates'
  /** ESC + intermediate bytes 0x20–0x2F of an escape that is not CSI, OSC or a string. */
  | 'escIntermediates'
  /** ESC ] …, ended by BEL or ESC \. */
  | 'osc'
  /** ESC P / X / ^ / _ …, ended by ESC \ only. */
  | 'string'
  /** ESC seen inside an OSC or string sequence. */
  | 'oscEsc'
  | 'stringEsc';

/**
 * Cleans a decoded text (§12 rules 1–4, one pass) into its lines: the non-empty ones, each with the
 * origin of every code point it kept.
 */
export function cleanLines(cps: readonly number[], origins: readonly Origin[]): { cps: number[]; origins: Origin[] }[] {
  const lines: { cps: number[]; origins: Origin[] }[] = [];
  let line: number[] = [];
  let lineOrigins: Origin[] = [];
  const endLine = () => {
    if (line.length > 0) lines.push({ cps: line, origins: lineOrigins });
    line = [];
    lineOrigins = [];
  };

  /** Rules 2–4 for a character outside any escape sequence (rule 1 only begins one at ESC). */
  const plain = (c: number, origin: Origin): State => {
    if (c === ESC) return 'esc';
    if (c === BS || c === DEL) {
      line.pop();
      lineOrigins.pop();
    } else if (c === CR || c === LF) {
      // CR LF is one break; treating it as two changes nothing, since the empty line between
      // them is not a unit and positions count units only.
      endLine();
    } else if ((c < 0x20 && c !== TAB) || inRange(c, 0x80, 0x9f)) {
      // Dropped (U+0085 included: it is not a line break).
    } else {
      line.push(c);
      lineOrigins.push(origin);
    }
    return 'text';
  };

  let state: State = 'text';
  for (let i = 0; i < cps.length; i++) {
    const c = cps[i]!;
    const origin = origins[i]!;
    switch (state) {
      case 'text':
        state = plain(c, origin);
        break;
      case 'esc':
        if (c === 0x5b) state = 'csiParams'; // [
        else if (c === 0x5d) state = 'osc'; // ]
        else if (c === 0x50 || c === 0x58 || c === 0x5e || c === 0x5f) state = 'string'; // P X ^ _
        else if (inRange(c, 0x20, 0x2f)) state = 'escIntermediates';
        else if (inRange(c, 0x30, 0x7e)) state = 'text'; // final: a complete two-character escape
        else state = plain(c, origin); // interrupted: the ESC is dropped, c counts as itself
        break;
      case 'csiParams':
        if (inRange(c, 0x30, 0x3f)) state = 'csiParams';
        else if (inRange(c, 0x20, 0x2f)) state = 'csiIntermediates';
        else if (inRange(c, 0x40, 0x7e)) state = 'text';
        else state = plain(c, origin);
        break;
      case 'csiIntermediates':
        // The grammar is params* intermediates* final: a parameter byte after an intermediate is
        // outside what the sequence may hold at that point, so it interrupts it.
        if (inRange(c, 0x20, 0x2f)) state = 'csiIntermediates';
        else if (inRange(c, 0x40, 0x7e)) state = 'text';
        else state = plain(c, origin);
        break;
      case 'escIntermediates':
        if (inRange(c, 0x20, 0x2f)) state = 'escIntermediates';
        else if (inRange(c, 0x30, 0x7e)) state = 'text';
        else state = plain(c, origin);
        break;
      case 'osc':
        if (c === BEL) state = 'text';
        else if (c === ESC) state = 'oscEsc';
        break;
      case 'string':
        if (c === ESC) state = 'stringEsc';
        break;
      case 'oscEsc':
      case 'stringEsc':
        if (c === BACKSLASH) {
          state = 'text';
        } else {
          // The sequence ends (dropped) and that ESC begins a new escape, of which c is the
          // second character: handle c exactly as after any ESC.
          state = 'esc';
          i--;
        }
        break;
    }
  }
  // An escape still open here is cut off and dropped: nothing of it was kept.
  endLine();
  return lines;
}

const ASCII_WHITESPACE = new Set([0x20, 0x09, 0x0a, 0x0b, 0x0c, 0x0d]);

/** §12's QUERY unit: runs of ASCII whitespace collapsed to one space, then trimmed. */
export function collapseQuery(sql: string): string {
  const out: number[] = [];
  let pendingSpace = false;
  for (const c of codePoints(sql)) {
    if (ASCII_WHITESPACE.has(c)) {
      pendingSpace = out.length > 0; // leading whitespace is trimmed
    } else {
      if (pendingSpace) out.push(0x20);
      pendingSpace = false;
      out.push(c);
    }
  }
  return fromCps(out); // trailing whitespace: pendingSpace left unused
}

/**
 * The queries RAW_QUERIES reports for a Postgres CONNECT session (§5), with their times. This is
 * `queriesFromEvents(events, 'wire')` of src/pgwire/queries.ts done synchronously, the same parser
 * fed the same way; oracle.test.ts checks the two agree.
 */
export function wireQueries(events: readonly SessionEvent[]): { time: number; sql: Uint8Array }[] {
  const parser = new PgFrontendParser();
  const out: { time: number; sql: Uint8Array }[] = [];
  for (const e of events) if (e.type === 'i') out.push(...parser.push(e.data, e.time));
  out.push(...parser.end());
  return out;
}

/** The searchable text of a session (§12): its units, source by source, in position order. */
export function oracleUnits(s: OracleSession): OracleUnit[] {
  const units: OracleUnit[] = [];
  const add = (source: Source, text: string, origins: Origin[]) => {
    const position = units.filter((u) => u.source === source).length;
    units.push({ source, position, text, origins });
  };
  const atStart = (text: string, origin: Origin) => codePoints(text).map(() => origin);

  if (s.script !== null) {
    for (const raw of s.script.split('\n')) {
      const line = raw.endsWith('\r') ? raw.slice(0, -1) : raw;
      if (line !== '') add('SCRIPT', line, atStart(line, { time: 0, type: 'i' }));
    }
  }
  const postgresConnect = s.postgres && s.verb === 'CONNECT';
  if (s.verb === 'CONNECT' && !s.postgres) {
    const input = decodeEvents(s.events.filter((e) => e.type === 'i'));
    for (const l of cleanLines(input.cps, input.origins)) add('INPUT', fromCps(l.cps), l.origins);
  }
  if (postgresConnect) {
    for (const q of wireQueries(s.events)) {
      const text = collapseQuery(decodeQuery(q.sql));
      if (text !== '') add('QUERY', text, atStart(text, { time: q.time, type: 'i' }));
    }
  }
  if (!postgresConnect) {
    const output = decodeEvents(s.events.filter((e) => e.type === 'o' || e.type === 'e'));
    for (const l of cleanLines(output.cps, output.origins)) add('OUTPUT', fromCps(l.cps), l.origins);
  }
  return units;
}

/**
 * The needle rule of §12: trimmed of ASCII whitespace (the six characters §12 names for queries:
 * space, TAB, LF, VT, FF, CR); then empty, longer than 256 code points, or holding CR or LF is
 * refused. Returns the trimmed needle.
 */
export function checkNeedle(text: string): string {
  const cps = codePoints(text);
  let from = 0;
  let to = cps.length;
  while (from < to && ASCII_WHITESPACE.has(cps[from]!)) from++;
  while (to > from && ASCII_WHITESPACE.has(cps[to - 1]!)) to--;
  const trimmed = cps.slice(from, to);
  if (trimmed.length === 0 || trimmed.length > MAX_NEEDLE || trimmed.includes(CR) || trimmed.includes(LF)) {
    throw new Error('bad needle');
  }
  return fromCps(trimmed);
}

/**
 * Unicode's simple lower-case mapping of one code point, as §12 puts it: JavaScript's
 * `toLowerCase` of that character alone, and where that gives more than one character (only
 * U+0130 İ → i + U+0307), its first.
 */
export function foldCodePoint(cp: number): number {
  return String.fromCodePoint(cp).toLowerCase().codePointAt(0)!;
}

const fold = (cps: readonly number[]) => cps.map(foldCodePoint);

/** Code-point index of the first occurrence of `needle` in `haystack`, or −1. */
function indexOfCps(haystack: readonly number[], needle: readonly number[]): number {
  outer: for (let i = 0; i + needle.length <= haystack.length; i++) {
    for (let j = 0; j < needle.length; j++) if (haystack[i + j] !== needle[j]) continue outer;
    return i;
  }
  return -1;
}

/** The piece of a long unit a hit shows: 500 code points, the match 100 in when there is room. */
export function linePiece(unit: readonly number[], matchAt: number): number[] {
  if (unit.length <= MAX_LINE) return [...unit];
  const start = Math.max(0, Math.min(matchAt - LINE_LEAD, unit.length - MAX_LINE));
  return unit.slice(start, start + MAX_LINE);
}

/** Every hit of the session for `text`, in §12's order (time, then source, then position). */
export function oracleHits(s: OracleSession, text: string): OracleHit[] {
  return hitsInUnits(oracleUnits(s), text);
}

/** The hits of `text` among units a session has (from `oracleUnits`), in §12's order. */
export function hitsInUnits(units: readonly OracleUnit[], text: string): OracleHit[] {
  const needle = fold(codePoints(checkNeedle(text)));
  const hits: OracleHit[] = [];
  for (const unit of units) {
    const cps = codePoints(unit.text);
    const at = indexOfCps(fold(cps), needle);
    if (at < 0) continue;
    const origin = unit.origins[at]!;
    hits.push({ time: origin.time, type: origin.type, source: unit.source, line: fromCps(linePiece(cps, at)), position: unit.position });
  }
  return hits.sort(
    (a, b) =>
      a.time - b.time || SOURCE_ORDER.indexOf(a.source) - SOURCE_ORDER.indexOf(b.source) || a.position - b.position,
  );
}
