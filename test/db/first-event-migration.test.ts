import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { PGlite } from '@electric-sql/pglite';
import { expect, it } from 'vitest';
import { migrate, MIGRATIONS_DIR, type SqlConnection } from '../../src/db/migrate.ts';

/*
 * Upgrading a database that holds sessions: the migration that adds session_event_chunks.first_event
 * fills it for every chunk stored before it, as the index of the chunk's first event among its
 * session's events (what live subscriptions resume by).
 */

it('fills first_event for the chunks stored before it', async () => {
  const db = await PGlite.create();
  const conn: SqlConnection = {
    query: async <T>(sql: string, params?: unknown[]) => (await db.query<T>(sql, params)).rows,
    exec: async (sql: string) => void (await db.exec(sql)),
  };
  // The schema as it was before the migration: the migrations up to it, in a directory of their own.
  const all = fs.readdirSync(MIGRATIONS_DIR).filter((name) => fs.existsSync(path.join(MIGRATIONS_DIR, name, 'migration.sql'))).sort();
  const target = all.findIndex((name) => name.endsWith('_chunk_first_event'));
  expect(target).toBeGreaterThan(0);
  const before = fs.mkdtempSync(path.join(os.tmpdir(), 'reel-migrations-'));
  try {
    for (const name of all.slice(0, target)) fs.cpSync(path.join(MIGRATIONS_DIR, name), path.join(before, name), { recursive: true });
    await migrate(conn, before);
  } finally {
    fs.rmSync(before, { recursive: true, force: true });
  }

  await db.exec(`INSERT INTO orgs (id, name) VALUES ('00000000-0000-4000-8000-000000000001', 'o')`);
  const sessions = ['00000000-0000-4000-8000-00000000000a', '00000000-0000-4000-8000-00000000000b'];
  for (const id of sessions) {
    await db.query(
      `INSERT INTO sessions (id, org_id, status, verb, type, role_name, start_date)
       VALUES ($1, '00000000-0000-4000-8000-000000000001', 'DONE', 'CONNECT', 'custom', 'r', now())`,
      [id],
    );
  }
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

  expect(await migrate(conn)).toEqual([all[target]!, ...all.slice(target + 1)]);
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
