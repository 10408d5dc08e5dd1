import { readChunkPage, type ChunkRow, type PageBuffer, type PageLimit } from './chunk-storage.ts';
import { decodeEvents } from './codec.ts';
import type { EventType, SessionEvent } from './event.ts';

/**
 * Chunk data fetched per round trip while reading: with the page read ahead, read memory stays under
 * twice PAGE_BYTES plus two chunks (a chunk holds at most MAX_PART_BYTES, codec.ts, or one bigger event).
 */
export const PAGE_BYTES = 4 * 1024 * 1024;

/**
 * Chunks asked for per page, adapted to their sizes: each page asks for as many as the previous
 * one's average chunk would fit in PAGE_BYTES (the database applies the byte limit, so this only
 * spares it rows it would scan and leave out). A session appended in 1 KiB calls is read in pages of
 * thousands of chunks, one appended in big calls in pages of a few.
 */
const FIRST_PAGE_CHUNKS = 64;
const MIN_PAGE_CHUNKS = 4;
const MAX_PAGE_CHUNKS = 8192;

/** The limit of the page after one of `rows` chunks holding `bytes`. */
export function nextPageLimit(rows: number, bytes: number, pageBytes = PAGE_BYTES): PageLimit {
  const average = Math.max(1, bytes / Math.max(1, rows));
  const chunks = Math.ceil(pageBytes / average);
  return { chunks: Math.min(MAX_PAGE_CHUNKS, Math.max(MIN_PAGE_CHUNKS, chunks)), bytes: pageBytes };
}

export interface ReadOptions {
  /**
   * Read the pages into memory kept for the read (see PageBuffer): a batch's payload bytes may be
   * overwritten once the next batch is pulled, so only for readers that copy what they keep, like
   * the file renderers (their ChunkSink copies every byte it yields).
   */
  reusePages?: boolean;
  /** Bytes per page (PAGE_BYTES by default; tests read in smaller pages). */
  pageBytes?: number;
}

/**
 * The stored events of a session, in recorded order, one batch per stored chunk (at most
 * MAX_PART_BYTES of payload, or one bigger event), read a page at a time so that memory stays
 * bounded whatever the session's size. The next page is read while the current one is consumed
 * (one page ahead, no more), so reading the database and writing the output overlap. Batches spare
 * the readers an await per event, and decode lazily (see decodeEvents). `types` selects event types
 * (all when omitted).
 */
export async function* readEventBatches(
  sessionId: string,
  types?: ReadonlySet<EventType>,
  options: ReadOptions = {},
): AsyncGenerator<Iterable<SessionEvent>> {
  // Two buffers: the page read ahead must not overwrite the one being consumed.
  const buffers: PageBuffer[] | undefined = options.reusePages ? [{ bytes: Buffer.alloc(0) }, { bytes: Buffer.alloc(0) }] : undefined;
  let pages = 0;
  const pageBytes = options.pageBytes ?? PAGE_BYTES;
  let limit: PageLimit = { chunks: FIRST_PAGE_CHUNKS, bytes: pageBytes };
  const read = (after?: ChunkRow) => readChunkPage(sessionId, after, limit, buffers?.[pages++ % 2]);
  let next: Promise<ChunkRow[]> | undefined = read();
  try {
    while (next) {
      const rows = await next;
      next = undefined;
      const bytes = rows.reduce((n, row) => n + row.data.length, 0);
      // A page cut short by neither limit was the last.
      if (rows.length > 0 && (rows.length === limit.chunks || bytes >= limit.bytes)) {
        limit = nextPageLimit(rows.length, bytes, pageBytes);
        next = read(rows.at(-1));
      }
      for (const row of rows) yield decodeEvents(row.data, types);
    }
  } finally {
    // A reader that stops early leaves the page read ahead to finish unobserved.
    next?.catch(() => {});
  }
}

/** readEventBatches, an event at a time. */
export async function* readEvents(sessionId: string, types?: ReadonlySet<EventType>): AsyncGenerator<SessionEvent> {
  for await (const batch of readEventBatches(sessionId, types)) yield* batch;
}
