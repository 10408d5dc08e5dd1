import type { EventType } from '../sessions/event.ts';
import { fold } from './needle.ts';
import { trigramKeys } from './trigrams.ts';
import type { Line, Run } from './text.ts';

/*
 * How searchable text is stored: in blocks of whole units of one source, LF between units (no unit
 * holds an LF, and no needle may), so that "some unit of this block contains the needle" is exactly
 * `folded LIKE '%needle%'` for the database, and one index entry (trigrams.ts) covers many lines. A block
 * keeps, beside its text, the runs of characters that came from one event time and type, so that a
 * hit's time is read from the block alone.
 */

/** The sources of searchable text (§12), numbered in the order hits of equal time come in. */
export const SOURCES = ['SCRIPT', 'INPUT', 'QUERY', 'OUTPUT'] as const;
export type Source = (typeof SOURCES)[number];
export const SCRIPT = 0;
export const INPUT = 1;
export const QUERY = 2;
export const OUTPUT = 3;

/**
 * UTF-16 code units of text after which a block is closed (at the end of a unit): bigger blocks hold
 * fewer keys per byte of text; an append rewrites its source's last block.
 */
export const BLOCK_TEXT = 16384;

export interface Block {
  source: number;
  block: number;
  firstUnit: number;
  minTime: number;
  maxTime: number;
  text: string;
  folded: string;
  /** The index's keys of `folded` (trigrams.ts). */
  trigrams: number[];
  runs: Buffer;
}

const TYPE_CODES: Record<EventType, number> = { i: 0, o: 1, e: 2 };
const CODE_TYPES: EventType[] = ['i', 'o', 'e'];
/** A run's bytes: UTF-16 index (uint32), time (float64), type (uint8). */
const RUN_BYTES = 13;

/** Runs as stored: a uint32 count, then each run. Times are kept as the recorded doubles. */
export function encodeRuns(runs: readonly Run[]): Buffer {
  const buf = Buffer.allocUnsafe(4 + runs.length * RUN_BYTES);
  let at = buf.writeUInt32BE(runs.length, 0);
  for (const run of runs) {
    at = buf.writeUInt32BE(run.at, at);
    at = buf.writeDoubleBE(run.time, at);
    at = buf.writeUInt8(TYPE_CODES[run.type], at);
  }
  return buf;
}

export function decodeRuns(buf: Uint8Array): Run[] {
  const b = Buffer.from(buf.buffer, buf.byteOffset, buf.byteLength);
  const n = b.readUInt32BE(0);
  const runs: Run[] = [];
  for (let k = 0, at = 4; k < n; k++, at += RUN_BYTES) {
    runs.push({ at: b.readUInt32BE(at), time: b.readDoubleBE(at + 4), type: CODE_TYPES[b.readUInt8(at + 12)]! });
  }
  return runs;
}

/** The run that holds UTF-16 index `at` (runs ordered by `at`, the first at 0). */
export function runAt(runs: readonly Run[], at: number): Run {
  let lo = 0;
  let hi = runs.length - 1;
  while (lo < hi) {
    const mid = (lo + hi + 1) >> 1;
    if (runs[mid]!.at <= at) lo = mid;
    else hi = mid - 1;
  }
  return runs[lo]!;
}

/**
 * Collects one source's units into blocks. Units are added in order; `seal` closes the block under
 * way (the caller decides where: only where the stream can be read again from), `open` gives it
 * unsealed.
 */
export class BlockWriter {
  readonly sealed: Block[] = [];
  #text = '';
  #runs: Run[] = [];
  #units = 0;

  constructor(
    readonly source: number,
    /** Number of the block under way, and the position of its first unit. */
    public block: number,
    public firstUnit: number,
  ) {}

  /** Starts from a block under way as stored (`units` whole units; runs' `at` from its start). */
  restore(text: string, runs: readonly Run[], units: number): void {
    this.#text = text;
    this.#runs = runs.map((r) => ({ ...r }));
    this.#units = units;
  }

  /** UTF-16 code units of the block under way. */
  get size(): number {
    return this.#text.length;
  }

  add(line: Line): void {
    if (this.#units > 0) this.#text += '\n';
    const base = this.#text.length;
    for (const run of line.runs) {
      const last = this.#runs[this.#runs.length - 1];
      if (last && last.time === run.time && last.type === run.type) continue;
      this.#runs.push({ at: base + run.at, time: run.time, type: run.type });
    }
    this.#text += line.text;
    this.#units++;
  }

  /** Closes the block under way (if it holds anything); the next one starts empty. */
  seal(): void {
    const block = this.open();
    if (!block) return;
    this.sealed.push(block);
    this.block++;
    this.firstUnit += this.#units;
    this.#text = '';
    this.#runs = [];
    this.#units = 0;
  }

  /** The block under way as it would be stored; undefined when it holds no unit. */
  open(): Block | undefined {
    if (this.#units === 0) return undefined;
    let minTime = Infinity;
    let maxTime = -Infinity;
    for (const run of this.#runs) {
      if (run.time < minTime) minTime = run.time;
      if (run.time > maxTime) maxTime = run.time;
    }
    const folded = fold(this.#text);
    return {
      source: this.source,
      block: this.block,
      firstUnit: this.firstUnit,
      minTime,
      maxTime,
      text: this.#text,
      folded,
      trigrams: trigramKeys(folded),
      runs: encodeRuns(this.#runs),
    };
  }
}
