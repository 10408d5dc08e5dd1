import { PgFrontendParser } from '../pgwire/index.ts';
import type { SessionEvent } from '../sessions/event.ts';
import { BLOCK_TEXT, BlockWriter, INPUT, OUTPUT, QUERY, SCRIPT, type Block } from './blocks.ts';
import { TextLines, type StreamPoint } from './text.ts';

/*
 * From a session's stream to blocks of searchable text (spec §12), resumably: each source keeps
 * the point of its stream from which reading again gives the rest of its units (after a line break
 * for text, between two messages for Postgres), and the block that starts there. Blocks before it
 * are final; the last one is written again each time the session grows.
 */

/** What a session's kind says about its sources. */
export interface SessionKind {
  verb: 'EXEC' | 'CONNECT';
  postgres: boolean;
}

/** Where one source resumes: its open block, that block's first unit, and the stream point. */
export interface SourceState extends StreamPoint {
  block: number;
  unit: number;
}

/** Per source number (blocks.ts), for the sources that read the event stream. */
export type IndexState = Partial<Record<number, SourceState>>;

/** The stream sources of a session of this kind (SCRIPT aside). */
export function streamSources(kind: SessionKind): number[] {
  if (kind.verb === 'CONNECT') return kind.postgres ? [QUERY] : [INPUT, OUTPUT];
  return [OUTPUT];
}

export const initialState = (kind: SessionKind): IndexState =>
  Object.fromEntries(streamSources(kind).map((source) => [source, { block: 0, unit: 0, event: 0, offset: 0 }]));

/** The event the sources read from first. */
export function readFrom(state: IndexState): number {
  return Math.min(...Object.values(state).map((s) => s!.event));
}

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
  readonly source: number;
  readonly writer: BlockWriter;
  /** Where the block under way starts in the stream. */
  start: StreamPoint;
  push(index: number, event: SessionEvent): void;
  end(): void;
}

/** INPUT (`i` payloads) or OUTPUT (`o` and `e`), as lines of cleaned text. */
function textReader(source: number, state: SourceState): SourceReader {
  const writer = new BlockWriter(source, state.block, state.unit);
  const from: StreamPoint = { event: state.event, offset: state.offset };
  let ending = false;
  const reader: SourceReader = {
    source,
    writer,
    start: from,
    push(index, event) {
      if (index < from.event || (source === INPUT) !== (event.type === 'i')) return;
      lines.push(index, event.time, event.type, event.data, index === from.event ? from.offset : 0);
    },
    end() {
      ending = true;
      lines.end();
    },
  };
  const lines = new TextLines((line) => {
    writer.add(line);
    // A line ends at a line break, where the stream can be read again from; the last line, ended
    // by the end of what is stored, may still grow.
    if (!ending && writer.size >= BLOCK_TEXT) {
      writer.seal();
      reader.start = lines.resumePoint;
    }
  }, from);
  return reader;
}

/** QUERY: the SQL of a Postgres client's messages, one unit per query. */
function queryReader(state: SourceState): SourceReader {
  const writer = new BlockWriter(QUERY, state.block, state.unit);
  const parser = new PgFrontendParser();
  const reader: SourceReader = {
    source: QUERY,
    writer,
    start: { event: state.event, offset: 0 },
    push(index, event) {
      if (index < state.event || event.type !== 'i') return;
      for (const query of parser.push(event.data, event.time)) {
        const text = collapseQuery(new TextDecoder().decode(query.sql));
        if (text.length > 0) writer.add({ text, runs: [{ at: 0, time: query.time, type: 'i' }] });
      }
      if (writer.size >= BLOCK_TEXT && parser.atBoundary) {
        writer.seal();
        reader.start = { event: index + 1, offset: 0 };
      }
    },
    end: () => parser.end(),
  };
  return reader;
}

/** What reading on from a state gave: blocks to store (from each source's first block on) and the next state. */
export interface Extracted {
  /** Per source: the number of its first block in `blocks` (the old open one), which replaces those from it on. */
  from: Partial<Record<number, number>>;
  blocks: Block[];
  state: IndexState;
}

/**
 * Reads a session's events on from `state` (events numbered from `readFrom(state)`), as if the
 * stream ended after the last one: the last line of each text source is a unit until more comes.
 */
export class Extractor {
  readonly #readers: SourceReader[];
  readonly #from: Partial<Record<number, number>> = {};

  constructor(state: IndexState) {
    this.#readers = Object.entries(state).map(([key, s]) => {
      const source = Number(key);
      this.#from[source] = s!.block;
      return source === QUERY ? queryReader(s!) : textReader(source, s!);
    });
  }

  push(index: number, event: SessionEvent): void {
    for (const reader of this.#readers) reader.push(index, event);
  }

  end(): Extracted {
    const blocks: Block[] = [];
    const state: IndexState = {};
    for (const reader of this.#readers) {
      const { writer } = reader;
      // What is sealed is final: the state moves past it. The rest is stored too, to be read again.
      state[reader.source] = { block: writer.block, unit: writer.firstUnit, ...reader.start };
      reader.end();
      const open = writer.open();
      blocks.push(...writer.sealed, ...(open ? [open] : []));
    }
    return { from: this.#from, blocks, state };
  }
}
