import { database } from '../db/client.ts';
import type { Logger } from '../logger.ts';
import type { ChangeListener } from '../sessions/change-listener.ts';
import { copyOut, parseCopyRows, withChunkTx, type ChunkTx } from '../sessions/chunk-storage.ts';
import { decodeEvents } from '../sessions/codec.ts';
import { isPostgres } from '../sessions/inline-stream.ts';
import { isUuid } from '../uuid.ts';
import { decodeRuns, type Block } from './blocks.ts';
import { Extractor, initialState, openTextBlocks, readFrom, scriptBlocks, type IndexState, type OpenBlock } from './extract.ts';

/*
 * The indexer (spec §12): brings sessions' searchable text up to date with their events, after the
 * appends are acknowledged. Nothing is lost if a process dies between the two: a session is pending
 * as long as its progress row says fewer events than the session holds, and any server finds the
 * pending ones when it starts (and every SWEEP_MS), so sessions stored before search existed, or
 * imported, are indexed the same way. Appends announce themselves (sessions/changes.ts), which
 * wakes the indexer at once.
 *
 * A pass reads at most PASS_BYTES of a session's chunks, outside any transaction, then writes what
 * it made in one short one, if no one else (another replica) indexed the session meanwhile.
 */

/**
 * Chunk bytes one pass reads: what bounds the indexer's memory, whatever a session's size. PGlite
 * runs in this thread: its passes are smaller, so that requests are served between them.
 */
const PASS_BYTES = { postgres: 8 * 1024 * 1024, pglite: 1024 * 1024 };
/** How often a server looks for sessions whose notifications it missed. */
const SWEEP_MS = 30_000;
/** Pending sessions fetched per look. */
const SWEEP_BATCH = 1000;
/** Blocks per INSERT statement (10 parameters each). */
const INSERT_ROWS = 400;

type ProgressRow = {
  verb: 'EXEC' | 'CONNECT';
  type: string;
  connection_subtype: string | null;
  script: string | null;
  event_count: string;
  indexed: string | null;
  state: IndexState | null;
};

/** Sessions whose text is behind their events (or was never indexed), at most `limit`. */
async function pendingSessions(limit: number): Promise<string[]> {
  const rows = await database().withConnection((conn) =>
    conn.query<{ id: string }>(
      `SELECT s.id::text AS id FROM sessions s LEFT JOIN session_search_progress p ON p.session_id = s.id
       WHERE p.session_id IS NULL OR p.events < s.event_count LIMIT ${limit}`,
    ),
  );
  return rows.map((r) => r.id);
}

/**
 * The chunks holding events `from` up to `until` (excluded): those before `indexed` again (read
 * for the Postgres parser, which starts between two messages), then as many new ones as PASS_BYTES
 * holds (at least one).
 */
async function readPassChunks(sessionId: string, from: number, indexed: number, until: number): Promise<{ firstEvent: number; data: Buffer }[]> {
  const id = `'${sessionId}'::uuid`;
  const copy = await copyOut(
    `SELECT first_event, data FROM (
       SELECT first_event, data, sum(CASE WHEN first_event + event_count > ${indexed} THEN octet_length(data) ELSE 0 END)
                OVER (ORDER BY first_event, sequence, part) - octet_length(data) AS before
       FROM (SELECT first_event, event_count, sequence, part, data FROM session_event_chunks
             WHERE session_id = ${id} AND first_event < ${until}
               AND first_event >= (SELECT coalesce(max(first_event), 0) FROM session_event_chunks
                                   WHERE session_id = ${id} AND first_event <= ${from})
             ORDER BY first_event, sequence, part LIMIT 8192) AS next
     ) AS page WHERE before < ${PASS_BYTES[database().kind]} ORDER BY first_event, before`,
  );
  return parseCopyRows(copy).map(([first, data]) => ({ firstEvent: Number(first!.readBigInt64BE(0)), data: data! }));
}

