/*
 * npm run fuzz: the long form of the fuzz run (issue 14, "hostile input at scale"); the short form
 * is test/fuzz/fuzz.test.ts in `npm test`. Same generators and checks: a real `reel serve` in a
 * child process, seeded cases, no 5xx, no leaks, no crash, memory under a bound. docs/fuzz.md says
 * what is tried.
 *
 *   npm run fuzz -- --seed 7 --cases 20000                 # PGlite
 *   npm run fuzz -- --seed 7 --cases 20000 --db postgres   # REEL_TEST_DATABASE_URL or 127.0.0.1:5432
 *   npm run fuzz -- --seed 7 --case 1234                   # replay one case (also --case 1,5,9)
 *   npm run fuzz -- --seed 7 --cases 500 --families ws,http-raw
 */
import { Command, InvalidArgumentError } from 'commander';
import { FAMILIES, makeCase } from '../test/fuzz/cases.ts';
import { describeCase, formatReport, runFuzz, setupContext, startFuzzServer } from '../test/fuzz/harness.ts';

const int = (name: string) => (v: string) => {
  if (!/^-?\d+$/.test(v)) throw new InvalidArgumentError(`${name} must be a whole number`);
  return Number(v);
};

const program = new Command('fuzz')
  .description('Seeded fuzz run of reel over HTTP and WebSocket')
  .option('--seed <n>', 'run seed', int('--seed'), Date.now() % 1_000_000)
  .option('--cases <n>', 'number of cases', int('--cases'), 5000)
  .option('--case <list>', 'replay only these case numbers (comma-separated)')
  .option('--families <list>', `only these families: ${Object.keys(FAMILIES).join(', ')}`)
  .option('--db <kind>', 'pglite or postgres', 'pglite')
  .option('--concurrency <n>', 'cases in flight at once', int('--concurrency'), 4)
  .option('--timeout-ms <n>', 'per case', int('--timeout-ms'), 30_000)
  .option('--rss-limit-mib <n>', 'peak resident memory the server may reach', int('--rss-limit-mib'), 2048)
  .option('--max-restarts <n>', 'after a crash (a failure), start the server again and go on, this many times', int('--max-restarts'), 10)
  .option('--show', 'print the cases (with --case) instead of only their outcome')
  .parse();

const opts = program.opts<{ seed: number; cases: number; case?: string; families?: string; db: string; concurrency: number; timeoutMs: number; rssLimitMib: number; maxRestarts: number; show?: boolean }>();
if (opts.db !== 'pglite' && opts.db !== 'postgres') program.error('--db must be pglite or postgres');
const only = opts.case?.split(',').map((s) => Number(s.trim()));
if (only?.some((n) => !Number.isInteger(n) || n < 0)) program.error('--case takes case numbers');
const families = opts.families?.split(',').map((s) => s.trim());

const postgres = opts.db === 'postgres' ? process.env.REEL_TEST_DATABASE_URL || 'postgresql://postgres@127.0.0.1:5432/postgres' : undefined;
const started = Date.now();
const log = (line: string) => process.stdout.write(`[${((Date.now() - started) / 1000).toFixed(1).padStart(6)} s] ${line}\n`);

log(`seed ${opts.seed}, ${only ? `case ${only.join(', ')}` : `${opts.cases} cases`} on ${opts.db}`);
const { server, keys } = await startFuzzServer(postgres);
let code = 1;
try {
  const ctx = await setupContext(server, keys);
  log(`server pid ${server.pid} on port ${server.port}; setup done`);
  if (only && opts.show) for (const i of only) log(`case ${i}: ${describeCase(makeCase(opts.seed, i, ctx, families), 4000)}`);
  let last = Date.now();
  const report = await runFuzz(server, ctx, {
    seed: opts.seed,
    cases: opts.cases,
    only,
    families,
    concurrency: opts.concurrency,
    timeoutMs: opts.timeoutMs,
    rssLimitBytes: opts.rssLimitMib * 2 ** 20,
    maxRestarts: opts.maxRestarts,
    progress: (done, total) => {
      if (Date.now() - last > 10_000) {
        last = Date.now();
        log(`${done}/${total} cases`);
      }
    },
  });
  process.stdout.write(`${formatReport(report, 100)}\n`);
  code = report.failures.length === 0 && report.serverProblems.length === 0 ? 0 : 1;
  log(code === 0 ? 'no failures' : `${report.failures.length} failed cases, ${report.serverProblems.length} server problems`);
} finally {
  await server.close();
}
process.exit(code);
