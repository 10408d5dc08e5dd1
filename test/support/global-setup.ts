import pg from 'pg';
import { serverUrl } from './db.ts';
import { ensureTemplate } from './template.ts';

/**
 * Runs once before any test file. On PostgreSQL (REEL_TEST_DATABASE_URL set, as
 * `npm run test:postgres` does) it checks that the server answers, so a server that is down or
 * misnamed stops the run at once with one clear message: the suite never falls back to PGlite
 * then. On PGlite it builds the migrated template the test databases are copied from.
 */
export default async function setup(): Promise<void> {
  if (serverUrl) await checkServer(serverUrl);
  else await ensureTemplate();
}

async function checkServer(url: string): Promise<void> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 10_000 });
  try {
    await client.connect();
    await client.query('SELECT 1');
  } catch (err) {
    throw new Error(
      `REEL_TEST_DATABASE_URL=${withoutPassword(url)}: cannot reach that PostgreSQL server ` +
        `(${err instanceof Error ? err.message : String(err)}). The tests run on it and nowhere else; ` +
        'start it, name another server, or unset REEL_TEST_DATABASE_URL and run `npm test` (PGlite).',
      { cause: err },
    );
  } finally {
    await client.end().catch(() => undefined);
  }
}

function withoutPassword(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password) parsed.password = '***';
    return parsed.toString();
  } catch {
    return '(not a URL)';
  }
}
