/*
 * The small-appends baseline: the same stored rows reel writes for an append call, inserted one
 * row per transaction, durably, as fast as the database takes them, with as many clients as reel
 * has sessions.
 *
 * - PostgreSQL: pgbench (`-n -c N -j 2 -T S -f script`), the script inserting the row with its
 *   bytes as a bytea literal (so they cross the wire, as reel's do), `synchronous_commit=on`
 *   through PGOPTIONS; clients capped by the connections the server has free. Without a pgbench
 *   binary, the same inserts from N `pg` clients in the benchmark process.
 * - PGlite: one connection (the database is a single-connection, in-process engine), the same
 *   inserts in a loop in the benchmark process, after the server under test has let go of the
 *   data directory.
 *
 * Both sides are timed the same way: every insert's completion time and latency is recorded, the
 * first `warmupMs` are dropped, and the rate is what completed in the next `measureMs`.
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import pg from 'pg';
import { encodeAppend } from '../../src/sessions/codec.ts';
import type { BenchEvent } from './data.ts';
import { withPlainConnection, type BenchDatabase } from './db.ts';

export const TABLE = 'bench_append_baseline';
const SEQUENCE = `${TABLE}_seq`;

/** One stored row of an append call, as reel stores it in session_event_chunks. */
export interface BaselineRow {
  data: Buffer;
  digest: string;
  eventCount: number;
  payloadBytes: number;
}

/** The chunk row reel stores for one append call of these events (one part: the call is small). */
export function chunkRow(events: readonly BenchEvent[]): BaselineRow {
  const [chunk] = encodeAppend(0, events);
  return { data: Buffer.from(chunk!.data), digest: chunk!.digest, eventCount: chunk!.eventCount, payloadBytes: chunk!.payloadBytes };
}

export type BaselineKind = 'pgbench' | 'pg-loop' | 'pglite-loop';

export interface InsertWindow {
  kind: BaselineKind;
  clients: number;
  /** Inserts completed in the measured window. */
  inserts: number;
  elapsedMs: number;
  errors: number;
  firstError: string | undefined;
  /** Latencies of the inserts counted, ms. */
  latencies: number[];
  /** pgbench's own tps over its whole run (warm-up included), as a cross-check. */
  reportedTps?: number;
}

interface Completion {
  /** ms since the run's first transaction started. */
  end: number;
  ms: number;
}

function window(kind: BaselineKind, clients: number, done: Completion[], errors: number, firstError: string | undefined, warmupMs: number, measureMs: number): InsertWindow {
  const lastEnd = done.reduce((m, c) => Math.max(m, c.end), 0);
  const until = Math.min(warmupMs + measureMs, lastEnd);
  const counted = done.filter((c) => c.end >= warmupMs && c.end <= until);
  return { kind, clients, inserts: counted.length, elapsedMs: Math.max(0, until - warmupMs), errors, firstError, latencies: counted.map((c) => c.ms) };
}

// first_event grows with the sequence, as a session's does (it is indexed with the session id).
const insertSql = (sessionExpr: string, dataExpr: string, row: BaselineRow) =>
  `INSERT INTO ${TABLE} (session_id, sequence, part, digest, event_count, payload_bytes, first_event, data) ` +
  `SELECT ${sessionExpr}, n, 0, '${row.digest}', ${row.eventCount}, ${row.payloadBytes}, n * ${row.eventCount}, ${dataExpr} ` +
  `FROM (SELECT nextval('${SEQUENCE}') AS n) AS s`;

/** A client's session id: the client number in the last group of a fixed UUID. */
const clientUuid = (n: number) => `00000000-0000-4000-8000-${String(n).padStart(12, '0')}`;

/** The throwaway table: session_event_chunks' columns, defaults and primary key (no foreign key). */
export async function createBaselineTable(db: BenchDatabase): Promise<void> {
  await withPlainConnection(db, async (conn) => {
    await conn.query(`DROP TABLE IF EXISTS ${TABLE}`);
    await conn.query(`DROP SEQUENCE IF EXISTS ${SEQUENCE}`);
    await conn.query(`CREATE TABLE ${TABLE} (LIKE session_event_chunks INCLUDING ALL)`);
    await conn.query(`CREATE SEQUENCE ${SEQUENCE}`);
  });
}

