import { createHash } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { PGlite } from '@electric-sql/pglite';
import { migrate, MIGRATIONS_DIR } from '../../src/db/migrate.ts';

/*
 * Creating a PGlite data directory runs initdb (seconds of CPU); copying a migrated one takes a
 * fraction of that. The template is built once per set of migrations and copied for each test
 * database.
 */

function migrationsHash(): string {
  const hash = createHash('sha256');
  for (const name of fs.readdirSync(MIGRATIONS_DIR).sort()) {
    const file = path.join(MIGRATIONS_DIR, name, 'migration.sql');
    if (fs.existsSync(file)) hash.update(name).update(fs.readFileSync(file));
  }
  return hash.digest('hex').slice(0, 16);
}

export function templateDir(): string {
  return path.join(os.tmpdir(), `reel-test-template-${migrationsHash()}`);
}

export async function ensureTemplate(): Promise<string> {
  const dir = templateDir();
  if (fs.existsSync(path.join(dir, 'pgdata', 'PG_VERSION'))) return dir;
  const building = fs.mkdtempSync(`${dir}-building-`);
  const db = await PGlite.create(path.join(building, 'pgdata'));
  await migrate({
    query: async (sql, params) => (await db.query<never>(sql, params)).rows,
    exec: async (sql) => {
      await db.exec(sql);
    },
  });
  await db.close();
  try {
    fs.renameSync(building, dir);
  } catch {
    // Another run built it first.
    fs.rmSync(building, { recursive: true, force: true });
  }
  return dir;
}
