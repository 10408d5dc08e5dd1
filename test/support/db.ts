import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { templateDir } from './template.ts';

/**
 * Where tests put their database. By default an embedded PGlite in a fresh temp directory (a copy of
 * the migrated template the global setup builds); with
 * REEL_TEST_DATABASE_URL (a PostgreSQL server URL, e.g. postgresql://postgres@127.0.0.1:5432/postgres)
 * each test file gets a database of its own on that server, dropped afterwards.
 */
export interface TestDatabase {
  kind: 'pglite' | 'postgres';
  databaseUrl: string | undefined;
  dataDir: string;
  drop(): Promise<void>;
}

export const serverUrl = process.env.REEL_TEST_DATABASE_URL || undefined;

export async function createTestDatabase(): Promise<TestDatabase> {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'reel-test-'));
  if (!serverUrl) {
    fs.cpSync(path.join(templateDir(), 'pgdata'), path.join(dataDir, 'pgdata'), { recursive: true });
    return { kind: 'pglite', databaseUrl: undefined, dataDir, drop: async () => fs.rmSync(dataDir, { recursive: true, force: true }) };
  }
  const database = await createServerDatabase(serverUrl, 'reel_test');
  return {
    kind: 'postgres',
    databaseUrl: database.url,
    dataDir,
    async drop() {
      await database.drop();
      fs.rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

/** A new, empty database on a PostgreSQL server (named `<prefix>_<random>`), and how to drop it. */
export async function createServerDatabase(server: string, prefix: string): Promise<{ url: string; drop(): Promise<void> }> {
  const name = `${prefix}_${randomBytes(6).toString('hex')}`;
  const run = async (sql: string) => {
    const client = new pg.Client({ connectionString: server });
    await client.connect();
    try {
      await client.query(sql);
    } finally {
      await client.end();
    }
  };
  await run(`CREATE DATABASE ${name}`);
  const url = new URL(server);
  url.pathname = `/${name}`;
  return { url: url.toString(), drop: () => run(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`) };
}
