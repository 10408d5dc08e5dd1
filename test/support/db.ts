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
  const name = `reel_test_${randomBytes(6).toString('hex')}`;
  const admin = new pg.Client({ connectionString: serverUrl });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${name}`);
  await admin.end();
  const url = new URL(serverUrl);
  url.pathname = `/${name}`;
  return {
    kind: 'postgres',
    databaseUrl: url.toString(),
    dataDir,
    async drop() {
      const client = new pg.Client({ connectionString: serverUrl });
      await client.connect();
      await client.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      await client.end();
      fs.rmSync(dataDir, { recursive: true, force: true });
    },
  };
}
