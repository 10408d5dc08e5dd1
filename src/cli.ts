import fs from 'node:fs';
import { Command, CommanderError, InvalidArgumentError, Option } from 'commander';
import { createApiKey, listApiKeys, revokeApiKey, ROLES } from './auth/keys.ts';
import { openAppDatabase, startServer } from './app.ts';
import { loadConfig, type Config } from './config.ts';
import { badInput, notFound, ReelError, verificationFailed } from './errors.ts';
import { createLogger } from './logger.ts';
import { createOrg, findOrg, listOrgs } from './orgs.ts';
import { AuditAction } from './generated/prisma/enums.ts';
import type { Role } from './generated/prisma/enums.ts';

const AUDIT_ACTIONS = Object.values(AuditAction);

function positive(value: string): number {
  const n = Number(value);
  if (!/^\d+$/.test(value) || n < 1 || n > 100) throw new InvalidArgumentError('a whole number from 1 to 100');
  return n;
}

function wholeDays(value: string): number {
  const n = Number(value);
  if (!/^\d+$/.test(value) || n > 100_000) throw new InvalidArgumentError('a whole number of days from 0 to 100000');
  return n;
}

export interface CliIO {
  stdout: NodeJS.WritableStream;
  stderr: NodeJS.WritableStream;
  env: NodeJS.ProcessEnv;
}

/** The one-line reason for a failed command: a ReelError's message is meant for the user as it is. */
export function failureLine(err: unknown): string {
  if (err instanceof ReelError) return `reel: ${err.message}\n`;
  return `reel: unexpected error: ${err instanceof Error ? err.message : String(err)}\n`;
}

/**
 * Runs the command line and resolves to its exit code; every failure is one line on stderr and
 * code 1. `serve` resolves once the server listens and keeps the process alive.
 */
