import { database } from '../db/client.ts';
import type { SessionStatus } from '../generated/prisma/enums.ts';
import { isUuid } from '../uuid.ts';
import { chunkPageSql, copyOut, parseCopyRows, type ChunkKey, type PageLimit } from './chunk-storage.ts';

/*
 * Reading a session from an event index on, for live subscribers (spec §13): where event N is
 * stored, and the chunks after a point together with the session's status, as of one moment.
 */

/** A stored chunk with its place among the session's events. */
export interface IndexedChunk extends ChunkKey {
  /** Index of its first event among all of the session's events. */
  firstEvent: number;
  eventCount: number;
  data: Uint8Array;
}

/** The session as one statement saw it: its status, its event count, and the chunks asked for. */
export interface SessionTail {
  status: SessionStatus;
  eventCount: number;
  chunks: IndexedChunk[];
  /** Data bytes of the chunks. */
  bytes: number;
  /** Whether the limit cut the chunks short: more were stored at that moment. */
  cut: boolean;
}

export interface TailRequest {
  sessionId: string;
  after: ChunkKey | undefined;
}

/**
 * Where a read that must yield event `index` first starts: after the chunk before the one that holds
 * it (or, past the end, before the session's last chunk), and that chunk's first event.
 */
export async function locateEvent(sessionId: string, index: number): Promise<{ after: ChunkKey | undefined; firstEvent: number }> {
  const [row] = await database().withConnection((conn) =>
    conn.query<{ sequence: number; part: number; first_event: string }>(
      `SELECT sequence, part, first_event::text AS first_event FROM session_event_chunks
       WHERE session_id = $1::uuid AND first_event <= $2
       ORDER BY first_event DESC, sequence DESC, part DESC LIMIT 1`,
      [sessionId, index],
    ),
  );
  return row ? { after: { sequence: row.sequence, part: row.part - 1 }, firstEvent: Number(row.first_event) } : { after: undefined, firstEvent: 0 };
}

/**
 * For each request: its session's status and event count, and its chunks after `after` within
 * `limit`, all as of one snapshot (one statement for all the requests), so that the chunks read are
 * exactly those the count includes. Undefined for a session that does not exist (any more). Chunk
 * data are copies: a subscriber may keep one chunk without keeping the whole read alive.
 */
export async function readTails(requests: readonly TailRequest[], limit: PageLimit): Promise<(SessionTail | undefined)[]> {
  if (requests.length === 0) return [];
  const keys = requests.map(({ sessionId, after }, k) => {
    const from = after ?? { sequence: -1, part: -1 };
    if (!isUuid(sessionId) || !Number.isSafeInteger(from.sequence) || !Number.isSafeInteger(from.part)) {
      throw new Error('invalid tail request');
    }
    return `(${k}, '${sessionId}'::uuid, ${from.sequence}, ${from.part})`;
  });
  const page = chunkPageSql('f.id', { sequence: 'f.after_sequence', part: 'f.after_part' }, limit);
  const rows = parseCopyRows(
    await copyOut(
      `SELECT f.k, s.status::text, s.event_count, c.sequence, c.part, c.first_event, c.event_count, c.data
       FROM (VALUES ${keys.join(', ')}) AS f (k, id, after_sequence, after_part)
       JOIN sessions s ON s.id = f.id
       LEFT JOIN LATERAL ${page} AS c ON true
       ORDER BY f.k, c.sequence, c.part`,
    ),
  );
  const tails: (SessionTail | undefined)[] = requests.map(() => undefined);
  for (const [k, status, eventCount, sequence, part, firstEvent, chunkEvents, data] of rows) {
    const at = k!.readInt32BE(0);
    const tail = (tails[at] ??= {
      status: status!.toString('utf8') as SessionStatus,
      eventCount: Number(eventCount!.readBigInt64BE(0)),
      chunks: [],
      bytes: 0,
      cut: false,
    });
    if (!data) continue;
    tail.chunks.push({
      sequence: sequence!.readInt32BE(0),
      part: part!.readInt32BE(0),
      firstEvent: Number(firstEvent!.readBigInt64BE(0)),
      eventCount: chunkEvents!.readInt32BE(0),
      data: Uint8Array.prototype.slice.call(data),
    });
    tail.bytes += data.length;
  }
  for (const tail of tails) if (tail) tail.cut = tail.chunks.length === limit.chunks || tail.bytes >= limit.bytes;
  return tails;
}
