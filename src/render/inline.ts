import { eventStreamTooLarge } from '../errors.ts';
import { DEFAULT_EVENT_TYPES, EVENT_TYPES, type EventType, type SessionEvent } from '../sessions/event.ts';
import { base64Length, toBase64, typeFilter, utf8Decoder, type TypeSelection } from './common.ts';

/** The inline formats rendered from stored events; RAW_QUERIES has its own entry points. */
export type InlineFormat = 'RAW' | 'UTF8' | 'BASE64';

/** One query found in a session's input (see src/pgwire), as RAW_QUERIES renders it. */
export interface QueryRecord {
  time: number;
  sql: Uint8Array;
}

/** §4 defaults when the `events` argument is absent: everything for RAW, output and error otherwise. */
export function defaultInlineTypes(format: InlineFormat): readonly EventType[] {
  return format === 'RAW' ? EVENT_TYPES : DEFAULT_EVENT_TYPES;
}

export interface InlineOptions {
  /** Event types to read; null/undefined → the §4 default for the format. An empty selection renders empty. */
  types?: TypeSelection | null;
  /**
   * Cap on the rendering, in bytes of its compact JSON text (what the GraphQL response carries for
   * this value). The measure is exact for every format, so the cap is crossed exactly when it says.
   * The server's comes from its configuration (REEL_MAX_INLINE_STREAM_BYTES).
   */
  maxBytes: number;
}

/** `eventStream` for RAW / UTF8 / BASE64 (§4), stopping as soon as the cap is crossed. */
export async function renderInline(
  format: InlineFormat,
  events: AsyncIterable<SessionEvent>,
  options: InlineOptions,
): Promise<unknown[]> {
  const types = typeFilter(options.types ?? defaultInlineTypes(format));
  const { maxBytes } = options;
  switch (format) {
    case 'RAW':
      return renderTuples(selected(events, types), (e) => e.type, (e) => e.data, maxBytes);
    case 'UTF8':
      return renderUtf8(selected(events, types), maxBytes);
    case 'BASE64':
      return renderBase64(selected(events, types), maxBytes);
  }
}

/** RAW_QUERIES `eventStream`: `[[time, "i", base64(sql)], ...]`, capped like the others. */
export async function renderRawQueries(
  queries: AsyncIterable<QueryRecord>,
  options: Pick<InlineOptions, 'maxBytes'>,
): Promise<unknown[]> {
  return renderTuples(queries, () => 'i', (q) => q.sql, options.maxBytes);
}

/** `eventSize` (§4) without building the rendering; streams in constant memory. */
export async function computeEventSize(
  format: InlineFormat,
  events: AsyncIterable<SessionEvent>,
  types?: TypeSelection | null,
): Promise<number> {
  const filter = typeFilter(types ?? defaultInlineTypes(format));
  if (filter.none) return 0;
  if (format === 'UTF8') {
    const decoder = utf8Decoder();
    let points = 0;
    for await (const e of events) {
      if (filter[e.type]) points += codePoints(decoder.decode(e.data, { stream: true }));
    }
    return points + codePoints(decoder.decode());
  }
  let bytes = 0;
  for await (const e of events) if (filter[e.type]) bytes += e.data.length;
  return format === 'BASE64' ? base64Length(bytes) : bytes;
}

/** RAW_QUERIES `eventSize`: the sum of the queries' byte lengths. */
export async function computeRawQueriesSize(queries: AsyncIterable<QueryRecord>): Promise<number> {
  let bytes = 0;
  for await (const q of queries) bytes += q.sql.length;
  return bytes;
}

async function* selected(
  events: AsyncIterable<SessionEvent>,
  types: ReturnType<typeof typeFilter>,
): AsyncGenerator<SessionEvent> {
  // Nothing selected: don't read the stream at all.
  if (types.none) return;
  for await (const e of events) if (types[e.type]) yield e;
}

