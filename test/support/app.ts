import { createApiKey } from '../../src/auth/keys.ts';
import { loadConfig, type Config } from '../../src/config.ts';
import { startServer, type RunningServer } from '../../src/app.ts';
import { createLogger } from '../../src/logger.ts';
import { createOrg } from '../../src/orgs.ts';
import type { Role } from '../../src/generated/prisma/enums.ts';
import { createTestDatabase, type TestDatabase } from './db.ts';
import { postGraphQL, type GraphQLResult } from './graphql.ts';

export type { GraphQLResult } from './graphql.ts';

export interface TestApp {
  config: Config;
  running: RunningServer;
  url: string;
  database: TestDatabase;
  /** Posts a GraphQL operation over HTTP, as a client would. */
  gql<T = Record<string, unknown>>(query: string, variables?: Record<string, unknown>, key?: string): Promise<GraphQLResult<T>>;
  org(name: string): Promise<string>;
  key(orgId: string, role: Role, subject: string, extra?: { groups?: string[]; email?: string; name?: string }): Promise<string>;
  close(): Promise<void>;
}

/** A real reel server on a loopback port with a fresh database; no demo data. */
export async function startTestApp(env: Record<string, string> = {}, options: { now?: () => number } = {}): Promise<TestApp> {
  const database = await createTestDatabase();
  const config = loadConfig({
    PORT: '0',
    HOST: '127.0.0.1',
    REEL_DATA_DIR: database.dataDir,
    REEL_LOG_LEVEL: 'silent',
    ...(database.databaseUrl && { DATABASE_URL: database.databaseUrl }),
    ...env,
  });
  const running = await startServer(config, createLogger(config.logLevel), { bootstrap: false, ...options });
  const gql: TestApp['gql'] = (query, variables, key) => postGraphQL(running.url, query, variables, key);
  return {
    config,
    running,
    url: running.url,
    database,
    gql,
    org: async (name) => (await createOrg(name)).id,
    key: async (orgId, role, subject, extra = {}) => (await createApiKey({ orgId, role, subject, ...extra })).key,
    async close() {
      await running.stop(1000);
      await database.drop();
    },
  };
}
