import { PgFrontendParser } from '../pgwire/index.ts';
import type { SessionEvent } from '../sessions/event.ts';
import { BLOCK_TEXT, BlockWriter, INPUT, OUTPUT, QUERY, SCRIPT, type Block } from './blocks.ts';
import { TextLines, type Line, type Run, type TextState } from './text.ts';

/*
 * From a session's stream to blocks of searchable text (spec §12), a pass at a time. Blocks before
 * a source's last one are final; the last one (the block under way) is stored too, and taken up
 * again by the next pass.
 *
 * Text sources (INPUT, OUTPUT) go on exactly where the last pass stopped: the cleaner's state is
 * saved with the progress, and the line under way is the last unit of the block under way. The
 * Postgres parser's state is not saved: QUERY reads again from the event its block under way starts
 * at (always between two messages).
 */

/** What a session's kind says about its sources. */
export interface SessionKind {
  verb: 'EXEC' | 'CONNECT';
  postgres: boolean;
}

/** Where one source goes on: its block under way, that block's first unit, and the next event to read. */
export interface SourceState {
  block: number;
  unit: number;
  event: number;
  /** Text sources: the cleaner's state, and whether the block's last unit is a line under way. */
  text?: TextState;
  line?: boolean;
  /** UTF-16 units the end of the last pass added to that line (a U+FFFD for a partial character). */
  added?: number;
}

/** Per source number (blocks.ts), for the sources that read the event stream. */
export type IndexState = Partial<Record<number, SourceState>>;

/** The block under way of a text source, as stored. */
export interface OpenBlock {
  text: string;
  runs: Run[];
}

/** The stream sources of a session of this kind (SCRIPT aside). */
export function streamSources(kind: SessionKind): number[] {
  if (kind.verb === 'CONNECT') return kind.postgres ? [QUERY] : [INPUT, OUTPUT];
  return [OUTPUT];
}

export const initialState = (kind: SessionKind): IndexState =>
  Object.fromEntries(streamSources(kind).map((source) => [source, { block: 0, unit: 0, event: 0 }]));

/** The event the sources read from first. */
export function readFrom(state: IndexState): number {
  return Math.min(...Object.values(state).map((s) => s!.event));
}

/** The blocks under way of the text sources, which the next pass takes up (when stored). */
export const openTextBlocks = (state: IndexState): { source: number; block: number }[] =>
  Object.entries(state)
    .filter(([source]) => Number(source) !== QUERY)
    .map(([source, s]) => ({ source: Number(source), block: s!.block }));

/** SCRIPT units: the script's lines at LF, a trailing CR dropped, empty ones left out; time 0, type INPUT. */
export function scriptBlocks(script: string): Block[] {
  const writer = new BlockWriter(SCRIPT, 0, 0);
  for (const raw of script.split('\n')) {
    const text = raw.endsWith('\r') ? raw.slice(0, -1) : raw;
    if (text.length === 0) continue;
    writer.add({ text, runs: [{ at: 0, time: 0, type: 'i' }] });
    if (writer.size >= BLOCK_TEXT) writer.seal();
  }
  writer.seal();
  return writer.sealed;
}

/** Collapses runs of ASCII whitespace to one space and trims them (QUERY units). */
export const collapseQuery = (sql: string): string => sql.replace(/[ \t\n\v\f\r]+/g, ' ').replace(/^ | $/g, '');

interface SourceReader {
  readonly writer: BlockWriter;
  push(index: number, event: SessionEvent): void;
  /** Ends the pass after event `upTo - 1`; the source's state for the next pass. */
  end(upTo: number): SourceState;
}

/** Splits a stored block under way into its whole units and the line under way (its last unit). */
function splitOpen(open: OpenBlock, state: SourceState): { text: string; runs: Run[]; units: number; line?: Line } {
  const units = open.text.length === 0 ? 0 : open.text.split('\n').length;
  if (!state.line) return { ...open, units };
  const lf = open.text.lastIndexOf('\n');
  const start = lf + 1;
  const end = open.text.length - (state.added ?? 0);
  const before = open.runs.filter((r) => r.at < start);
  // The line's runs: the one it starts in (at 0), then those that start inside it.
  const inside = open.runs.filter((r) => r.at >= start && r.at < end).map((r) => ({ ...r, at: r.at - start }));
  const first = open.runs.filter((r) => r.at <= start).at(-1)!;
  const runs = inside[0]?.at === 0 ? inside : [{ ...first, at: 0 }, ...inside];
  return {
    text: lf < 0 ? '' : open.text.slice(0, lf),
    runs: before.filter((r) => r.at < Math.max(lf, 0)),
    units: units - 1,
    line: { text: open.text.slice(start, end), runs },
  };
}

