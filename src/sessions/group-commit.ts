import { database } from '../db/client.ts';
import type { Database } from '../db/index.ts';
import { bytea, firstEvents } from './chunk-storage.ts';
import { notifyEvents } from './changes.ts';
import type { EncodedChunk } from './codec.ts';
import { appendTimes, firstTime, NO_EVENTS } from './event-times.ts';
import { chainSetSql } from '../integrity/chain.ts';

/*
 * Group commit for appends.
 *
 * A recorder's append is small (a keystroke echo, a line of output) and must be durable before it
 * is acknowledged. Stored one by one, each costs a statement, a round trip (on a small machine
 * the socket write is the largest single cost of an append) and a WAL flush. Instead, appends
 * that arrive together are stored together: one autocommit statement that advances the counters
 * of every session in the batch whose next sequence the append carries, and inserts their chunks.
 * A few batches run at once (BatchStore.maxInFlight); what arrives meanwhile forms the next batch,
 * so under load a batch carries as many appends as arrived during one commit, and when idle an
 * append waits for nothing but the end of the current event-loop turn.
 *
 * A session appears at most once per batch, and batches list their sessions in id order, which is
 * the order their rows are locked in when PostgreSQL joins the batch to `sessions` by primary key
 * (its plan for a few rows), so two batches do not wait for each other in a cycle; should a plan
 * ever lock otherwise, PostgreSQL breaks the deadlock by failing one batch, which then takes the
 * path of any failed batch, below. An append the batch did not
 * store (not its session's next sequence, a closed or unknown session, another org's) changes
 * nothing and answers undefined: the caller's transaction path then tells a retry, a gap, a
 * closed or unknown session apart. So does any error of the batch statement, which, being one
 * statement, stored all of the batch or none of it.
 */

/** Most appends in one batch. */
const MAX_BATCH_APPENDS = 64;
/** Chunk bytes past which a batch takes no more appends (a big append goes on its own). */
const MAX_BATCH_BYTES = 4 * 1024 * 1024;

/** What an append adds to its session's counters. */
export interface AppendCounts {
  events: number;
  inputBytes: number;
  outputBytes: number;
  errorBytes: number;
}

/** The session's counters after an append. */
export interface AppendedTotals {
  eventCount: number;
  eventSize: number;
}

/** What the group commits of this process did since it started (for tests, and for metrics). */
export const groupCommitCounts = {
  /** Batch statements that committed. */
  batches: 0,
  /** Appends they stored. */
  stored: 0,
  /** Appends handed to the transaction path: too big, not the next sequence, or a failed batch. */
  passedOn: 0,
};

interface PendingAppend {
  orgId: string;
  sessionId: string;
  chunks: readonly EncodedChunk[];
  counts: AppendCounts;
  bytes: number;
  done: (totals: AppendedTotals | undefined) => void;
}

/** How a database runs a batch. */
interface BatchStore {
  /** Runs `sql`; `name`, when given, names a statement of that exact text to prepare once per connection. */
  query<T>(sql: string, values: unknown[], name?: string): Promise<T[]>;
  /** Batches stored at once: each holds a connection while it commits. */
  maxInFlight: number;
  /** Larger appends take the transaction path, which moves their bytes faster. */
  maxAppendBytes: number;
  /** SQL for a chunk's bytes as the parameter `param` adds. */
  data(param: (value: unknown, type: string) => string, data: Uint8Array): string;
}

function batchStore(db: Database): BatchStore {
  if (db.pool) {
    const pool = db.pool;
    return {
      query: async <T>(text: string, values: unknown[], name?: string) => (await pool.query({ text, values, name })).rows as T[],
      maxInFlight: 4,
      maxAppendBytes: Infinity,
      // pg sends a Buffer as a binary parameter: the bytes as they are.
      data: (param, data) => param(bytea(data), 'bytea'),
    };
  }
  const pglite = db.pglite!;
  return {
    // In process, a statement's parse is no round trip to save.
    query: async <T>(sql: string, values: unknown[]) => (await pglite.query<T>(sql, values)).rows,
    // One in-process connection: a second batch would only queue inside PGlite, while waiting
    // here it takes on the appends that arrive meanwhile.
    maxInFlight: 1,
    // PGlite turns a bytea parameter into hex text one byte at a time in JavaScript; Node's hex
    // encoder is native. Hex text is fine for small appends, but binary COPY through /dev/blob
    // (the transaction path) moves big ones 3× faster (ingest of 256 KiB calls: 25.7 vs 7.7 MB/s).
    data: (param, data) => `decode(${param(bytea(data).toString('hex'), 'text')}, 'hex')`,
    maxAppendBytes: 64 * 1024,
  };
}

