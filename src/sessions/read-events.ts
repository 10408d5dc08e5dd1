import { queryRows, readChunkPage, windowStart, type ChunkKey, type ChunkRow, type PageBuffer, type PageLimit } from './chunk-storage.ts';
import { sessionDeletedWhileRead } from '../errors.ts';
import { decodeEvents } from './codec.ts';
import type { EventType, SessionEvent } from './event.ts';
import type { TimeWindow } from './time-window.ts';

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
  /** Only the events with from ≤ time < to (spec §14), read without the chunks before `from`. */
  window?: TimeWindow;
}

/** Where a windowed read starts and whether it may stop at the window's end. */
async function planWindow(sessionId: string, window: TimeWindow): Promise<{ after?: ChunkKey; empty: boolean; ordered: boolean }> {
  const start = window.from ? await windowStart(sessionId, window.from) : { empty: false };
  let ordered = false;
  if (!start.empty && window.to != null) {
    const [row] = await queryRows<{ time_ordered: boolean }>('SELECT time_ordered FROM sessions WHERE id = $1::uuid', [sessionId]);
    ordered = row?.time_ordered ?? false;
  }
  return { ...start, ordered };
}

/** The events of a batch within the window; `end.reached` once an event at or after `to` is seen in ordered times. */
function* inWindow(batch: Iterable<SessionEvent>, from: number, to: number, ordered: boolean, end: { reached: boolean }) {
  for (const e of batch) {
    if (e.time >= to) {
      if (ordered) {
        end.reached = true;
        return;
      }
    } else if (e.time >= from) {
      yield e;
    }
  }
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
  let reads = 0;
  const read = (after?: ChunkKey) => (reads++, readChunkPage(sessionId, after, limit, buffers?.[pages++ % 2]));
  const window = options.window;
  const plan = window ? await planWindow(sessionId, window) : { empty: false, ordered: false };
  if (plan.empty) return;
  const from = window?.from ?? 0;
  const to = window?.to ?? Infinity;
  const end = { reached: false };
  let next: Promise<ChunkRow[]> | undefined = read(plan.after);
  let rowsRead = 0;
  try {
    while (next) {
      const rows = await next;
      next = undefined;
      rowsRead += rows.length;
      const bytes = rows.reduce((n, row) => n + row.data.length, 0);
      // A page cut short by neither limit was the last.
      if (rows.length > 0 && (rows.length === limit.chunks || bytes >= limit.bytes)) {
        limit = nextPageLimit(rows.length, bytes, pageBytes);
        next = read(rows.at(-1));
      }
      for (const row of rows) {
        yield window ? inWindow(decodeEvents(row.data, types), from, to, plan.ordered, end) : decodeEvents(row.data, types);
        if (end.reached) return;
      }
    }
    // One page is one statement: whole as of its moment. A read of several pages, or one that found
    // nothing, may have met a deletion of the session (spec §15): it ends with an error, not short.
    if (reads > 1 || rowsRead === 0) await assertStillStored(sessionId);
  } finally {
    // A reader that stops early leaves the page read ahead to finish unobserved.
    next?.catch(() => {});
  }
}

async function assertStillStored(sessionId: string): Promise<void> {
  const [row] = await queryRows<{ one: number }>('SELECT 1 AS one FROM sessions WHERE id = $1::uuid', [sessionId]);
  if (!row) throw sessionDeletedWhileRead();
}

/** readEventBatches, an event at a time. */
export async function* readEvents(sessionId: string, types?: ReadonlySet<EventType>, window?: TimeWindow): AsyncGenerator<SessionEvent> {
  for await (const batch of readEventBatches(sessionId, types, { window })) yield* batch;
}
