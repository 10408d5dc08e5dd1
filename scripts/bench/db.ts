import fs from 'node:fs';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { PGlite } from '@electric-sql/pglite';
import pg from 'pg';
import { createApiKey } from '../../src/auth/keys.ts';
import { setDatabase } from '../../src/db/client.ts';
import { openMigratedDatabase } from '../../src/db/index.ts';
import { lockDataDir } from '../../src/db/lock.ts';
import { createOrg } from '../../src/orgs.ts';
import { createServerDatabase } from '../../test/support/db.ts';
import type { DbKind } from './options.ts';

/** A throwaway database for one benchmark run, and what the server under test needs to open it. */
export interface BenchDatabase {
  kind: DbKind;
  dataDir: string;
  databaseUrl: string | undefined;
  /** Environment of the server under test. */
  env: Record<string, string>;
  orgId: string;
  keyId: string;
  key: string;
  serverVersion: string;
  settings: Record<string, string>;
  drop(): Promise<void>;
}

const SETTINGS = ['fsync', 'synchronous_commit', 'shared_buffers', 'wal_level', 'full_page_writes'];

/**
 * Creates the database, migrates it and creates the `bench` org and its ADMIN key, in process with
 * the app's own code (the server is not running yet: on PGlite the data directory is exclusive).
 */
