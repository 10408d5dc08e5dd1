import fs from 'node:fs';
import path from 'node:path';
import { PGlite } from '@electric-sql/pglite';
import { PrismaPg } from '@prisma/adapter-pg';
import pg from 'pg';
import { PrismaPGlite } from 'pglite-prisma-adapter';
import { PrismaClient } from '../generated/prisma/client.ts';
import { lockDataDir } from './lock.ts';
import { migrate, type SqlConnection } from './migrate.ts';

export type { PrismaClient };

export interface DatabaseOptions {
  databaseUrl: string | undefined;
  dataDir: string;
  /** Most connections to PostgreSQL (default 20). */
  dbPoolSize?: number;
}

/** The database reel runs on: embedded PGlite in a data directory, or a PostgreSQL server. */
export interface Database {
  kind: 'pglite' | 'postgres';
  prisma: PrismaClient;
  /** True when the embedded data directory was created by this open (a brand-new install). */
  created: boolean;
  /** Runs `fn` on one connection of its own (migrations, bulk COPY). */
  withConnection<T>(fn: (conn: SqlConnection) => Promise<T>): Promise<T>;
  /** The embedded PGlite instance, for its fast binary COPY path; undefined on PostgreSQL. */
  pglite: PGlite | undefined;
  /** The pg pool on PostgreSQL; undefined on PGlite. */
  pool: pg.Pool | undefined;
  close(): Promise<void>;
}

function pgliteConnection(db: PGlite): SqlConnection {
  return {
    async query<T>(sql: string, params?: unknown[]) {
      return (await db.query<T>(sql, params)).rows;
    },
    async exec(sql: string) {
      await db.exec(sql);
    },
  };
}

function pgConnection(client: pg.PoolClient | pg.Client): SqlConnection {
  return {
    async query<T extends Record<string, unknown>>(sql: string, params?: unknown[]) {
      return (await client.query<T>(sql, params)).rows;
    },
    async exec(sql: string) {
      await client.query(sql);
    },
  };
}

async function openEmbedded(dataDir: string): Promise<Database> {
  const release = lockDataDir(dataDir);
  try {
    const pgdata = path.join(dataDir, 'pgdata');
    const created = !fs.existsSync(path.join(pgdata, 'PG_VERSION'));
    const pglite = await PGlite.create(pgdata);
    const prisma = new PrismaClient({ adapter: new PrismaPGlite(pglite) });
    return {
      kind: 'pglite',
      prisma,
      created,
      pglite,
      pool: undefined,
      withConnection: (fn) => fn(pgliteConnection(pglite)),
      async close() {
        try {
          await prisma.$disconnect();
          await pglite.close();
        } finally {
          release();
        }
      },
    };
  } catch (err) {
    release();
    throw err;
  }
}

function openServer(databaseUrl: string, max = 20): Database {
  const pool = new pg.Pool({ connectionString: databaseUrl, max });
  // Idle clients can lose their server; without a listener the error would crash the process.
  pool.on('error', () => {});
  const prisma = new PrismaClient({ adapter: new PrismaPg(pool) });
  return {
    kind: 'postgres',
    prisma,
    created: false,
    pglite: undefined,
    pool,
    async withConnection(fn) {
      const client = await pool.connect();
      try {
        return await fn(pgConnection(client));
      } finally {
        client.release();
      }
    },
    async close() {
      await prisma.$disconnect();
      await pool.end();
    },
  };
}

export async function openDatabase(options: DatabaseOptions): Promise<Database> {
  return options.databaseUrl ? openServer(options.databaseUrl, options.dbPoolSize) : openEmbedded(options.dataDir);
}

/** Opens the database and brings its schema up to date. */
export async function openMigratedDatabase(options: DatabaseOptions): Promise<{ db: Database; applied: string[] }> {
  const db = await openDatabase(options);
  try {
    const applied = await db.withConnection((conn) => migrate(conn));
    return { db, applied };
  } catch (err) {
    await db.close();
    throw err;
  }
}
