import { DEFAULT_EVENT_TYPES, EVENT_TYPES, type EventType, type SessionEvent } from '../sessions/event.ts';
import { ChunkSink, DRAIN_CHUNKS } from './chunks.ts';
import { EventClock, typeFilter, utf8Decoder, type TypeSelection } from './common.ts';
import { CsvWriter } from './csv.ts';
import { writeJsonString } from './json.ts';

type DownloadFormat = 'csv' | 'json' | 'raw';

const DOWNLOAD_CONTENT_TYPES: Readonly<Record<DownloadFormat, string>> = {
  csv: 'text/csv; charset=utf-8',
  json: 'application/json; charset=utf-8',
  raw: 'application/octet-stream',
};

/** §6: the extension's ending (any letter case) picks the format. */
function downloadFormatFor(extension: string): DownloadFormat {
  const ext = extension.toLowerCase();
  if (ext.endsWith('csv')) return 'csv';
  if (ext.endsWith('json')) return 'json';
  return 'raw';
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

/** The file for a download link's extension, with its content type. */
export function renderDownload(
  extension: string,
  events: EventBatches,
  startDate: Date,
  options: FileOptions = {},
): { contentType: string; body: AsyncGenerator<Uint8Array> } {
  const format = downloadFormatFor(extension);
  const render = format === 'csv' ? renderCsvFile : format === 'json' ? renderJsonFile : renderRawFile;
  return { contentType: DOWNLOAD_CONTENT_TYPES[format], body: render(events, startDate, options) };
}