/** The stored blocks under way that a pass takes up (extract.ts). */
async function readOpenBlocks(sessionId: string, state: IndexState): Promise<Partial<Record<number, OpenBlock>>> {
  const wanted = openTextBlocks(state);
  if (wanted.length === 0) return {};
  const rows = await database().withConnection((conn) =>
    conn.query<{ source: number; text: string; runs: Uint8Array }>(
      // A leading character on the text: PGlite drops a U+FEFF that starts a text value it returns.
      `SELECT source, '>' || text AS text, runs FROM session_search_blocks
       WHERE session_id = $1::uuid AND (source, block) IN (${wanted.map((w) => `(${w.source}, ${w.block})`).join(', ')})`,
      [sessionId],
    ),
  );
  return Object.fromEntries(rows.map((r) => [r.source, { text: r.text.slice(1), runs: decodeRuns(r.runs) }]));
}

async function insertBlocks(tx: ChunkTx, sessionId: string, blocks: readonly Block[]): Promise<void> {
  for (let i = 0; i < blocks.length; i += INSERT_ROWS) {
    const rows = blocks.slice(i, i + INSERT_ROWS);
    const values = rows.map((_, k) => `($1, ${Array.from({ length: 9 }, (_, j) => `$${2 + k * 9 + j}`).join(', ')})`);
    await tx.query(
      `INSERT INTO session_search_blocks (session_id, source, block, first_unit, min_time, max_time, text, folded, trigrams, runs)
       VALUES ${values.join(', ')}`,
      [sessionId, ...rows.flatMap((b) => [b.source, b.block, b.firstUnit, b.minTime, b.maxTime, b.text, b.folded, b.trigrams, b.runs])],
    );
  }
}

/**
 * One pass over a session: indexes what PASS_BYTES of its unindexed events hold. True when more is
 * left to do (more events, or another process wrote first and this pass threw its work away).
 */
export async function indexSession(sessionId: string): Promise<boolean> {
  if (!isUuid(sessionId)) return false;
  // A pass is a chain of promises that, on PGlite, never waits for I/O: each starts on a turn of
  // the event loop of its own, so that requests are served between passes.
  await new Promise((resolve) => setImmediate(resolve));
  const [row] = await database().withConnection((conn) =>
    conn.query<ProgressRow>(
      `SELECT s.verb, s.type, s.connection_subtype, '>' || s.script AS script, s.event_count::text AS event_count,
              p.events::text AS indexed, p.state
       FROM sessions s LEFT JOIN session_search_progress p ON p.session_id = s.id WHERE s.id = $1::uuid`,
      [sessionId],
    ),
  );
  if (!row) return false; // deleted
  const eventCount = Number(row.event_count);
  const indexed = row.indexed === null ? undefined : Number(row.indexed);
  if (indexed !== undefined && indexed >= eventCount) return false;

  const kind = { verb: row.verb, postgres: isPostgres({ type: row.type, connectionSubtype: row.connection_subtype }) };
  const state = row.state ?? initialState(kind);
  // The script comes with a leading character (PGlite drops a U+FEFF that starts a text value).
  const blocks = indexed === undefined && row.script ? scriptBlocks(row.script.slice(1)) : [];
  const extractor = new Extractor(state, row.state ? await readOpenBlocks(sessionId, state) : {});
  let upTo = indexed ?? 0;
  const from = readFrom(state);
  if (eventCount > upTo) {
    for (const chunk of await readPassChunks(sessionId, from, upTo, eventCount)) {
      let index = chunk.firstEvent;
      for (const event of decodeEvents(chunk.data)) {
        if (index >= eventCount) break;
        extractor.push(index++, event);
      }
      upTo = Math.max(upTo, index);
    }
  }
  upTo = Math.min(upTo, eventCount);
  const out = extractor.end(upTo);
  blocks.push(...out.blocks);

  const written = await withChunkTx(async (tx) => {
    // The session's row first, as a deletion takes it (then its progress and blocks, by cascade):
    // the same order, so the two wait for each other instead of deadlocking. Gone: nothing to write.
    const [session] = await tx.query(`SELECT 1 FROM sessions WHERE id = $1::uuid FOR KEY SHARE`, [sessionId]);
    if (!session) return true;
    // Whoever indexed the session last must be the one this pass read after.
    const [progress] = await tx.query<{ events: string }>(
      `SELECT events::text AS events FROM session_search_progress WHERE session_id = $1::uuid FOR UPDATE`,
      [sessionId],
    );
    if (indexed === undefined) {
      if (progress) return false;
      const inserted = await tx.query(
        `INSERT INTO session_search_progress (session_id, events, state) VALUES ($1::uuid, $2, $3::jsonb)
         ON CONFLICT (session_id) DO NOTHING RETURNING session_id`,
        [sessionId, upTo, JSON.stringify(out.state)],
      );
      if (inserted.length === 0) return false;
    } else {
      if (!progress || Number(progress.events) !== indexed) return false;
      await tx.query(`UPDATE session_search_progress SET events = $2, state = $3::jsonb WHERE session_id = $1::uuid`, [
        sessionId,
        upTo,
        JSON.stringify(out.state),
      ]);
    }
    for (const [source, block] of Object.entries(out.from)) {
      await tx.query(`DELETE FROM session_search_blocks WHERE session_id = $1::uuid AND source = $2 AND block >= $3`, [
        sessionId,
        Number(source),
        block,
      ]);
    }
    await insertBlocks(tx, sessionId, blocks);
    return true;
  });
  return !written || upTo < eventCount;
}