class GroupCommit {
  private queue: PendingAppend[] = [];
  private inFlight = 0;
  private scheduled = false;

  constructor(private readonly store: BatchStore) {}

  append(item: Omit<PendingAppend, 'done' | 'bytes'>): Promise<AppendedTotals | undefined> {
    const bytes = item.chunks.reduce((n, c) => n + c.data.length, 0);
    if (bytes > this.store.maxAppendBytes) {
      groupCommitCounts.passedOn++;
      return Promise.resolve(undefined);
    }
    return new Promise((resolve) => {
      this.queue.push({ ...item, bytes, done: resolve });
      this.schedule();
    });
  }

  private schedule(): void {
    if (this.scheduled || this.inFlight >= this.store.maxInFlight || this.queue.length === 0) return;
    // Appends whose requests were read in the same event-loop turn share a batch.
    this.scheduled = true;
    setImmediate(() => {
      this.scheduled = false;
      while (this.inFlight < this.store.maxInFlight && this.queue.length > 0) void this.run(this.takeBatch());
    });
  }

  /** The oldest appends that fit one batch, one per session. */
  private takeBatch(): PendingAppend[] {
    const batch: PendingAppend[] = [];
    const sessions = new Set<string>();
    const rest: PendingAppend[] = [];
    let bytes = 0;
    for (const item of this.queue) {
      const fits = batch.length === 0 || (batch.length < MAX_BATCH_APPENDS && bytes + item.bytes <= MAX_BATCH_BYTES);
      if (fits && !sessions.has(item.sessionId)) {
        batch.push(item);
        sessions.add(item.sessionId);
        bytes += item.bytes;
      } else {
        rest.push(item);
      }
    }
    this.queue = rest;
    return batch.sort((a, b) => (a.sessionId < b.sessionId ? -1 : a.sessionId > b.sessionId ? 1 : 0));
  }

  private async run(batch: PendingAppend[]): Promise<void> {
    this.inFlight++;
    let stored = new Map<string, AppendedTotals>();
    try {
      stored = await storeBatch(this.store, batch);
      groupCommitCounts.batches++;
    } catch {
      // Stored all or nothing; the transaction path finds out which, append by append.
    } finally {
      this.inFlight--;
      groupCommitCounts.stored += stored.size;
      groupCommitCounts.passedOn += batch.length - stored.size;
      for (const item of batch) item.done(stored.get(item.sessionId));
      this.schedule();
    }
  }
}

