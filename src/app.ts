import fs from 'node:fs';
import type http from 'node:http';
import path from 'node:path';
import { createApiKey } from './auth/keys.ts';
import type { Config } from './config.ts';
import { auditWaiting, flushAudit, useAuditLogger } from './audit/log.ts';
import { setDatabase } from './db/client.ts';
import { loadSigningKeys, setSigningKeys, signingKeys } from './integrity/keys.ts';
import { openMigratedDatabase, type Database } from './db/index.ts';
import { loadDemoSessions } from './demo.ts';
import { LiveHub } from './live/hub.ts';
import type { Logger } from './logger.ts';
import { createOrg, operatorViewer } from './orgs.ts';
import { watch } from './metrics.ts';
import { SearchIndexer } from './search/indexer.ts';
import { startRetention } from './sessions/deletion.ts';
import { backfillEventTimes } from './sessions/time-backfill.ts';
import { backfillChains } from './integrity/backfill.ts';
import { createHttpServer, type ServerOptions } from './server.ts';
import { ChangeListener } from './sessions/change-listener.ts';

export interface RunningServer {
  server: http.Server;
  db: Database;
  live: LiveHub;
  /** Undefined when REEL_SEARCH_INDEXER is off. */
  indexer: SearchIndexer | undefined;
  url: string;
  /** Stops accepting, lets in-flight requests finish (up to `graceMs`), then closes the database. */
  stop(graceMs?: number): Promise<void>;
}

/** Opens (and migrates) the database and makes it the process's database. */
export async function openAppDatabase(config: Config, logger: Logger): Promise<Database> {
  // The keys that sign closed sessions, loaded when first needed (the server loads them at start).
  setSigningKeys(() => loadSigningKeys({ signingKey: config.signingKey, oldKeys: config.signingOldKeys, dataDir: config.dataDir }));
  const { db, applied } = await openMigratedDatabase(config);
  if (applied.length > 0) logger.info({ migrations: applied }, 'database migrated');
  setDatabase(db);
  return db;
}

/**
 * On a brand-new embedded database: a default organisation, an admin key (shown once) and demo
 * sessions, so the README's queries work at once. Never on PostgreSQL.
 */
async function bootstrapEmbedded(config: Config, out: (line: string) => void): Promise<void> {
  const org = await createOrg('default');
  const { id: keyId, key } = await createApiKey({ orgId: org.id, role: 'ADMIN', subject: 'admin', name: 'Default admin' });
  const ids = await loadDemoSessions(operatorViewer(org.id, keyId));
  // The key is also kept, owner-only, in the data directory: the banner scrolls away, the file stays.
  const keyFile = path.join(config.dataDir, 'admin-key.txt');
  fs.writeFileSync(keyFile, `${key}\n`, { mode: 0o600 });
  const url = `${config.publicUrl}/graphql`;
  out(
    [
      '',
      'A new embedded database was created with a default organisation and demo sessions.',
      `Admin API key (shown once; also saved to ${keyFile}):`,
      '',
      `  ${key}`,
      '',
      `GraphiQL: ${url}  — add the header:`,
      `  { "Authorization": "Bearer ${key}" }`,
      '',
      'Or with curl:',
      `  curl -s ${url} -H 'Authorization: Bearer ${key}' -H 'Content-Type: application/json' \\`,
      `    -d '{"query":"{ sessions(first: 5) { edges { node { id roleName status } } } }"}'`,
      '',
      `Demo sessions: ${ids.join(', ')}`,
      '',
    ].join('\n'),
  );
}

export async function startServer(
  config: Config,
  logger: Logger,
  options: ServerOptions & { out?: (line: string) => void; bootstrap?: boolean } = {},
): Promise<RunningServer> {
  const db = await openAppDatabase(config, logger);
  useAuditLogger(logger);
  let changes: ChangeListener | undefined;
  let live: LiveHub | undefined;
  let indexer: SearchIndexer | undefined;
  try {
    signingKeys(); // a bad signing key stops start-up
    if (config.databaseUrl && !config.signingKey) {
      logger.warn('REEL_SIGNING_KEY is not set: closed sessions are signed with a key kept in REEL_DATA_DIR; replicas must share one');
    }
    if (db.kind === 'pglite' && db.created && options.bootstrap !== false) await bootstrapEmbedded(config, options.out ?? console.log);
    changes = await ChangeListener.start(db, config.databaseUrl, logger);
    const listener = changes;
    live = LiveHub.start(
      listener,
      { maxPerKey: config.maxSubscriptionsPerKey, keyCheckMs: Math.max(1, config.keyCacheSeconds) * 1000 },
      logger,
    );
    const hub = live;
    watch({ liveSubscriptions: () => hub.subscriptions(), pool: db.pool });
    if (config.searchIndexer) indexer = SearchIndexer.start(listener, logger);
    const searchIndexer = indexer;
    watch({ searchQueue: () => searchIndexer?.pending ?? 0, auditQueue: auditWaiting });
    const { server, closeWebSockets } = createHttpServer(config, logger, hub, options);
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(config.port, config.host, () => resolve());
    });
    const address = server.address();
    const port = typeof address === 'object' && address ? address.port : config.port;
    const url = `http://127.0.0.1:${port}`;
    const retention = config.retentionDays === undefined ? undefined : startRetention(config.retentionDays, logger);
    // Sessions stored before chunks recorded their times get them, in the background.
    let backfillStopped = false;
    const backfill = Promise.all([
      backfillEventTimes(() => backfillStopped, logger).catch((err: unknown) =>
        logger.error({ err }, 'filling in event times failed; windows of older sessions read them whole'),
      ),
      backfillChains(() => backfillStopped, logger).catch((err: unknown) =>
        logger.error({ err }, 'computing hash chains failed; older sessions get theirs when read or closed'),
      ),
    ]);
    let stopping: Promise<void> | undefined;
    const stop = (graceMs = 10_000) =>
      (stopping ??= (async () => {
        const closed = new Promise<void>((resolve) => server.close(() => resolve()));
        // Subscriptions complete (their clients resume elsewhere from their last batch's `next`);
        // the connections they held become idle, and are closed as they do.
        await hub.close();
        await searchIndexer?.close();
        await retention?.close();
        backfillStopped = true;
        await backfill;
        await listener.close();
        const idle = setInterval(() => server.closeIdleConnections(), 50);
        server.closeIdleConnections();
        closeWebSockets();
        const timer = setTimeout(() => server.closeAllConnections(), graceMs);
        await closed;
        clearTimeout(timer);
        clearInterval(idle);
        await flushAudit(); // the reads and links of the last requests
        await db.close();
        setDatabase(undefined);
      })());
    return { server, db, live: hub, indexer: searchIndexer, url, stop };
  } catch (err) {
    await live?.close();
    await indexer?.close();
    await changes?.close();
    await db.close();
    throw err;
  }
}