export async function dropBaselineTable(db: BenchDatabase): Promise<void> {
  await withPlainConnection(db, async (conn) => {
    await conn.query(`DROP TABLE IF EXISTS ${TABLE}`);
    await conn.query(`DROP SEQUENCE IF EXISTS ${SEQUENCE}`);
  });
}

/** Client connections the server can still take, keeping `margin` for reel's pool and others. */
export async function freeConnections(db: BenchDatabase, margin = 10): Promise<{ free: number; maxConnections: number }> {
  return withPlainConnection(db, async (conn) => {
    const [row] = (await conn.query(
      `SELECT current_setting('max_connections')::int AS max,
              current_setting('max_connections')::int - current_setting('superuser_reserved_connections')::int
                - (SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'client backend')::int AS free`,
    )) as { max: number; free: number }[];
    return { free: Math.max(1, row!.free - margin), maxConnections: row!.max };
  });
}

/**
 * The pgbench binary: `explicit`, else on PATH, else the newest in /usr/lib/postgresql; undefined
 * if none, or if `explicit` is "none" (the pg insert loop instead).
 */
export function findPgbench(explicit: string): string | undefined {
  if (explicit === 'none') return undefined;
  if (explicit) {
    if (!fs.existsSync(explicit)) throw new Error(`--pgbench ${explicit}: no such file`);
    return explicit;
  }
  for (const dir of (process.env.PATH ?? '').split(path.delimiter)) {
    const file = path.join(dir, 'pgbench');
    if (dir && fs.existsSync(file)) return file;
  }
  try {
    const versions = fs.readdirSync('/usr/lib/postgresql').sort((a, b) => Number(b) - Number(a));
    for (const v of versions) {
      const file = path.join('/usr/lib/postgresql', v, 'bin/pgbench');
      if (fs.existsSync(file)) return file;
    }
  } catch {
    // no server packages
  }
  return undefined;
}

export function pgbenchVersion(bin: string): Promise<string> {
  return new Promise((resolve) => {
    const child = spawn(bin, ['--version'], { stdio: ['ignore', 'pipe', 'ignore'] });
    let out = '';
    child.stdout.on('data', (c: Buffer) => (out += c.toString()));
    child.on('error', () => resolve('?'));
    child.on('close', () => resolve(out.trim() || '?'));
  });
}

/**
 * pgbench with `clients` clients for warm-up + measured seconds, one INSERT per transaction, its
 * per-transaction log (`-l`) giving completion times and latencies for the same window as reel's.
 */
