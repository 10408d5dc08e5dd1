import { readChunkPage } from './chunkstore.ts';
import { decodeEvents } from './codec.ts';
import type { EventKind, SessionEvent } from './event.ts';

/** Largest stored chunk; an append call bigger than this is split at event boundaries. */
export const MAX_PART_BYTES = 1024 * 1024;
// Chunks fetched per round trip while reading: bounds read memory to PAGE × MAX_PART_BYTES.
const PAGE = 4;

/**
 * The stored events of a session, in recorded order, read a few chunks at a time so memory
 * stays bounded whatever the session's size. `kinds` selects event types (all when omitted).
 */
export async function* readEvents(sessionId: string, kinds?: ReadonlySet<EventKind>): AsyncGenerator<SessionEvent> {
  let after: { sequence: number; part: number } | undefined;
  for (;;) {
    const rows = await readChunkPage(sessionId, after, PAGE);
    for (const row of rows) {
      for (const event of decodeEvents(row.data)) {
        if (!kinds || kinds.has(event.type)) yield event;
      }
    }
    const last = rows.at(-1);
    if (!last || rows.length < PAGE) return;
    after = { sequence: last.sequence, part: last.part };
  }
}
