import { readChunkPage, type PageBuffer } from './chunk-storage.ts';
import { decodeEvents } from './codec.ts';
import type { EventType, SessionEvent } from './event.ts';

// Chunks fetched per round trip while reading: bounds read memory to PAGE × MAX_PART_BYTES (codec.ts).
const PAGE = 4;

export interface ReadOptions {
  /**
   * Read every page into the same memory (see PageBuffer): a batch's payload bytes are then
   * overwritten once the next batch is pulled, so only for readers that copy what they keep, like
   * the file renderers (their ChunkSink copies every byte it yields).
   */
  reusePages?: boolean;
}

/**
 * The stored events of a session, in recorded order, one batch per stored chunk (at most
 * MAX_PART_BYTES of payload, or one bigger event), read a few chunks at a time so that memory stays
 * bounded whatever the session's size. Batches spare the readers an await per event, and decode
 * lazily (see decodeEvents). `types` selects event types (all when omitted).
 */
export async function* readEventBatches(
  sessionId: string,
  types?: ReadonlySet<EventType>,
  options: ReadOptions = {},
): AsyncGenerator<Iterable<SessionEvent>> {
  const page: PageBuffer | undefined = options.reusePages ? { bytes: Buffer.alloc(0) } : undefined;
  let after: { sequence: number; part: number } | undefined;
  for (;;) {
    const rows = await readChunkPage(sessionId, after, PAGE, page);
    for (const row of rows) yield decodeEvents(row.data, types);
    const last = rows.at(-1);
    if (!last || rows.length < PAGE) return;
    after = { sequence: last.sequence, part: last.part };
  }
}

/** readEventBatches, an event at a time. */
export async function* readEvents(sessionId: string, types?: ReadonlySet<EventType>): AsyncGenerator<SessionEvent> {
  for await (const batch of readEventBatches(sessionId, types)) yield* batch;
}
