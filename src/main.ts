import fs from 'node:fs';
import { Command, Option } from 'commander';
import { createApiKey, hashKey, ROLES } from './auth/keys.ts';
import { openAppDatabase, startServer } from './app.ts';
import { ConfigError, loadConfig, type Config } from './config.ts';
import { prisma } from './db/client.ts';
import { DataDirLockedError } from './db/lock.ts';
import { ReelError } from './errors.ts';
import { createLogger } from './logger.ts';
import { createOrg, findOrg, UsageError } from './orgs.ts';
import { isUuid } from './util.ts';
import type { Role } from './generated/prisma/enums.ts';

/** Runs a command against the database and closes it; every failure is one line and exit code 1. */
async function withDatabase(fn: (config: Config) => Promise<void>): Promise<void> {
  const config = loadConfig();
  const logger = createLogger(process.env.REEL_LOG_LEVEL ?? 'warn');
  const db = await openAppDatabase(config, logger);
  try {
    await fn(config);
  } finally {
    await db.close();
  }
}

function fail(err: unknown): never {
  const known =
    err instanceof ConfigError ||
    err instanceof UsageError ||
    err instanceof DataDirLockedError ||
    err instanceof ReelError;
  const message = err instanceof Error ? err.message : String(err);
  process.stderr.write(`reel: ${known ? message : `unexpected error: ${message}`}\n`);
  if (!known && process.env.REEL_DEBUG) console.error(err);
  process.exit(1);
}

const program = new Command('reel')
  .description('reel: recorded access sessions over GraphQL')
  .configureOutput({ outputError: (str, write) => write(str) })
  .exitOverride((err) => process.exit(err.exitCode === 0 ? 0 : 1));

program
  .command('serve')
  .description('run the server (GraphQL at /graphql, download links)')
  .action(async () => {
    const config = loadConfig();
    const logger = createLogger(config.logLevel);
    const running = await startServer(config, logger, { out: (text) => process.stdout.write(`${text}\n`) });
    logger.info({ url: `${config.publicUrl}/graphql`, database: running.db.kind }, 'reel listening');
    const shutdown = (signal: string) => {
      logger.info({ signal }, 'shutting down: draining in-flight requests');
      running.stop().then(
        () => process.exit(0),
        (err: unknown) => {
          logger.error({ err }, 'shutdown failed');
          process.exit(1);
        },
      );
    };
    process.once('SIGTERM', () => shutdown('SIGTERM'));
    process.once('SIGINT', () => shutdown('SIGINT'));
  });

program
  .command('migrate')
  .description('create or upgrade the database schema')
  .action(() =>
    withDatabase(async () => {
      process.stdout.write('database is up to date\n');
    }),
  );

const orgs = program.command('orgs').description('manage organisations');
orgs
  .command('create <name>')
  .description('create an organisation; prints its id last')
  .action((name: string) =>
    withDatabase(async () => {
      const org = await createOrg(name);
      process.stdout.write(`created organisation "${org.name}"\n${org.id}\n`);
    }),
  );
orgs
  .command('list')
  .description('list organisations')
  .action(() =>
    withDatabase(async () => {
      for (const org of await prisma().org.findMany({ orderBy: { createdAt: 'asc' } })) {
        process.stdout.write(`${org.id}\t${org.name}\t${org.createdAt.toISOString()}\n`);
      }
    }),
  );

const keys = program.command('keys').description('manage API keys');
keys
  .command('create')
  .description('create an API key; prints the key last (the only time it is shown)')
  .requiredOption('--org <org>', 'organisation id or name')
  .addOption(new Option('--role <role>', 'role').choices(ROLES).makeOptionMandatory())
  .requiredOption('--subject <subject>', 'the identity (userId) the key acts as')
  .option('--email <email>', 'email of the identity')
  .option('--name <name>', 'display name of the identity')
  .option('--groups <groups>', 'comma-separated groups')
  .action((opts: { org: string; role: Role; subject: string; email?: string; name?: string; groups?: string }) =>
    withDatabase(async () => {
      if (!opts.subject.trim()) throw new UsageError('--subject must not be empty');
      const org = await findOrg(opts.org);
      const groups = (opts.groups ?? '')
        .split(',')
        .map((g) => g.trim())
        .filter(Boolean);
      const { id, key } = await createApiKey({ orgId: org.id, role: opts.role, subject: opts.subject, email: opts.email, name: opts.name, groups });
      process.stdout.write(`created ${opts.role} key ${id} for "${opts.subject}" in "${org.name}"\n${key}\n`);
    }),
  );
keys
  .command('list')
  .description("list an organisation's keys (never the keys themselves)")
  .requiredOption('--org <org>', 'organisation id or name')
  .action((opts: { org: string }) =>
    withDatabase(async () => {
      const org = await findOrg(opts.org);
      const rows = await prisma().apiKey.findMany({ where: { orgId: org.id }, orderBy: { createdAt: 'asc' } });
      for (const k of rows) {
        const state = k.revokedAt ? `revoked ${k.revokedAt.toISOString()}` : 'active';
        process.stdout.write(`${k.id}\t${k.prefix}…\t${k.role}\t${k.subject}\t${k.groups.join(',')}\t${state}\n`);
      }
    }),
  );
keys
  .command('revoke <key>')
  .description('revoke a key, given its id or the key itself')
  .action((given: string) =>
    withDatabase(async () => {
      const where = isUuid(given) ? { id: given } : { keyHash: hashKey(given) };
      const key = await prisma().apiKey.findUnique({ where });
      if (!key) throw new UsageError('no such key');
      if (!key.revokedAt) await prisma().apiKey.update({ where: { id: key.id }, data: { revokedAt: new Date() } });
      process.stdout.write(`revoked key ${key.id}\n`);
    }),
  );

program
  .command('import <file>')
  .description("import sessions exported from hoop's REST API (one object or an array)")
  .requiredOption('--org <org>', 'organisation id or name')
  .action((file: string, opts: { org: string }) =>
    withDatabase(async () => {
      if (!fs.existsSync(file) || !fs.statSync(file).isFile()) throw new UsageError(`no such file: ${file}`);
      const { importSessions } = await import('./transfer/import.ts');
      const org = await findOrg(opts.org);
      const result = await importSessions(file, org.id, process.stderr);
      process.stdout.write(`imported ${result.imported} session(s), ${result.skipped} already present\n`);
    }),
  );

program
  .command('export <ids...>')
  .description("export sessions in hoop's REST shape (a JSON array on stdout)")
  .requiredOption('--org <org>', 'organisation id or name')
  .action((ids: string[], opts: { org: string }) =>
    withDatabase(async () => {
      const { exportSessions } = await import('./transfer/export.ts');
      const org = await findOrg(opts.org);
      await exportSessions(ids, org.id, process.stdout);
    }),
  );

// `reel export … | head`: a reader that goes away is not an error.
process.stdout.on('error', (err: NodeJS.ErrnoException) => {
  if (err.code === 'EPIPE') process.exit(0);
  fail(err);
});

program.parseAsync(process.argv).catch(fail);
