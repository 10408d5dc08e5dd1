import type { Transaction } from '@electric-sql/pglite';
import { to as copyTo } from 'pg-copy-streams';
import { database } from '../db/client.ts';
import { isUuid } from '../uuid.ts';
import type { EncodedChunk } from './codec.ts';

/*
 * Event chunks move as raw SQL beside Prisma: bytea through Prisma's PGlite adapter crawls (hex text
 * converted in JavaScript), while PGlite's binary COPY through its /dev/blob device is 10–100× faster.
 * On PostgreSQL, parameterised statements for writes and binary COPY for reads.
 */

export interface ChunkRow {
  sequence: number;
  part: number;
  data: Uint8Array;
}

/** The statements an append runs inside one transaction. */
export interface ChunkTx {
  query<T>(sql: string, params?: unknown[]): Promise<T[]>;
  /**
   * Inserts consecutive chunks of a session; `firstEvent` is the index of the first one's first
   * event, `untilTimes` each one's until_time (event-times.ts).
   */
  insertChunks(sessionId: string, chunks: readonly EncodedChunk[], firstEvent: number, untilTimes: readonly (number | null)[]): Promise<void>;
}

/** The first event index of each of consecutive chunks, the first starting at `firstEvent`. */
export function firstEvents(chunks: readonly EncodedChunk[], firstEvent: number): number[] {
  let next = firstEvent;
  return chunks.map((c) => {
    const first = next;
    next += c.eventCount;
    return first;
  });
}

// ---- PGlite binary COPY -------------------------------------------------------------------------

const COPY_SIGNATURE = Buffer.from('PGCOPY\n\xff\r\n\0', 'latin1');

/** A chunk's bytes as the Buffer pg sends as a binary bytea parameter, without a copy. */
export const bytea = (data: Uint8Array) => Buffer.from(data.buffer, data.byteOffset, data.byteLength);

function uuidBytes(uuid: string): Buffer {
  return Buffer.from(uuid.replace(/-/g, ''), 'hex');
}

/** Rows of session_event_chunks in PostgreSQL's binary COPY format. */
function copyRows(sessionId: string, chunks: readonly EncodedChunk[], firstEvent: number, untilTimes: readonly (number | null)[]): Blob {
  const id = uuidBytes(sessionId);
  const parts: Uint8Array<ArrayBuffer>[] = [COPY_SIGNATURE, Buffer.alloc(8)];
  const firsts = firstEvents(chunks, firstEvent);
  chunks.forEach((c, k) => {
    const digest = Buffer.from(c.digest, 'utf8');
    const until = untilTimes[k] ?? null;
    const head = Buffer.alloc(2 + (4 + 16) + 2 * (4 + 4) + (4 + digest.length) + 2 * (4 + 4) + (4 + 8) + (4 + (until === null ? 0 : 8)) + 4);
    let at = head.writeInt16BE(9, 0);
    at = head.writeInt32BE(16, at);
    at += id.copy(head, at);
    for (const n of [c.sequence, c.part]) {
      at = head.writeInt32BE(4, at);
      at = head.writeInt32BE(n, at);
    }
    at = head.writeInt32BE(digest.length, at);
    at += digest.copy(head, at);
    for (const n of [c.eventCount, c.payloadBytes]) {
      at = head.writeInt32BE(4, at);
      at = head.writeInt32BE(n, at);
    }
    at = head.writeInt32BE(8, at);
    at = head.writeBigInt64BE(BigInt(firsts[k]!), at);
    if (until === null) {
      at = head.writeInt32BE(-1, at);
    } else {
      at = head.writeInt32BE(8, at);
      at = head.writeDoubleBE(until, at);
    }
    head.writeInt32BE(c.data.length, at);
    parts.push(head, c.data);
  });
  parts.push(Buffer.from([0xff, 0xff]));
  return new Blob(parts);
}

/**
 * The rows of a binary COPY, each a list of its fields: views into `buf` (no copies), null for NULL.
 * Readers decode the fields they asked for (int4 and int8 big-endian, text as UTF-8, bytea as is).
 */
export function parseCopyRows(buf: Buffer): (Buffer | null)[][] {
  const rows: (Buffer | null)[][] = [];
  let at = COPY_SIGNATURE.length + 4;
  at += 4 + buf.readInt32BE(at);
  for (;;) {
    const count = buf.readInt16BE(at);
    at += 2;
    if (count === -1) return rows;
    const fields: (Buffer | null)[] = [];
    for (let k = 0; k < count; k++) {
      const length = buf.readInt32BE(at);
      at += 4;
      if (length < 0) {
        fields.push(null);
      } else {
        fields.push(buf.subarray(at, at + length));
        at += length;
      }
    }
    rows.push(fields);
  }
}

