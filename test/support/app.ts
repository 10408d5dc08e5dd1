import { createApiKey } from '../../src/auth/keys.ts';
import { loadConfig, type Config } from '../../src/config.ts';
import { startServer, type RunningServer } from '../../src/app.ts';
import { createLogger } from '../../src/logger.ts';
import { createOrg } from '../../src/orgs.ts';
import type { Role } from '../../src/generated/prisma/enums.ts';
import { createTestDatabase, type TestDatabase } from './db.ts';
import { NO_RATE_LIMITS } from './limits.ts';
import { postGraphQL, type GraphQLResult } from './graphql.ts';

export type { GraphQLResult } from './graphql.ts';

/** A clock the server reads; tests move it instead of sleeping. */
export interface Clock {
  now: number;
}

/** The real time, for apps given no clock. */
const realTime: Clock = {
  get now() {
    return Date.now();
  },
};

export interface TestAppOptions {
  /** The server's clock (default real time). */
  clock?: Clock;
  /** Reopen the database a previous app used (a restart on the same data); by default a fresh one. */
  database?: TestDatabase;
}

export interface TestApp {
  config: Config;
  running: RunningServer;
  url: string;
  database: TestDatabase;
  clock: Clock;
  /** Posts a GraphQL operation over HTTP, as a client would. */
  gql<T = Record<string, unknown>>(
    query: string,
    variables?: Record<string, unknown>,
    key?: string,
    signal?: AbortSignal,
  ): Promise<GraphQLResult<T>>;
  org(name: string): Promise<string>;
  key(orgId: string, role: Role, subject: string, extra?: { groups?: string[]; email?: string; name?: string }): Promise<string>;
  /** Stops the server; the database stays (for a restart). */
  stop(): Promise<void>;
  /** Stops the server and drops the database. */
  close(): Promise<void>;
}

/** A real reel server on a loopback port, on a fresh database (or `options.database`); no demo data. */
export async function startTestApp(env: Record<string, string> = {}, options: TestAppOptions = {}): Promise<TestApp> {
  const database = options.database ?? (await createTestDatabase());
  const clock = options.clock ?? realTime;
  const config = loadConfig({
    PORT: '0',
    HOST: '127.0.0.1',
    REEL_DATA_DIR: database.dataDir,
    REEL_LOG_LEVEL: 'silent',
    ...NO_RATE_LIMITS,
    ...(database.databaseUrl && { DATABASE_URL: database.databaseUrl }),
    ...env,
  });
  const running = await startServer(config, createLogger(config.logLevel), { bootstrap: false, now: () => clock.now });
  const stop = () => running.stop(1000);
  return {
    config,
    running,
    url: running.url,
    database,
    clock,
    gql: (query, variables, key, signal) => postGraphQL(running.url, query, variables, key, signal),
    org: async (name) => (await createOrg(name)).id,
    key: async (orgId, role, subject, extra = {}) => (await createApiKey({ orgId, role, subject, ...extra })).key,
    stop,
    async close() {
      await stop();
      await database.drop();
    },
  };
}

/** A test app with an organisation and its RECORDER and ADMIN keys (subjects `recorder`, `admin`). */
export async function startAppWithKeys(
  env: Record<string, string> = {},
  org = 'acme',
): Promise<{ app: TestApp; orgId: string; recorder: string; admin: string }> {
  const app = await startTestApp(env);
  const orgId = await app.org(org);
  return { app, orgId, recorder: await app.key(orgId, 'RECORDER', 'recorder'), admin: await app.key(orgId, 'ADMIN', 'admin') };
}
