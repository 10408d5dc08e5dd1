/*
 * npx tsx scripts/bench/footprint.ts: what reel's data costs PostgreSQL, for docs/scaling.md.
 * On a throwaway database (DATABASE_URL names the server, as for npm run bench), with reel's own
 * code in process: sessions appending small (1 KiB) calls and big (256 KiB) calls through the
 * group commit, and a bulk of stored sessions. Reports, per append and per payload byte, the WAL
 * written and the growth of session_event_chunks (heap, TOAST and index), and bytes per session
 * row. Sizes, not speeds: the load on the machine does not change them.
 */
import { openSession, appendSessionEvents, closeSession } from '../../src/sessions/ingest.ts';
import { operatorViewer } from '../../src/orgs.ts';
import { openMigratedDatabase } from '../../src/db/index.ts';
import { setDatabase } from '../../src/db/client.ts';
import { createBenchDatabase, insertBulkSessions, withPlainConnection, type BenchDatabase } from './db.ts';
import { fixedSizeCalls, terminalEvents, type BenchEvent } from './data.ts';
import os from 'node:os';
import fs from 'node:fs';
import path from 'node:path';

const LIMITS = { maxAppendBytes: 16 * 1024 * 1024, maxAppendEvents: 100_000 };

async function sizes(db: BenchDatabase) {
  return withPlainConnection(db, async (conn) => {
    const [row] = (await conn.query(
      `SELECT pg_current_wal_lsn() - '0/0'::pg_lsn AS wal,
              pg_total_relation_size('session_event_chunks') AS chunks,
              pg_total_relation_size('sessions') AS sessions`,
    )) as { wal: string; chunks: string; sessions: string }[];
    return { wal: Number(row!.wal), chunks: Number(row!.chunks), sessions: Number(row!.sessions) };
  });
}

/** `sessions` sessions appending `perSession` calls of `callBytes` at once; the bytes each step cost. */
async function appends(db: BenchDatabase, sessions: number, perSession: number, callBytes: number) {
  const viewer = operatorViewer(db.orgId);
  const events = terminalEvents(31);
  const calls = fixedSizeCalls(events, callBytes);
  const take = (): BenchEvent[] => calls.next().value as BenchEvent[];
  const ids = await Promise.all(
    Array.from({ length: sessions }, async () => (await openSession(viewer, { verb: 'CONNECT', type: 'custom', roleName: 'footprint' })).id),
  );
  const before = await sizes(db);
  let payload = 0;
  await Promise.all(
    ids.map(async (id) => {
      for (let seq = 0; seq < perSession; seq++) {
        const call = take();
        payload += call.reduce((n, e) => n + e.data.length, 0);
        const inputs = call.map((e) => ({ time: e.time, type: e.type, data: e.data.toString('base64') }));
        await appendSessionEvents(viewer, id, seq, inputs, LIMITS);
      }
    }),
  );
  const after = await sizes(db);
  for (const id of ids) await closeSession(viewer, id, null);
  const n = sessions * perSession;
  return {
    appends: n,
    payload,
    walPerAppend: (after.wal - before.wal) / n,
    walPerPayloadByte: (after.wal - before.wal) / payload,
    chunksPerPayloadByte: (after.chunks - before.chunks) / payload,
  };
}

const workDir = fs.mkdtempSync(path.join(os.tmpdir(), 'reel-footprint-'));
const db = await createBenchDatabase('postgres', process.env.DATABASE_URL || 'postgresql://postgres@127.0.0.1:5432/postgres', workDir);
const app = (await openMigratedDatabase({ databaseUrl: db.databaseUrl, dataDir: db.dataDir })).db;
setDatabase(app);
try {
  const f = (n: number, d = 2) => n.toLocaleString('en-US', { maximumFractionDigits: d });
  for (const [label, sessions, perSession, bytes] of [
    ['1 KiB appends, 16 sessions', 16, 500, 1024],
    ['256 KiB appends, 4 sessions', 4, 32, 256 * 1024],
  ] as const) {
    const r = await appends(db, sessions, perSession, bytes);
    console.log(
      `${label}: ${r.appends} appends, ${f(r.payload / 1e6)} MB payload; WAL ${f(r.walPerAppend, 0)} B per append ` +
        `(${f(r.walPerPayloadByte)} B per payload byte); session_event_chunks grew ${f(r.chunksPerPayloadByte)} B per payload byte`,
    );
  }
  const count = 100_000;
  const before = await sizes(db);
  await insertBulkSessions(db, count, () => {});
  const after = await sizes(db);
  console.log(`sessions: ${f((after.sessions - before.sessions) / count, 0)} B per stored session (heap, TOAST and 5 indexes; bulk rows as the query benchmark makes them)`);
} finally {
  await app.close();
  setDatabase(undefined);
  await db.drop();
  fs.rmSync(workDir, { recursive: true, force: true });
}