/** Parses a binary COPY of (sequence int4, part int4, data bytea) rows. */
function parseChunkCopy(buf: Buffer): ChunkRow[] {
  return parseCopyRows(buf).map(([sequence, part, data]) => ({
    sequence: sequence!.readInt32BE(0),
    part: part!.readInt32BE(0),
    data: data!,
  }));
}

function pgliteTx(tx: Transaction): ChunkTx {
  return {
    async query<T>(sql: string, params?: unknown[]) {
      return (await tx.query<T>(sql, params)).rows;
    },
    async insertChunks(sessionId, chunks, firstEvent, untilTimes) {
      await tx.query(
        `COPY session_event_chunks (session_id, sequence, part, digest, event_count, payload_bytes, first_event, until_time, data)
         FROM '/dev/blob' WITH (FORMAT binary)`,
        [],
        { blob: copyRows(sessionId, chunks, firstEvent, untilTimes) },
      );
    },
  };
}

// ---- the two backends ---------------------------------------------------------------------------

/** Runs `fn` in one transaction on the process's database; rolled back when it throws. */
export async function withChunkTx<T>(fn: (tx: ChunkTx) => Promise<T>): Promise<T> {
  const db = database();
  if (db.pglite) return db.pglite.transaction((tx) => fn(pgliteTx(tx)));
  const client = await db.pool!.connect();
  try {
    await client.query('BEGIN');
    const result = await fn({
      async query<T>(sql: string, params?: unknown[]) {
        return (await client.query(sql, params)).rows as T[];
      },
      async insertChunks(sessionId, chunks, firstEvent, untilTimes) {
        const firsts = firstEvents(chunks, firstEvent);
        const values = chunks.map((_, i) => `($1, ${[2, 3, 4, 5, 6, 7, 8, 9].map((k) => `$${i * 8 + k}`).join(', ')})`);
        await client.query(
          `INSERT INTO session_event_chunks (session_id, sequence, part, digest, event_count, payload_bytes, first_event, until_time, data)
           VALUES ${values.join(', ')}`,
          [
            sessionId,
            ...chunks.flatMap((c, k) => [c.sequence, c.part, c.digest, c.eventCount, c.payloadBytes, firsts[k], untilTimes[k] ?? null, bytea(c.data)]),
          ],
        );
      },
    });
    await client.query('COMMIT');
    return result;
  } catch (err) {
    await client.query('ROLLBACK').catch(() => {});
    throw err;
  } finally {
    client.release();
  }
}

/** The rows of one statement on the process's database. */
export async function queryRows<T>(sql: string, params: unknown[] = []): Promise<T[]> {
  const db = database();
  if (db.pglite) return (await db.pglite.query<T>(sql, params)).rows;
  return (await db.pool!.query(sql, params)).rows as T[];
}

/**
 * Where a reading of the events at or after `from` seconds starts (spec §14 windows), found through
 * the (session_id, until_time, sequence, part) index without reading any chunk: the first chunk
 * whose until_time reaches `from` (until_time never decreases from chunk to chunk, so every chunk
 * before it holds only earlier events), or the first chunk stored before until_time existed, which
 * is read like any other (its times are unknown here). `after` is the key to read after, undefined
 * to read from the first chunk; `empty` when no chunk can hold such an event.
 */
export async function windowStart(sessionId: string, from: number): Promise<{ after?: ChunkKey; empty: boolean }> {
  const rows = await queryRows<{ sequence: number; part: number }>(
    `(SELECT sequence, part FROM session_event_chunks WHERE session_id = $1::uuid AND until_time IS NULL
      ORDER BY sequence, part LIMIT 1)
     UNION ALL
     (SELECT sequence, part FROM session_event_chunks WHERE session_id = $1::uuid AND until_time >= $2
      ORDER BY until_time, sequence, part LIMIT 1)`,
    [sessionId, from],
  );
  if (rows.length === 0) return { empty: true };
  const first = rows.reduce((a, b) => (b.sequence < a.sequence || (b.sequence === a.sequence && b.part < a.part) ? b : a));
  // The key just before the first chunk: (sequence, part − 1) sorts after every chunk before it.
  return { after: { sequence: first.sequence, part: first.part - 1 }, empty: false };
}