async function storeBatch(store: BatchStore, batch: readonly PendingAppend[]): Promise<Map<string, AppendedTotals>> {
  const values: unknown[] = [];
  const param = (value: unknown, type: string) => `$${values.push(value)}::${type}`;
  const appends = batch.map((a) => {
    // The append's own times; the session's are combined with them below (event-times.ts).
    const { after } = appendTimes(NO_EVENTS, a.chunks);
    return (
      `(${param(a.sessionId, 'uuid')}, ${param(a.orgId, 'uuid')}, ${param(a.chunks[0]!.sequence, 'int')}, ` +
      `${param(a.counts.events, 'bigint')}, ${param(a.counts.inputBytes, 'bigint')}, ` +
      `${param(a.counts.outputBytes, 'bigint')}, ${param(a.counts.errorBytes, 'bigint')}, ` +
      `${param(firstTime(a.chunks), 'float8')}, ${param(after.until, 'float8')}, ${param(after.ordered, 'bool')}, ` +
      `${param(a.chunks[0]!.digest, 'text')})`
    );
  });
  // A chunk's first event is the session's event count before the append, plus the events of the
  // append's parts before it.
  // A chunk's until_time is the latest time of the session before the append or of the append's
  // parts up to this one, whichever is later.
  const chunks = batch.flatMap((a) => {
    const offsets = firstEvents(a.chunks, 0);
    const { untilTimes } = appendTimes(NO_EVENTS, a.chunks);
    return a.chunks.map(
      (c, k) =>
        `(${param(a.sessionId, 'uuid')}, ${param(c.sequence, 'int')}, ${param(c.part, 'int')}, ${param(c.digest, 'text')}, ` +
        `${param(c.eventCount, 'int')}, ${param(c.payloadBytes, 'int')}, ${param(offsets[k], 'bigint')}, ` +
        `${param(untilTimes[k], 'float8')}, ${store.data(param, c.data)})`,
    );
  });
  const rows = await store.query<{ id: string; event_count: string; total: string }>(
    `WITH batch (id, org_id, sequence, events, input_bytes, output_bytes, error_bytes, first_time, max_time, ordered, digest) AS (
       VALUES ${appends.join(', ')}
     ), before AS (
       -- The sessions' rows locked first, in id order as every batch does, as they are now (a row
       -- another batch changed since this statement began is read as that batch left it): their
       -- latest time before the append.
       SELECT s.id, s.until_time FROM sessions s JOIN batch b ON s.id = b.id AND s.org_id = b.org_id ORDER BY s.id FOR UPDATE OF s
     ), next AS (
       UPDATE sessions s SET next_sequence = s.next_sequence + 1, event_count = s.event_count + b.events,
              input_bytes = s.input_bytes + b.input_bytes, output_bytes = s.output_bytes + b.output_bytes,
              error_bytes = s.error_bytes + b.error_bytes,
              until_time = GREATEST(s.until_time, b.max_time),
              time_ordered = s.time_ordered AND b.ordered AND (b.first_time IS NULL OR s.until_time IS NULL OR b.first_time >= s.until_time),
              ${chainSetSql('s', 'b.digest')}
       FROM batch b JOIN before ON before.id = b.id
       WHERE s.id = b.id AND s.org_id = b.org_id AND s.next_sequence = b.sequence AND s.status <> 'DONE'
       RETURNING s.id, s.event_count, s.input_bytes + s.output_bytes + s.error_bytes AS total,
                 s.event_count - b.events AS first_event, before.until_time AS until_before
     ), chunks AS (
       INSERT INTO session_event_chunks (session_id, sequence, part, digest, event_count, payload_bytes, first_event, until_time, data)
       SELECT c.session_id, c.sequence, c.part, c.digest, c.event_count, c.payload_bytes, next.first_event + c.event_offset,
              GREATEST(next.until_before, c.until_time), c.data
       FROM (VALUES ${chunks.join(', ')}) AS c (session_id, sequence, part, digest, event_count, payload_bytes, event_offset, until_time, data)
       JOIN next ON next.id = c.session_id
     )
     SELECT id::text AS id, event_count::text AS event_count, total::text AS total, ${notifyEvents('id', 'event_count')}
     FROM next`,
    values,
    // Small appends (one chunk each) make batches whose text depends only on their size: prepared
    // once per connection, PostgreSQL skips planning (~1 ms of a ~5 ms batch on the 2-core machine).
    chunks.length === batch.length ? `reel_append_batch_${batch.length}` : undefined,
  );
  return new Map(rows.map((r) => [r.id, { eventCount: Number(r.event_count), eventSize: Number(r.total) }]));
}

const groups = new WeakMap<Database, GroupCommit>();

/**
 * Stores an append when `sequence` (its chunks') is the open session's next, in a group commit;
 * undefined when it stored nothing, so that the caller takes its transaction path.
 */
export function appendIfNext(
  orgId: string,
  sessionId: string,
  chunks: readonly EncodedChunk[],
  counts: AppendCounts,
): Promise<AppendedTotals | undefined> {
  const db = database();
  let group = groups.get(db);
  if (!group) groups.set(db, (group = new GroupCommit(batchStore(db))));
  // Rows come back with ids in PostgreSQL's spelling: lower case.
  return group.append({ orgId, sessionId: sessionId.toLowerCase(), chunks, counts });
}