/**
 * Indexes every pending session, one pass after another, until none is left (tests, and commands
 * run without a server: `reel import`, `reel migrate`, `reel search`). Returns the passes made.
 */
export async function indexPendingSessions(): Promise<number> {
  let passes = 0;
  for (;;) {
    const ids = await pendingSessions(SWEEP_BATCH);
    if (ids.length === 0) return passes;
    for (const id of ids) {
      do passes++;
      while (await indexSession(id));
    }
  }
}

/**
 * A server's indexer: sessions announced as changed are indexed at once (a pass at a time, sessions
 * in turn, so that a 256 MiB session does not hold back a small one), and pending ones are looked
 * for at start, after the notification connection was lost, and every SWEEP_MS. One pass at a time:
 * measured on PostgreSQL in the benchmark's ingest windows, four at once indexed 1.7× as fast but
 * appends then ran at 0.34× their speed without indexing, against ~0.5× with one; PGlite runs in
 * this thread anyway.
 */
export class SearchIndexer {
  readonly #queue = new Set<string>();
  #running: Promise<void> | undefined;
  #sweepAgain = false;
  #closed = false;
  readonly #timer: NodeJS.Timeout;

  private constructor(private readonly logger: Logger) {
    this.#timer = setInterval(() => this.sweep(), SWEEP_MS).unref();
  }

  static start(changes: ChangeListener, logger: Logger): SearchIndexer {
    const indexer = new SearchIndexer(logger);
    changes.add({ changed: (change) => change.deleted || indexer.enqueue(change.sessionId), missed: () => indexer.sweep() });
    indexer.sweep();
    return indexer;
  }

  /** Sessions queued for a pass on this server (a view of the backlog: other replicas keep their own). */
  get pending(): number {
    return this.#queue.size;
  }

  enqueue(sessionId: string): void {
    if (this.#closed) return;
    this.#queue.add(sessionId);
    this.#run();
  }

  /** Looks for pending sessions (the queue runs them). */
  sweep(): void {
    this.#sweepAgain = true;
    this.#run();
  }

  /** Stops after the pass under way. */
  async close(): Promise<void> {
    this.#closed = true;
    clearInterval(this.#timer);
    await this.#running;
  }

  #run(): void {
    if (this.#running || this.#closed) return;
    this.#running = this.#work().finally(() => {
      this.#running = undefined;
      // Something may have arrived after the last look at the queue.
      if (this.#queue.size > 0 || this.#sweepAgain) this.#run();
    });
  }

  async #work(): Promise<void> {
    while (!this.#closed) {
      if (this.#queue.size === 0) {
        if (!this.#sweepAgain) return;
        await this.#look();
        if (this.#queue.size === 0) return;
      }
      const [id] = this.#queue;
      this.#queue.delete(id!);
      try {
        if (await indexSession(id!)) this.#queue.add(id!);
      } catch (err) {
        // Left pending: the next look finds it again.
        this.logger.warn({ err, sessionId: id }, 'search: indexing a session failed; it stays pending');
      }
    }
  }

  async #look(): Promise<void> {
    this.#sweepAgain = false;
    try {
      const ids = await pendingSessions(SWEEP_BATCH);
      for (const id of ids) this.#queue.add(id);
      if (ids.length === SWEEP_BATCH) this.#sweepAgain = true;
    } catch (err) {
      this.logger.warn({ err }, 'search: looking for sessions to index failed; trying again at the next look');
    }
  }
}