export async function createBenchDatabase(kind: DbKind, serverUrl: string, workDir: string): Promise<BenchDatabase> {
  const dataDir = path.join(workDir, `data-${kind}`);
  fs.mkdirSync(dataDir, { recursive: true });
  let databaseUrl: string | undefined;
  let dropServerDb = async () => {};
  if (kind === 'postgres') {
    const database = await createServerDatabase(serverUrl, 'reel_bench');
    databaseUrl = database.url;
    dropServerDb = database.drop;
  }
  const db = (await openMigratedDatabase({ databaseUrl, dataDir })).db;
  setDatabase(db);
  let orgId: string;
  let key: { id: string; key: string };
  let serverVersion = '';
  const settings: Record<string, string> = {};
  try {
    orgId = (await createOrg('bench')).id;
    key = await createApiKey({ orgId, role: 'ADMIN', subject: 'bench', name: 'benchmark' });
    await db.withConnection(async (conn) => {
      serverVersion = (await conn.query<{ v: string }>('SELECT version() AS v'))[0]!.v;
      for (const s of SETTINGS) {
        settings[s] = (await conn.query<{ v: string }>(`SELECT current_setting('${s}') AS v`))[0]!.v;
      }
    });
  } finally {
    await db.close();
    setDatabase(undefined);
  }
  return {
    kind,
    dataDir,
    databaseUrl,
    env: {
      REEL_DATA_DIR: dataDir,
      ...(databaseUrl && { DATABASE_URL: databaseUrl }),
      REEL_LOG_LEVEL: 'silent',
      REEL_DOWNLOAD_SECRET: 'bench-download-secret-0123456789abcdef',
      // The inline scenario renders a whole 8 MiB session, whose JSON text is larger than the
      // default 8 MiB cap; the cap does not change the rendering's cost.
      REEL_MAX_INLINE_STREAM_BYTES: String(256 * 1024 * 1024),
      // The live scenario holds a thousand subscriptions of the one key on one server.
      REEL_MAX_SUBSCRIPTIONS_PER_KEY: '0',
    },
    orgId,
    keyId: key.id,
    key: key.key,
    serverVersion,
    settings,
    async drop() {
      await dropServerDb();
      fs.rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

/** Runs `fn` on a plain connection to the database; the server under test must be stopped on PGlite. */
export async function withPlainConnection<T>(
  db: BenchDatabase,
  fn: (conn: { query(sql: string, params?: unknown[]): Promise<unknown[]>; pglite?: PGlite }) => Promise<T>,
): Promise<T> {
  if (db.kind === 'postgres') {
    const client = new pg.Client({ connectionString: db.databaseUrl });
    await client.connect();
    try {
      return await fn({ query: async (sql, params) => (await client.query(sql, params)).rows });
    } finally {
      await client.end();
    }
  }
  const release = lockDataDir(db.dataDir);
  const pglite = await PGlite.create(path.join(db.dataDir, 'pgdata'));
  try {
    return await fn({ query: async (sql, params) => (await pglite.query(sql, params)).rows, pglite });
  } finally {
    await pglite.close();
    release();
  }
}

/** Stored sessions for the query scenario, by bulk SQL: ids are md5('reel-bench-' || n) as UUIDs, n = 1…count. */
export async function insertBulkSessions(db: BenchDatabase, count: number, log: (s: string) => void): Promise<number> {
  const started = performance.now();
  const step = 100_000;
  await withPlainConnection(db, async (conn) => {
    for (let from = 1; from <= count; from += step) {
      const to = Math.min(count, from + step - 1);
      await conn.query(
        `INSERT INTO sessions (id, org_id, status, verb, type, connection_subtype, role_name, resource_name,
           connection_tags, user_id, user_email, user_name, identity_type, start_date, end_date, exit_code,
           correlation_id, session_batch_id, metadata, metrics, guardrails_info, script, script_size,
           next_sequence, event_count, input_bytes, output_bytes, error_bytes)
         SELECT md5('reel-bench-' || g)::uuid, $1::uuid, 'DONE',
           (CASE WHEN g % 3 = 0 THEN 'CONNECT' ELSE 'EXEC' END)::"SessionVerb",
           'database', 'postgres', 'pg-prod-' || (g % 50), 'orders-db-' || (g % 20),
           jsonb_build_object('env', 'prod', 'team', 'team-' || (g % 10)),
           'user' || (g % 5000), 'user' || (g % 5000) || '@example.com', 'User ' || (g % 5000), 'USER',
           timestamptz '2024-01-01 00:00:00+00' + g * interval '20 seconds',
           timestamptz '2024-01-01 00:00:00+00' + g * interval '20 seconds' + (g % 600) * interval '1 second',
           0, 'corr-' || g, CASE WHEN g % 10 = 0 THEN 'batch-' || (g / 10) END,
           jsonb_build_object('client', 'psql', 'client_version', '16.2'),
           jsonb_build_object('event_size', 4096 + g % 10000, 'truncated', false),
           '[]'::jsonb,
           CASE WHEN g % 3 = 0 THEN NULL ELSE 'SELECT id, status FROM orders WHERE customer_id = ' || g || ';' END,
           CASE WHEN g % 3 = 0 THEN 0 ELSE octet_length('SELECT id, status FROM orders WHERE customer_id = ' || g || ';') END,
           1, 20 + g % 100, 200 + g % 1000, 4000 + g % 10000, 0
         FROM generate_series($2::int, $3::int) g`,
        [db.orgId, from, to],
      );
      if (count >= 200_000) log(`  sessions ${to.toLocaleString('en')}/${count.toLocaleString('en')}`);
    }
    await conn.query('VACUUM ANALYZE sessions');
  });
  return performance.now() - started;
}

export interface BaselineRead {
  ms: number;
  bytes: number;
  rows: number;
}

const PAGE_ROWS = 8;

/**
 * The download baseline: the session's stored chunk bytes read straight from the database and
 * discarded. PostgreSQL: a plain `pg` query, keyset pages of 8 chunks. PGlite: the fastest way out
 * of it, binary COPY to /dev/blob in pages of 8 chunks (a plain query decodes bytea from hex at
 * a few MB/s). The database is opened before the clock starts.
 */
export async function baselineRead(db: BenchDatabase, sessionId: string): Promise<BaselineRead> {
  return withPlainConnection(db, async (conn) => {
    let bytes = 0;
    let rows = 0;
    let after = { sequence: -1, part: -1 };
    const started = performance.now();
    for (;;) {
      let page: { sequence: number; part: number; length: number }[];
      if (conn.pglite) {
        const result = await conn.pglite.query(
          `COPY (SELECT sequence, part, data FROM session_event_chunks
                 WHERE session_id = '${sessionId}' AND (sequence, part) > (${after.sequence}, ${after.part})
                 ORDER BY sequence, part LIMIT ${PAGE_ROWS}) TO '/dev/blob' WITH (FORMAT binary)`,
        );
        page = result.blob ? parseCopy(Buffer.from(await result.blob.arrayBuffer())) : [];
      } else {
        const result = (await conn.query(
          `SELECT sequence, part, data FROM session_event_chunks
           WHERE session_id = $1 AND (sequence, part) > ($2, $3) ORDER BY sequence, part LIMIT ${PAGE_ROWS}`,
          [sessionId, after.sequence, after.part],
        )) as { sequence: number; part: number; data: Buffer }[];
        page = result.map((r) => ({ sequence: r.sequence, part: r.part, length: r.data.length }));
      }
      for (const r of page) bytes += r.length;
      rows += page.length;
      const last = page.at(-1);
      if (!last || page.length < PAGE_ROWS) break;
      after = { sequence: last.sequence, part: last.part };
    }
    return { ms: performance.now() - started, bytes, rows };
  });
}

function parseCopy(buf: Buffer): { sequence: number; part: number; length: number }[] {
  const rows: { sequence: number; part: number; length: number }[] = [];
  let at = 11 + 4;
  at += 4 + buf.readInt32BE(at);
  for (;;) {
    if (buf.readInt16BE(at) === -1) return rows;
    const sequence = buf.readInt32BE(at + 6);
    const part = buf.readInt32BE(at + 14);
    const length = buf.readInt32BE(at + 18);
    at += 22 + length;
    rows.push({ sequence, part, length });
  }
}

/** Bytes the chunks of a session take on the database (row data, after TOAST compression). */
export async function storedSize(db: BenchDatabase, sessionId: string): Promise<{ raw: number; stored: number }> {
  return withPlainConnection(db, async (conn) => {
    const [row] = (await conn.query(
      `SELECT coalesce(sum(octet_length(data)), 0)::text AS raw, coalesce(sum(pg_column_size(data)), 0)::text AS stored
       FROM session_event_chunks WHERE session_id = $1`,
      [sessionId],
    )) as { raw: string; stored: string }[];
    return { raw: Number(row!.raw), stored: Number(row!.stored) };
  });
}
