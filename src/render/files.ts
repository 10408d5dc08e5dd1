import { DEFAULT_EVENT_TYPES, EVENT_TYPES, type EventType, type SessionEvent } from '../sessions/event.ts';
import { ChunkSink, DRAIN_CHUNKS } from './chunks.ts';
import { EventClock, typeFilter, utf8Decoder, type TypeSelection } from './common.ts';
import { CsvWriter } from './csv.ts';
import { writeJsonString } from './json.ts';

type DownloadFormat = 'csv' | 'json' | 'cast' | 'raw';

const DOWNLOAD_CONTENT_TYPES: Readonly<Record<DownloadFormat, string>> = {
  csv: 'text/csv; charset=utf-8',
  json: 'application/json; charset=utf-8',
  cast: 'application/x-asciicast',
  raw: 'application/octet-stream',
};

/** §6 and §14: the extension's ending (any letter case) picks the format. */
export function downloadFormatFor(extension: string): DownloadFormat {
  const ext = extension.toLowerCase();
  if (ext.endsWith('csv')) return 'csv';
  if (ext.endsWith('json')) return 'json';
  if (ext.endsWith('cast')) return 'cast';
  return 'raw';
}

/** The header of an asciicast v2 file (§14). */
export interface CastHeader {
  width: number;
  height: number;
  /** startDate as whole Unix seconds. */
  timestamp: number;
  title: string;
}

const isPositiveInteger = (n: unknown): n is number => typeof n === 'number' && Number.isSafeInteger(n) && n > 0;

/** §14: the terminal's size from `metadata.terminal.cols` and `.rows` when both are positive integers, else 80×24. */
export function castHeader(session: { roleName: string; startDate: Date; metadata: unknown }): CastHeader {
  const terminal = (session.metadata as { terminal?: { cols?: unknown; rows?: unknown } } | null)?.terminal;
  const sized = isPositiveInteger(terminal?.cols) && isPositiveInteger(terminal?.rows);
  return {
    width: sized ? (terminal!.cols as number) : 80,
    height: sized ? (terminal!.rows as number) : 24,
    timestamp: Math.floor(session.startDate.getTime() / 1000),
    title: session.roleName,
  };
}

export interface FileOptions {
  /** Event types to include; null/undefined → DEFAULT_EVENT_TYPES (output and error). */
  types?: TypeSelection | null;
  /** `newline=1`: a `\n` after each event (raw, CSV; JSON ignores it). */
  newline?: boolean;
  /** `event-time=1`: prefix events (raw) or records (CSV) with the event time (JSON ignores it). */
  eventTime?: boolean;
  /** CSV only: fields longer than this are streamed (see CsvWriter). */
  maxCsvFieldBytes?: number;
  /** Asciicast only: its header (default: 80×24, the start date, no title). */
  castHeader?: CastHeader;
}

/**
 * The events a file is rendered from, in batches (a stored chunk's worth: readEventBatches). Output
 * is yielded every DRAIN_CHUNKS chunks and at the end of each batch.
 */
export type EventBatches = AsyncIterable<Iterable<SessionEvent>>;

const SPACE = new Uint8Array([0x20]);
const NEWLINE = new Uint8Array([0x0a]);
const utf8 = (text: string) => new TextEncoder().encode(text);
/** A JSON record up to its time, and from its time to its stream, by type. */
const RECORD_START = utf8('{"time":"');
const RECORD_TYPE = Object.fromEntries(EVENT_TYPES.map((t) => [t, utf8(`","type":"${t}","stream":`)])) as Record<EventType, Uint8Array>;

/** Raw (§6): [event time + space] payload [\n], per selected event. */
export async function* renderRawFile(
  events: EventBatches,
  startDate: Date,
  options: FileOptions = {},
): AsyncGenerator<Uint8Array> {
  const types = typeFilter(options.types ?? DEFAULT_EVENT_TYPES);
  if (types.none) return;
  const clock = new EventClock(startDate.getTime());
  const sink = new ChunkSink();
  for await (const batch of events) {
    for (const e of batch) {
      if (!types[e.type]) continue;
      if (options.eventTime) {
        sink.writeAscii(clock.iso(e.time));
        sink.write(SPACE);
      }
      sink.write(e.data);
      if (options.newline) sink.write(NEWLINE);
      if (sink.pending >= DRAIN_CHUNKS) yield* sink.drain();
    }
    yield* sink.drain();
  }
  yield* sink.finish();
}