/** INPUT (`i` payloads) or OUTPUT (`o` and `e`), as lines of cleaned text. */
function textReader(source: number, state: SourceState, open: OpenBlock | undefined, blockText: number): SourceReader {
  const writer = new BlockWriter(source, state.block, state.unit);
  const taken = open ? splitOpen(open, state) : undefined;
  if (taken && taken.units > 0) writer.restore(taken.text, taken.runs, taken.units);
  let ending = false;
  const lines = new TextLines(
    (line) => {
      writer.add(line);
      // The last line, ended only by the end of what is stored, may still grow: never sealed.
      if (!ending && writer.size >= blockText) writer.seal();
    },
    state.text,
    taken?.line,
  );
  return {
    writer,
    push(index, event) {
      if (index < state.event || (source === INPUT) !== (event.type === 'i')) return;
      lines.push(event.time, event.type, event.data);
    },
    end(upTo) {
      const text = lines.state;
      const block = writer.block;
      const unit = writer.firstUnit;
      ending = true;
      const ended = lines.end();
      return { block, unit, event: Math.max(upTo, state.event), text, line: ended.line, added: ended.added };
    },
  };
}

/** QUERY: the SQL of a Postgres client's messages, one unit per query. */
function queryReader(state: SourceState, blockText: number): SourceReader {
  const writer = new BlockWriter(QUERY, state.block, state.unit);
  const parser = new PgFrontendParser();
  let start = state.event;
  return {
    writer,
    push(index, event) {
      if (index < state.event || event.type !== 'i') return;
      for (const query of parser.push(event.data, event.time)) {
        const text = collapseQuery(new TextDecoder().decode(query.sql));
        if (text.length > 0) writer.add({ text, runs: [{ at: 0, time: query.time, type: 'i' }] });
      }
      // Sealed only between two messages, where the next pass can start reading.
      if (writer.size >= blockText && parser.atBoundary) {
        writer.seal();
        start = index + 1;
      }
    },
    end: () => ({ block: writer.block, unit: writer.firstUnit, event: start }),
  };
}

/** What a pass made: blocks to store (each source's from its first block on) and the next state. */
export interface Extracted {
  /** Per source: the number of its first block in `blocks` (the old one under way), which replaces those from it on. */
  from: Partial<Record<number, number>>;
  blocks: Block[];
  state: IndexState;
}

/**
 * Reads a session's events on from `state` (events numbered from `readFrom(state)`), as if the
 * stream ended after the last one: the last line of each text source is a unit until more comes.
 * `open` holds the stored blocks under way of the text sources (openTextBlocks).
 */
export class Extractor {
  readonly #readers = new Map<number, SourceReader>();
  /** Per source, the block the pass started from (its block under way). */
  readonly #from: Partial<Record<number, number>> = {};

  /** `blockText`: where blocks are closed (tests make it small). */
  constructor(state: IndexState, open: Partial<Record<number, OpenBlock>> = {}, blockText = BLOCK_TEXT) {
    for (const [key, s] of Object.entries(state)) {
      const source = Number(key);
      this.#from[source] = s!.block;
      this.#readers.set(source, source === QUERY ? queryReader(s!, blockText) : textReader(source, s!, open[source], blockText));
    }
  }

  push(index: number, event: SessionEvent): void {
    for (const reader of this.#readers.values()) reader.push(index, event);
  }

  /** Ends the pass: `upTo` is one past the last event pushed. */
  end(upTo: number): Extracted {
    const blocks: Block[] = [];
    const state: IndexState = {};
    for (const [source, reader] of this.#readers) {
      const { writer } = reader;
      state[source] = reader.end(upTo);
      const open = writer.open();
      blocks.push(...writer.sealed, ...(open ? [open] : []));
    }
    return { from: this.#from, blocks, state };
  }
}
