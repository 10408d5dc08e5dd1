import { millisFromDecimal } from '../../src/render/common.ts';
import type { EventType, SessionEvent } from '../../src/sessions/event.ts';

/**
 * §6 event time by its definition: startDate + time seconds (from the recorded decimal), truncated
 * to the millisecond, ISO 8601 UTC. What EventClock, which the renderers use, must agree with.
 */
export const eventTimeIso = (startMs: number, time: number): string => new Date(startMs + millisFromDecimal(time)).toISOString();

/** An inline cap no rendering here reaches, for tests of what is rendered rather than of the cap. */
export const NO_CAP = Number.MAX_SAFE_INTEGER;

export const utf8 = (s: string): Uint8Array => new TextEncoder().encode(s);
export const b64 = (s: string): Uint8Array => new Uint8Array(Buffer.from(s, 'base64'));
export const ev = (time: number, type: EventType, data: Uint8Array | string): SessionEvent => ({
  time,
  type,
  data: typeof data === 'string' ? utf8(data) : data,
});

/** An async source that records how far it was read and whether it was closed early. */
export function source<T>(items: Iterable<T>): AsyncIterable<T> & { pulled: number; finished: boolean; closed: boolean } {
  const state = {
    pulled: 0,
    finished: false,
    closed: false,
    async *[Symbol.asyncIterator]() {
      try {
        for (const item of items) {
          state.pulled++;
          yield item;
        }
        state.finished = true;
      } finally {
        state.closed = true;
      }
    },
  };
  return state;
}

/** `source` of the events in batches of `size`, as a file renderer reads them (readEventBatches). */
export function batched(events: SessionEvent[], size = 3): ReturnType<typeof source<SessionEvent[]>> {
  const batches: SessionEvent[][] = [];
  for (let k = 0; k < events.length; k += size) batches.push(events.slice(k, k + size));
  return source(batches);
}

export async function collect(chunks: AsyncIterable<Uint8Array>): Promise<Uint8Array> {
  const parts: Uint8Array[] = [];
  for await (const c of chunks) parts.push(c);
  return new Uint8Array(Buffer.concat(parts));
}

export async function collectText(chunks: AsyncIterable<Uint8Array>): Promise<string> {
  return Buffer.from(await collect(chunks)).toString('utf8');
}

/** Splits `bytes` at the given cut points into events of the given types. */
export function splitInto(bytes: Uint8Array, cuts: number[], type: EventType = 'o'): SessionEvent[] {
  const points = [...new Set(cuts.map((c) => c % (bytes.length + 1)))].sort((a, b) => a - b);
  const out: SessionEvent[] = [];
  let at = 0;
  for (const p of [...points, bytes.length]) {
    out.push({ time: out.length, type, data: bytes.slice(at, p) });
    at = p;
  }
  return out;
}