/** CSV (§6), records ending in CRLF, no header. */
export async function* renderCsvFile(
  events: EventBatches,
  startDate: Date,
  options: FileOptions = {},
): AsyncGenerator<Uint8Array> {
  const types = typeFilter(options.types ?? DEFAULT_EVENT_TYPES);
  if (types.none) return;
  const clock = new EventClock(startDate.getTime());
  const sink = new ChunkSink();
  const csv = new CsvWriter(sink, { eventTime: !!options.eventTime, maxFieldBytes: options.maxCsvFieldBytes });
  for await (const batch of events) {
    for (const e of batch) {
      if (!types[e.type]) continue;
      const time = options.eventTime ? clock.iso(e.time) : '';
      csv.push(e.data, time, options.newline);
      if (sink.pending >= DRAIN_CHUNKS) yield* sink.drain();
    }
    yield* sink.drain();
  }
  csv.end();
  yield* sink.finish();
}

/** JSON (§6): one array of {time, type, stream}, each payload decoded on its own; `newline`/`eventTime` do not apply. */
export async function* renderJsonFile(
  events: EventBatches,
  startDate: Date,
  options: FileOptions = {},
): AsyncGenerator<Uint8Array> {
  const types = typeFilter(options.types ?? DEFAULT_EVENT_TYPES);
  const clock = new EventClock(startDate.getTime());
  const sink = new ChunkSink();
  const decoder = utf8Decoder();
  sink.writeString('[');
  if (!types.none) {
    let first = true;
    for await (const batch of events) {
      for (const e of batch) {
        if (!types[e.type]) continue;
        if (!first) sink.writeByte(0x2c); // ,
        sink.write(RECORD_START);
        sink.writeAscii(clock.iso(e.time));
        sink.write(RECORD_TYPE[e.type]);
        if (!writeJsonString(sink, e.data)) sink.writeString(JSON.stringify(decoder.decode(e.data)));
        sink.writeByte(0x7d); // }
        first = false;
        if (sink.pending >= DRAIN_CHUNKS) yield* sink.drain();
      }
      yield* sink.drain();
    }
  }
  sink.writeString(']');
  yield* sink.finish();
}

const CAST_CODE = { i: utf8(', "i", '), o: utf8(', "o", ') };

/**
 * Asciicast v2 (§14): a header line, then `[time, code, text]` per selected event, `o` and `e`
 * events as "o", `i` as "i". Each code's payloads are decoded as one stream, so a character split
 * across two events of a code is completed into the later one; bytes still incomplete at the end are
 * dropped. Written with the separators asciinema itself writes (`, ` and `: `).
 */
export async function* renderCastFile(
  events: EventBatches,
  startDate: Date,
  options: FileOptions = {},
): AsyncGenerator<Uint8Array> {
  const types = typeFilter(options.types ?? DEFAULT_EVENT_TYPES);
  const header = options.castHeader ?? castHeader({ roleName: '', startDate, metadata: null });
  const sink = new ChunkSink();
  sink.writeString(
    `{"version": 2, "width": ${header.width}, "height": ${header.height}, "timestamp": ${header.timestamp}, ` +
      `"title": ${JSON.stringify(header.title)}}\n`,
  );
  if (!types.none) {
    const decoders = { i: utf8Decoder(), o: utf8Decoder() };
    for await (const batch of events) {
      for (const e of batch) {
        if (!types[e.type]) continue;
        const code = e.type === 'i' ? 'i' : 'o';
        sink.writeByte(0x5b); // [
        sink.writeAscii(JSON.stringify(e.time));
        sink.write(CAST_CODE[code]);
        sink.writeString(JSON.stringify(decoders[code].decode(e.data, { stream: true })));
        sink.writeAscii(']\n');
        if (sink.pending >= DRAIN_CHUNKS) yield* sink.drain();
      }
      yield* sink.drain();
    }
  }
  yield* sink.finish();
}

const RENDERERS = { csv: renderCsvFile, json: renderJsonFile, cast: renderCastFile, raw: renderRawFile } as const;

/** The file for a download link's extension, with its content type. */
export function renderDownload(
  extension: string,
  events: EventBatches,
  startDate: Date,
  options: FileOptions = {},
): { contentType: string; body: AsyncGenerator<Uint8Array> } {
  const format = downloadFormatFor(extension);
  return { contentType: DOWNLOAD_CONTENT_TYPES[format], body: RENDERERS[format](events, startDate, options) };
}