/**
 * Memory a reader lends to readChunkPage on PostgreSQL: each page is read into it, growing it when
 * needed, so a long read allocates one page's worth instead of one per page (pages live long enough
 * to be collected only by major GCs). The previous page's rows are overwritten. (PGlite hands each
 * page over as a Blob of its own; reading that into the buffer measured no better.)
 */
export interface PageBuffer {
  bytes: Buffer;
}

/** How much one page of chunks may hold. */
export interface PageLimit {
  /** Most chunks in a page. */
  chunks: number;
  /**
   * Bytes of chunk data a page fills: chunks are added while those before them hold fewer, so a
   * page holds less than this plus one chunk (and always at least one chunk).
   */
  bytes: number;
}

/** Where a read resumes: after this chunk (every chunk when undefined). */
export interface ChunkKey {
  sequence: number;
  part: number;
}

/**
 * The chunks of a session after (sequence, part), in order, up to `limit`; into `page` when given.
 * The byte limit is applied by the database, from the sizes it knows without reading the data.
 */
export async function readChunkPage(
  sessionId: string,
  after: ChunkKey | undefined,
  limit: PageLimit,
  page?: PageBuffer,
): Promise<ChunkRow[]> {
  if (!isUuid(sessionId)) throw new Error('invalid chunk page request');
  const rows = `SELECT sequence, part, data FROM ${chunkPageSql(`'${sessionId}'::uuid`, after, limit)} AS page ORDER BY sequence, part`;
  return parseChunkCopy(await copyOut(rows, page));
}

/**
 * SQL for one page of a session's chunks (all their columns, and `before`, the data bytes of the
 * page's chunks before each): the chunks after `after` (SQL expressions, or every chunk), the next
 * `limit.chunks` first, then those that start within `limit.bytes` (octet_length of a stored bytea
 * reads its header, not its TOASTed data: the rows left out are never read). COPY takes no
 * parameters: every value interpolated is validated here, or is SQL of the caller's.
 */
export function chunkPageSql(sessionIdSql: string, after: ChunkKey | { sequence: string; part: string } | undefined, limit: PageLimit): string {
  const from = after ?? { sequence: -1, part: -1 };
  const numbers = [limit.chunks, limit.bytes, ...(typeof from.sequence === 'number' ? [from.sequence, from.part] : [])];
  if (!numbers.every((n) => Number.isSafeInteger(n))) throw new Error('invalid chunk page request');
  return `(SELECT * FROM (
            SELECT *, sum(octet_length(data)) OVER (ORDER BY sequence, part) - octet_length(data) AS before
            FROM (SELECT * FROM session_event_chunks
                  WHERE session_id = ${sessionIdSql} AND (sequence, part) > (${from.sequence}, ${from.part})
                  ORDER BY sequence, part LIMIT ${limit.chunks}) AS next
          ) AS page WHERE before < ${limit.bytes})`;
}

/**
 * The rows of a query, in PostgreSQL's binary COPY format (parse them with parseCopyRows); into
 * `page` when given. bytea through a plain query arrives as hex text (twice the bytes, then a
 * string, then a copy; on PGlite a JavaScript loop); binary COPY hands over the bytes as they are.
 */
export async function copyOut(query: string, page?: PageBuffer): Promise<Buffer> {
  const db = database();
  if (db.pglite) {
    const result = await db.pglite.query(`COPY (${query}) TO '/dev/blob' WITH (FORMAT binary)`);
    return result.blob ? Buffer.from(await result.blob.arrayBuffer()) : EMPTY_COPY;
  }
  const client = await db.pool!.connect();
  try {
    const copy = client.query(copyTo(`COPY (${query}) TO STDOUT WITH (FORMAT binary)`));
    if (!page) {
      const pieces: Buffer[] = [];
      for await (const piece of copy) pieces.push(piece as Buffer);
      return Buffer.concat(pieces);
    }
    let length = 0;
    for await (const piece of copy as AsyncIterable<Buffer>) {
      if (length + piece.length > page.bytes.length) {
        const grown = Buffer.allocUnsafeSlow(Math.max(2 * page.bytes.length, length + piece.length));
        page.bytes.copy(grown, 0, 0, length);
        page.bytes = grown;
      }
      length += piece.copy(page.bytes, length);
    }
    return page.bytes.subarray(0, length);
  } finally {
    client.release();
  }
}

/** A COPY of no rows: what PGlite's empty result stands for. */
const EMPTY_COPY = Buffer.concat([COPY_SIGNATURE, Buffer.alloc(8), Buffer.from([0xff, 0xff])]);
