import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { PGlite } from '@electric-sql/pglite';
import { expect, it } from 'vitest';
import { migrate, MIGRATIONS_DIR, type SqlConnection } from '../../src/db/migrate.ts';

/*
 * Upgrading a database that holds sessions: migrations that derive a new column from what is stored.
 */

/** A database with the schema as it was before the migration named `suffix`; `upgrade` applies the rest. */
async function databaseBefore(suffix: string) {
  const db = await PGlite.create();
  const conn: SqlConnection = {
    query: async <T>(sql: string, params?: unknown[]) => (await db.query<T>(sql, params)).rows,
    exec: async (sql: string) => void (await db.exec(sql)),
  };
  // The migrations up to it, in a directory of their own.
  const all = fs.readdirSync(MIGRATIONS_DIR).filter((name) => fs.existsSync(path.join(MIGRATIONS_DIR, name, 'migration.sql'))).sort();
  const target = all.findIndex((name) => name.endsWith(suffix));
  expect(target).toBeGreaterThan(0);
  const before = fs.mkdtempSync(path.join(os.tmpdir(), 'reel-migrations-'));
  try {
    for (const name of all.slice(0, target)) fs.cpSync(path.join(MIGRATIONS_DIR, name), path.join(before, name), { recursive: true });
    await migrate(conn, before);
  } finally {
    fs.rmSync(before, { recursive: true, force: true });
  }
  await db.exec(`INSERT INTO orgs (id, name) VALUES ('00000000-0000-4000-8000-000000000001', 'o')`);
  return { db, upgrade: async () => expect(await migrate(conn)).toEqual(all.slice(target)) };
}

/** Inserts sessions with nothing but what every version requires. */
async function insertSessions(db: PGlite, ids: readonly string[]): Promise<void> {
  for (const id of ids) {
    await db.query(
      `INSERT INTO sessions (id, org_id, status, verb, type, role_name, start_date)
       VALUES ($1, '00000000-0000-4000-8000-000000000001', 'DONE', 'CONNECT', 'custom', 'r', now())`,
      [id],
    );
  }
}

it('chunk_first_event fills first_event for the chunks stored before it (what live subscriptions resume by)', async () => {
  const { db, upgrade } = await databaseBefore('_chunk_first_event');
  const sessions = ['00000000-0000-4000-8000-00000000000a', '00000000-0000-4000-8000-00000000000b'];
  await insertSessions(db, sessions);
  // Session a: calls of 3, 0 (an empty call) and 5 events, the last in two parts of 2 and 3; session b: one of 4.
  const chunks: [string, number, number, number][] = [
    [sessions[0]!, 0, 0, 3],
    [sessions[0]!, 1, 0, 0],
    [sessions[0]!, 2, 0, 2],
    [sessions[0]!, 2, 1, 3],
    [sessions[1]!, 0, 0, 4],
  ];
  for (const [id, sequence, part, events] of chunks) {
    await db.query(
      `INSERT INTO session_event_chunks (session_id, sequence, part, digest, event_count, payload_bytes, data)
       VALUES ($1, $2, $3, 'd', $4, 0, '\\x')`,
      [id, sequence, part, events],
    );
  }

  await upgrade();
  const rows = await db.query<{ session_id: string; sequence: number; part: number; first_event: string }>(
    'SELECT session_id, sequence, part, first_event::text AS first_event FROM session_event_chunks ORDER BY session_id, sequence, part',
  );
  expect(rows.rows.map((r) => [r.session_id, r.sequence, r.part, Number(r.first_event)])).toEqual([
    [sessions[0], 0, 0, 0],
    [sessions[0], 1, 0, 3],
    [sessions[0], 2, 0, 3],
    [sessions[0], 2, 1, 5],
    [sessions[1], 0, 0, 0],
  ]);
  await db.close();
});

it('chunk_time_range marks the sessions that hold chunks for the event-time backfill, and leaves their times unknown', async () => {
  const { db, upgrade } = await databaseBefore('_chunk_time_range');
  const [withChunks, withEmptyCall, none] = ['00000000-0000-4000-8000-00000000000a', '00000000-0000-4000-8000-00000000000b', '00000000-0000-4000-8000-00000000000c'];
  await insertSessions(db, [withChunks!, withEmptyCall!, none!]);
  for (const [id, events] of [[withChunks, 2], [withEmptyCall, 0]] as const) {
    await db.query(
      `INSERT INTO session_event_chunks (session_id, sequence, part, digest, event_count, payload_bytes, first_event, data)
       VALUES ($1, 0, 0, 'd', $2, 0, 0, '\\x')`,
      [id, events],
    );
  }
  await upgrade();
  const rows = await db.query<{ id: string; time_ordered: boolean; until_time: number | null }>('SELECT id, time_ordered, until_time FROM sessions ORDER BY id');
  expect(rows.rows).toEqual([
    { id: withChunks, time_ordered: false, until_time: null },
    { id: withEmptyCall, time_ordered: false, until_time: null },
    { id: none, time_ordered: true, until_time: null },
  ]);
  expect((await db.query('SELECT until_time FROM session_event_chunks WHERE until_time IS NOT NULL')).rows).toEqual([]);
  await db.close();
});
