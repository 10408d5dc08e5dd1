import { createHash } from 'node:crypto';
import type { EventType, SessionEvent } from './event.ts';

/*
 * Binary layout of a stored chunk: a run of events, each
 *   float64 BE time | uint8 type ('i' | 'o' | 'e') | uint32 BE payload length | payload.
 * The float keeps the recorded time exactly; the payload is the raw bytes (no base64 at rest).
 */
const HEADER = 13;
const TYPE_BYTE: Record<EventType, number> = { i: 0x69, o: 0x6f, e: 0x65 };
const BYTE_TYPE: Record<number, EventType> = { 0x69: 'i', 0x6f: 'o', 0x65: 'e' };

/** Largest stored chunk; an append call bigger than this is split at event boundaries. */
export const MAX_PART_BYTES = 1024 * 1024;

/** Bytes an event takes in a chunk. */
export const encodedSize = (event: SessionEvent): number => HEADER + event.data.length;

/** One stored chunk of an append call: a row of session_event_chunks but for its session id. */
export interface EncodedChunk {
  sequence: number;
  part: number;
  /** SHA-256 of the whole call's encoded events, to recognise a retried call. */
  digest: string;
  eventCount: number;
  payloadBytes: number;
  /** Time of the first event and the latest time (null when the chunk holds no event). */
  firstTime: number | null;
  maxTime: number | null;
  /** Whether each event's time is ≥ the one before it. */
  ordered: boolean;
  data: Uint8Array<ArrayBuffer>;
}

/**
 * Encodes the events of one append call as the chunks that store it: parts of at most
 * `maxPartBytes` (an event larger than that gets a part of its own), numbered from 0 under
 * `sequence`, all with the digest of the whole call. An empty call is one empty part.
 */
export function encodeAppend(sequence: number, events: readonly SessionEvent[], maxPartBytes = MAX_PART_BYTES): EncodedChunk[] {
  const parts = encodeParts(events, maxPartBytes);
  const hash = createHash('sha256');
  for (const p of parts) hash.update(p.data);
  const digest = hash.digest('hex');
  return parts.map((p, part) => ({ sequence, part, digest, ...p }));
}

type EncodedPart = Omit<EncodedChunk, 'sequence' | 'part' | 'digest'>;

function encodeParts(events: readonly SessionEvent[], maxPartBytes: number): EncodedPart[] {
  const parts: EncodedPart[] = [];
  let start = 0;
  while (start < events.length || parts.length === 0) {
    let end = start;
    let size = 0;
    let payload = 0;
    while (end < events.length) {
      const next = encodedSize(events[end]!);
      if (end > start && size + next > maxPartBytes) break;
      size += next;
      payload += events[end]!.data.length;
      end++;
    }
    const data = new Uint8Array(size);
    const view = new DataView(data.buffer);
    let at = 0;
    let maxTime: number | null = null;
    let ordered = true;
    for (let k = start; k < end; k++) {
      const ev = events[k]!;
      if (maxTime !== null && ev.time < maxTime) ordered = false;
      if (maxTime === null || ev.time > maxTime) maxTime = ev.time;
      view.setFloat64(at, ev.time);
      data[at + 8] = TYPE_BYTE[ev.type];
      view.setUint32(at + 9, ev.data.length);
      data.set(ev.data, at + HEADER);
      at += HEADER + ev.data.length;
    }
    const firstTime = end > start ? events[start]!.time : null;
    parts.push({ data, eventCount: end - start, payloadBytes: payload, firstTime, maxTime, ordered });
    start = end;
  }
  return parts;
}

/**
 * Decodes a stored chunk, an event at a time (events of other types than `types` are skipped).
 * Payloads are views into `data` (Uint8Arrays), not copies. Lazily, so that only the event in hand
 * is alive: a whole chunk's events at once would outlive young-generation collections and grow the
 * heap.
 */
export function* decodeEvents(data: Uint8Array, types?: ReadonlySet<EventType>): Generator<SessionEvent> {
  const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
  let at = 0;
  while (at + HEADER <= data.length) {
    const time = view.getFloat64(at);
    const type = BYTE_TYPE[data[at + 8]!];
    const length = view.getUint32(at + 9);
    const end = at + HEADER + length;
    if (!type || end > data.length) throw new Error('corrupt event chunk');
    // A plain view, even of a Buffer (whose subarray makes a Buffer, at several times the cost).
    if (!types || types.has(type)) yield { time, type, data: new Uint8Array(data.buffer, data.byteOffset + at + HEADER, length) };
    at = end;
  }
  if (at !== data.length) throw new Error('corrupt event chunk');
}