async function renderTuples<T extends { time: number }>(
  items: AsyncIterable<T>,
  typeOf: (item: T) => EventType,
  bytes: (item: T) => Uint8Array,
  maxBytes: number,
): Promise<unknown[]> {
  const out: [number, EventType, string][] = [];
  let jsonBytes = 2; // "[]"
  for await (const item of items) {
    const data = bytes(item);
    // `[<time>,"i","<base64>"]` plus the separating comma; base64 needs no JSON escaping.
    jsonBytes += (out.length > 0 ? 1 : 0) + 9 + JSON.stringify(item.time).length + base64Length(data.length);
    // Checked before encoding: a huge event is rejected without building its base64.
    if (jsonBytes > maxBytes) throw eventStreamTooLarge(maxBytes);
    out.push([item.time, typeOf(item), toBase64(data)]);
  }
  return out;
}

async function renderUtf8(events: AsyncIterable<SessionEvent>, maxBytes: number): Promise<unknown[]> {
  const decoder = utf8Decoder();
  const pieces: string[] = [];
  let jsonBytes = 4; // `[""]`
  const add = (text: string) => {
    if (text.length === 0) return;
    jsonBytes += jsonTextBytes(text);
    if (jsonBytes > maxBytes) throw eventStreamTooLarge(maxBytes);
    pieces.push(text);
  };
  for await (const e of events) {
    // Every consumed byte becomes at least one byte of text (U+FFFD is 3 bytes for ≤3 invalid
    // ones) and at most 3 bytes may stay pending in the decoder: reject before decoding a huge event.
    if (jsonBytes + e.data.length - 3 > maxBytes) throw eventStreamTooLarge(maxBytes);
    add(decoder.decode(e.data, { stream: true }));
  }
  add(decoder.decode());
  if (jsonBytes > maxBytes) throw eventStreamTooLarge(maxBytes); // a cap below `[""]` itself
  return [pieces.join('')];
}

async function renderBase64(events: AsyncIterable<SessionEvent>, maxBytes: number): Promise<unknown[]> {
  const pieces: string[] = [];
  // base64 works in 3-byte groups: encode whole groups and carry the 0–2 leftover bytes to the next event.
  let carry = new Uint8Array(0);
  let total = 0;
  for await (const e of events) {
    total += e.data.length;
    if (4 + base64Length(total) > maxBytes) throw eventStreamTooLarge(maxBytes);
    let bytes = e.data;
    if (carry.length > 0) {
      bytes = new Uint8Array(carry.length + e.data.length);
      bytes.set(carry);
      bytes.set(e.data, carry.length);
    }
    const whole = bytes.length - (bytes.length % 3);
    if (whole > 0) pieces.push(toBase64(bytes.subarray(0, whole)));
    carry = bytes.slice(whole);
  }
  if (carry.length > 0) pieces.push(toBase64(carry));
  return [pieces.join('')];
}

/**
 * The bytes of `JSON.stringify(text)` minus its quotes (UTF-8 length plus escapes), for a
 * decoder's output: it has no lone surrogates, so a high surrogate always starts a pair (4 UTF-8
 * bytes).
 */
function jsonTextBytes(text: string): number {
  let bytes = 0;
  for (let k = 0; k < text.length; k++) {
    const c = text.charCodeAt(k);
    if (c >= 0x20 && c < 0x80) bytes += c === 0x22 || c === 0x5c ? 2 : 1;
    else if (c < 0x20) bytes += c === 0x08 || c === 0x09 || c === 0x0a || c === 0x0c || c === 0x0d ? 2 : 6;
    else if (c < 0x800) bytes += 2;
    else if (c >= 0xd800 && c <= 0xdbff) {
      bytes += 4;
      k++;
    } else bytes += 3;
  }
  return bytes;
}

/** Code points of a decoder's output: UTF-16 units minus the low halves of surrogate pairs (never lone). */
function codePoints(text: string): number {
  let n = text.length;
  for (let k = 0; k < text.length; k++) {
    const c = text.charCodeAt(k);
    if (c >= 0xdc00 && c <= 0xdfff) n--;
  }
  return n;
}