export async function runCli(argv: readonly string[], io: CliIO): Promise<number> {
  const out = (text: string) => io.stdout.write(text);

  /** Runs a command against the database and closes it. */
  async function withDatabase(fn: (config: Config) => Promise<void>): Promise<void> {
    const config = loadConfig(io.env);
    const db = await openAppDatabase(config, createLogger(io.env.REEL_LOG_LEVEL ?? 'warn'));
    try {
      await fn(config);
    } finally {
      await db.close();
    }
  }

  const program = new Command('reel')
    .description('reel: recorded access sessions over GraphQL')
    .configureOutput({ writeOut: out, writeErr: (text) => io.stderr.write(text), outputError: (str, write) => write(str) })
    .exitOverride();

  program
    .command('serve')
    .description('run the server (GraphQL at /graphql, download links)')
    .action(async () => {
      const config = loadConfig(io.env);
      const logger = createLogger(config.logLevel);
      const running = await startServer(config, logger, { out: (text) => out(`${text}\n`) });
      logger.info({ url: `${config.publicUrl}/graphql`, database: running.db.kind }, 'reel listening');
      let stopping = false;
      const shutdown = (signal: string) => {
        if (stopping) {
          // A second signal: whoever sent it will not wait for the drain.
          logger.warn({ signal }, 'second signal: exiting now, cutting what was still in flight');
          process.exit(1);
        }
        stopping = true;
        logger.info({ signal, seconds: config.shutdownSeconds }, 'shutting down: draining in-flight requests');
        running.stop(config.shutdownSeconds * 1000).then(
          () => process.exit(0),
          (err: unknown) => {
            logger.error({ err }, 'shutdown failed');
            process.exit(1);
          },
        );
      };
      process.on('SIGTERM', () => shutdown('SIGTERM'));
      process.on('SIGINT', () => shutdown('SIGINT'));
    });

  program
    .command('migrate')
    .description('create or upgrade the database schema, and index for search the sessions not indexed yet')
    .action(() =>
      withDatabase(async () => {
        out('database is up to date\n');
        const { indexPendingSessions } = await import('./search/indexer.ts');
        const passes = await indexPendingSessions();
        if (passes > 0) out(`indexed the sessions stored before (${passes} pass(es))\n`);
        const { backfillEventTimes } = await import('./sessions/time-backfill.ts');
        const filled = await backfillEventTimes();
        if (filled > 0) out(`filled in the event times of ${filled} session(s) stored before time windows\n`);
        const { backfillChains } = await import('./integrity/backfill.ts');
        const chained = await backfillChains();
        if (chained > 0) out(`computed the hash chains of ${chained} session(s) stored before them\n`);
      }),
    );

  const orgs = program.command('orgs').description('manage organisations');
  orgs
    .command('create <name>')
    .description('create an organisation; prints its id last')
    .action((name: string) =>
      withDatabase(async () => {
        const org = await createOrg(name);
        out(`created organisation "${org.name}"\n${org.id}\n`);
      }),
    );
  orgs
    .command('list')
    .description('list organisations')
    .action(() =>
      withDatabase(async () => {
        for (const org of await listOrgs()) {
          out(`${org.id}\t${org.name}\t${org.createdAt.toISOString()}\n`);
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
        if (!opts.subject.trim()) throw badInput('--subject must not be empty');
        const org = await findOrg(opts.org);
        const groups = (opts.groups ?? '')
          .split(',')
          .map((g) => g.trim())
          .filter(Boolean);
        const { id, key } = await createApiKey({ orgId: org.id, role: opts.role, subject: opts.subject, email: opts.email, name: opts.name, groups });
        out(`created ${opts.role} key ${id} for "${opts.subject}" in "${org.name}"\n${key}\n`);
      }),
    );
  keys
    .command('list')
    .description("list an organisation's keys (never the keys themselves)")
    .requiredOption('--org <org>', 'organisation id or name')
    .action((opts: { org: string }) =>
      withDatabase(async () => {
        const org = await findOrg(opts.org);
        for (const k of await listApiKeys(org.id)) {
          const state = k.revokedAt ? `revoked ${k.revokedAt.toISOString()}` : 'active';
          out(`${k.id}\t${k.prefix}…\t${k.role}\t${k.subject}\t${k.groups.join(',')}\t${state}\n`);
        }
      }),
    );
  keys
    .command('revoke <key>')
    .description('revoke a key, given its id or the key itself')
    .action((given: string) =>
      withDatabase(async () => {
        const key = await revokeApiKey(given);
        if (!key) throw notFound('no such key');
        out(`revoked key ${key.id}\n`);
      }),
    );

  program
    .command('import <file>')
    .description("import sessions exported from hoop's REST API (one object or an array)")
    .requiredOption('--org <org>', 'organisation id or name')
    .action((file: string, opts: { org: string }) =>
      withDatabase(async () => {
        if (!fs.existsSync(file) || !fs.statSync(file).isFile()) throw notFound(`no such file: ${file}`);
        const { importSessions } = await import('./transfer/import.ts');
        const org = await findOrg(opts.org);
        const result = await importSessions(file, org.id, io.stderr);
        // Searchable at once, whether a server runs or not.
        const { indexPendingSessions } = await import('./search/indexer.ts');
        await indexPendingSessions();
        out(`imported ${result.imported} session(s), ${result.skipped} already present\n`);
      }),
    );

  program
    .command('search <text>')
    .description("the organisation's sessions whose recordings hold <text> (case-insensitive, literal), newest first, with their hits")
    .requiredOption('--org <org>', 'organisation id or name')
    .addOption(new Option('--sessions <n>', 'most sessions listed').argParser(positive).default(20))
    .addOption(new Option('--hits <n>', 'most hits shown per session').argParser(positive).default(5))
    .option('--json', 'one JSON object per session and its hits, a line each')
    .action((text: string, opts: { org: string; sessions: number; hits: number; json?: boolean }) =>
      withDatabase(async () => {
        const { searchSessions } = await import('./search/cli.ts');
        const org = await findOrg(opts.org);
        await searchSessions(org.id, text, { sessions: opts.sessions, hits: opts.hits, json: Boolean(opts.json) }, out);
      }),
    );

  program
    .command('audit')
    .description("the organisation's audit trail, newest first (spec §15)")
    .requiredOption('--org <org>', 'organisation id or name')
    .option('--session <id>', 'only events of this session')
    .addOption(new Option('--action <action>', 'only this action').choices(AUDIT_ACTIONS))
    .option('--json', 'one JSON object per event, a line each')
    .action((opts: { org: string; session?: string; action?: AuditAction; json?: boolean }) =>
      withDatabase(async () => {
        const { printAudit } = await import('./audit/cli.ts');
        const org = await findOrg(opts.org);
        await printAudit(org.id, { sessionId: opts.session ?? null, action: opts.action ?? null }, Boolean(opts.json), out);
      }),
    );

  program
    .command('prune')
    .description('delete the sessions that ended more than <days> days ago (never open ones); the last line says how many')
    .requiredOption('--org <org>', 'organisation id or name')
    .requiredOption('--older-than <days>', 'age in days, counted from the end of a session', wholeDays)
    .option('--dry-run', 'count them, delete nothing')
    .action((opts: { org: string; olderThan: number; dryRun?: boolean }) =>
      withDatabase(async () => {
        const { purgeSessions } = await import('./sessions/deletion.ts');
        const org = await findOrg(opts.org);
        const n = await purgeSessions({ orgId: org.id, olderThanDays: opts.olderThan, dryRun: Boolean(opts.dryRun), actor: 'cli', waitForOthers: true });
        out(opts.dryRun ? `${n} sessions would be purged\n` : `${n} sessions purged\n`);
      }),
    );

  program
    .command('verify <file>')
    .description("recompute every session of an export and check its digest and signature; exits 1 naming the first that fails")
    .option('--public-key <path>', "PEM file of the public keys to trust (default: this server's keys, REEL_SIGNING_KEY and REEL_SIGNING_OLD_KEYS)")
    .option('--require-signed', 'fail on a session exported while open (nothing signed vouches for it)')
    .action(async (file: string, opts: { publicKey?: string; requireSigned?: boolean }) => {
      if (!fs.existsSync(file) || !fs.statSync(file).isFile()) throw notFound(`no such file: ${file}`);
      const { verifyExport } = await import('./integrity/verify.ts');
      const keys = await import('./integrity/keys.ts');
      let trusted;
      if (opts.publicKey) {
        if (!fs.existsSync(opts.publicKey)) throw notFound(`no such file: ${opts.publicKey}`);
        trusted = keys.publicKeysFromFile(opts.publicKey);
      } else {
        const config = loadConfig(io.env);
        trusted = keys.loadSigningKeys({ signingKey: config.signingKey, oldKeys: config.signingOldKeys, dataDir: config.dataDir, create: false }).verifying;
      }
      const result = await verifyExport(file, trusted, Boolean(opts.requireSigned));
      if (result.failed) throw verificationFailed(result.failed.id, result.failed.reason, result.verified);
      // An open session's events match its digest, but nothing signed vouches for them (its status
      // included): say how many there were.
      const open = result.unsigned > 0 ? `, ${result.unsigned} of them open and not signed yet` : '';
      out(`${result.verified} sessions verified${open}\n`);
    });

  program
    .command('export <ids...>')
    .description("export sessions in hoop's REST shape (a JSON array on stdout)")
    .requiredOption('--org <org>', 'organisation id or name')
    .action((ids: string[], opts: { org: string }) =>
      withDatabase(async () => {
        const { exportSessions } = await import('./transfer/export.ts');
        const org = await findOrg(opts.org);
        await exportSessions(ids, org.id, io.stdout);
      }),
    );

  try {
    await program.parseAsync([...argv], { from: 'user' });
    return 0;
  } catch (err) {
    // Commander has already said what was wrong with the arguments (or printed the help).
    if (err instanceof CommanderError) return err.exitCode === 0 ? 0 : 1;
    io.stderr.write(failureLine(err));
    if (io.env.REEL_DEBUG) console.error(err);
    return 1;
  }
}