export async function pgbenchRun(options: {
  bin: string;
  db: BenchDatabase;
  row: BaselineRow;
  clients: number;
  warmupMs: number;
  measureMs: number;
  workDir: string;
}): Promise<InsertWindow> {
  const { bin, db, row, clients, warmupMs, measureMs } = options;
  const dir = fs.mkdtempSync(path.join(options.workDir, 'pgbench-'));
  try {
    const script = path.join(dir, 'insert.sql');
    const uuid = `('00000000-0000-4000-8000-' || lpad(:client_id::text, 12, '0'))::uuid`;
    fs.writeFileSync(script, `${insertSql(uuid, `'\\x${row.data.toString('hex')}'::bytea`, row)};\n`);
    // -T counts from pgbench's start, connections included: 2 s more, so that the window, counted
    // from the first transaction, is whole even when connecting many clients is slow.
    const seconds = Math.ceil((warmupMs + measureMs) / 1000) + 2;
    const args = ['-n', '-c', String(clients), '-j', String(Math.min(2, clients)), '-T', String(seconds), '-f', script, '-l', `--log-prefix=${path.join(dir, 'log')}`, db.databaseUrl!];
    const { code, stdout, stderr } = await new Promise<{ code: number; stdout: string; stderr: string }>((resolve, reject) => {
      const child = spawn(bin, args, { cwd: dir, env: { ...process.env, PGOPTIONS: '-c synchronous_commit=on' }, stdio: ['ignore', 'pipe', 'pipe'] });
      let out = '';
      let err = '';
      child.stdout.on('data', (c: Buffer) => (out += c.toString()));
      child.stderr.on('data', (c: Buffer) => (err += c.toString()));
      child.on('error', reject);
      child.on('close', (c) => resolve({ code: c ?? -1, stdout: out, stderr: err }));
    });
    const tps = Number(/^tps = ([\d.]+)/m.exec(stdout)?.[1] ?? Number.NaN);
    const failedLine = Number(/^number of failed transactions: (\d+)/m.exec(stdout)?.[1] ?? 0);
    // Per-transaction log lines: client_id transaction_no time_us script_no epoch_s epoch_us.
    const raw: { endUs: number; us: number }[] = [];
    let failedLogged = 0;
    for (const file of fs.readdirSync(dir).filter((f) => f.startsWith('log.'))) {
      for (const line of fs.readFileSync(path.join(dir, file), 'utf8').split('\n')) {
        const f = line.split(' ');
        if (f.length < 6) continue;
        const us = Number(f[2]);
        if (!Number.isFinite(us)) {
          failedLogged++;
          continue;
        }
        raw.push({ endUs: Number(f[4]) * 1e6 + Number(f[5]), us });
      }
    }
    const t0 = raw.reduce((m, c) => Math.min(m, c.endUs - c.us), Number.POSITIVE_INFINITY);
    const done = raw.map((c) => ({ end: (c.endUs - t0) / 1000, ms: c.us / 1000 }));
    const errors = Math.max(failedLine, failedLogged) + (code === 0 ? 0 : 1);
    const firstError = code === 0 ? undefined : `pgbench exited with ${code}: ${stderr.trim().split('\n').slice(-3).join(' | ')}`;
    if (raw.length === 0) throw new Error(`pgbench logged no transactions (exit ${code}): ${stderr.trim().slice(-500)}`);
    return { ...window('pgbench', clients, done, errors, firstError, warmupMs, measureMs), reportedTps: tps };
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

/** The pgbench stand-in: `clients` pg connections in the benchmark process, each inserting in a loop. */
export async function pgLoopRun(options: { db: BenchDatabase; row: BaselineRow; clients: number; warmupMs: number; measureMs: number }): Promise<InsertWindow> {
  const { db, row, clients, warmupMs, measureMs } = options;
  const conns = await Promise.all(
    Array.from({ length: clients }, async () => {
      const c = new pg.Client({ connectionString: db.databaseUrl, options: '-c synchronous_commit=on' });
      await c.connect();
      return c;
    }),
  );
  const sql = insertSql('$1::uuid', '$2::bytea', row);
  try {
    const loops = conns.map((c, k) => {
      const id = clientUuid(k + 1);
      return () => c.query(sql, [id, row.data]);
    });
    return window('pg-loop', clients, ...(await insertLoops(loops, warmupMs + measureMs)), warmupMs, measureMs);
  } finally {
    await Promise.all(conns.map((c) => c.end().catch(() => {})));
  }
}

/**
 * Runs each insert in a loop of its own, one after another, until `ms` have passed since the
 * first started: the completions (ends relative to that start), the failures and the first of them.
 */
async function insertLoops(
  inserts: readonly (() => Promise<unknown>)[],
  ms: number,
): Promise<[Completion[], number, string | undefined]> {
  const done: Completion[] = [];
  let errors = 0;
  let firstError: string | undefined;
  const started = performance.now();
  const deadline = started + ms;
  await Promise.all(
    inserts.map(async (insert) => {
      while (performance.now() < deadline) {
        const t = performance.now();
        try {
          await insert();
          const end = performance.now();
          done.push({ end: end - started, ms: end - t });
        } catch (err) {
          errors++;
          firstError ??= String(err);
        }
      }
    }),
  );
  return [done, errors, firstError];
}

/**
 * PGlite: the table is created, filled by one connection in a loop (each INSERT its own
 * transaction) and dropped, all while the server under test is stopped.
 */
export async function pgliteLoopRun(options: { db: BenchDatabase; row: BaselineRow; warmupMs: number; measureMs: number }): Promise<InsertWindow> {
  const { db, row, warmupMs, measureMs } = options;
  await createBaselineTable(db);
  try {
    return await withPlainConnection(db, async (conn) => {
      const sql = insertSql('$1::uuid', '$2::bytea', row);
      const id = clientUuid(1);
      const insert = () => conn.query(sql, [id, row.data]);
      return window('pglite-loop', 1, ...(await insertLoops([insert], warmupMs + measureMs)), warmupMs, measureMs);
    });
  } finally {
    await dropBaselineTable(db);
  }
}
