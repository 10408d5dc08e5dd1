import { parseArgs } from 'node:util';
import { LIVE_TRANSPORTS, type LiveTransport } from './subscribers.ts';

export type DbKind = 'pglite' | 'postgres';
export const SCENARIOS = ['download', 'inline', 'ingest', 'appends', 'replicas', 'live', 'query', 'search', 'window'] as const;
export const DOWNLOAD_SHAPES = ['terminal', 'psql', 'small'] as const;
export type DownloadShape = (typeof DOWNLOAD_SHAPES)[number];
export type Scenario = (typeof SCENARIOS)[number];

export interface BenchOptions {
  dbs: DbKind[];
  scenarios: Scenario[];
  /** Size of each download session, MiB. */
  downloadMib: number;
  /** Data shapes the download scenario runs on, one session of `downloadMib` each (`small`: downloadSmallMib). */
  downloadShapes: DownloadShape[];
  /** Size of the `small` shape's session (appended in 1 KiB calls), MiB. */
  downloadSmallMib: number;
  /** Size of the inline-rendering sessions, MiB. */
  inlineMib: number;
  /** Payload each of the 4 recorders appends per ingest repeat, MiB. */
  ingestMib: number;
  /** Payload of one append call while ingesting, KiB. */
  ingestBatchKib: number;
  recorders: number;
  /** Concurrent sessions of the small-appends scenario, one measurement per level. */
  appendSessions: number[];
  /** Payload of one small append call, bytes. */
  appendBytes: number;
  /** Measured seconds per small-appends window (whole seconds: pgbench -T takes an integer). */
  appendSeconds: number;
  /** Warm-up seconds before each small-appends window (and in each baseline run). */
  appendWarmupSeconds: number;
  /** Replicas scenario: appending sessions in all, and the size of the session downloaded, MiB. */
  replicaSessions: number;
  replicaDownloadMib: number;
  /** Live scenario: sessions appended to, subscribers spread over them, idle subscriptions for the RSS check. */
  liveSessions: number;
  liveSubscribers: number;
  liveIdle: number;
  /** MiB of the closed session one subscriber catches up on. */
  liveCatchUpMib: number;
  /** Live scenario: payload of an append call, KiB, drawn evenly from [min, max]. */
  liveKib: [number, number];
  /** Live scenario: transport of the subscribers under load (the idle check runs both). */
  liveTransport: LiveTransport;
  /** pgbench binary for the small-appends baseline on PostgreSQL; '' = look on PATH and in /usr/lib/postgresql. */
  pgbench: string;
  /** Search scenario: corpus sessions, the stream they hold in all (MiB), the big session (MiB), first-page requests per needle per repeat. */
  searchSessions: number;
  searchMib: number;
  searchSessionMib: number;
  searchQueries: number;
  /** Sessions stored for the query scenario. */
  sessions: number;
  connections: number;
  /** Seconds per measured query window. */
  querySeconds: number;
  repeat: number;
  /** Inline requests per repeat. */
  inlineRequests: number;
  smoke: boolean;
  /** PostgreSQL server on which a throwaway database is created and dropped. */
  serverUrl: string;
  /** results.json path; docs/benchmarks.md is written only on full (non-smoke) runs. */
  out: string;
  writeDocs: boolean;
  /** Run the server under test with --cpu-prof, profiles into this directory. */
  cpuProfDir: string | undefined;
  keep: boolean;
  /** The command line as typed, for the report. */
  command: string;
}

const HELP = `npm run bench -- [options]

  --db pglite|postgres|both     databases (default both; postgres uses DATABASE_URL or
                                postgresql://postgres@127.0.0.1:5432/postgres as the server on which
                                a throwaway database is created and dropped)
  --scenarios a,b,...           download,inline,ingest,appends,replicas,live,query,search,window
                                (default all; replicas, live: PostgreSQL only, two reel processes
                                on one database; search: in a database of its own; window: the last
                                10 s of the download scenario's terminal session against its full
                                raw download, issue #12)
  --download-mib N              size of each download session, and of the window scenario's
                                (default 256; smoke 4; 1024 for the RSS check)
  --download-shapes a,b,...     data the download scenario runs on: terminal,psql,small (default
                                all; psql = line-heavy tab-separated result rows; small = psql data
                                appended in 1 KiB calls, so stored as ~1 KiB chunks)
  --download-small-mib N        size of the small shape's session (default 16; smoke 1)
  --inline-mib N                inline session size (default 8)
  --ingest-mib N                payload per recorder per repeat (default 32)
  --ingest-batch-kib N          payload per append call (default 256)
  --recorders N                 concurrent recorders (default 4)
  --append-sessions a,b,...     small appends: concurrent sessions, one level each (default
                                16,64,128; smoke 4,16)
  --append-kib N                small appends: payload per call, KiB (default 1)
  --append-seconds N            small appends: measured seconds per window (default 10; smoke 1)
  --append-warmup-seconds N     small appends: warm-up before each window (default 2; smoke 0.5)
  --replica-sessions N          replicas: appending sessions, split over the replicas (default 64;
                                smoke 8; even)
  --replica-download-mib N      replicas: size of the session both replicas send (default 64; smoke 4)
  --live-sessions N             live: sessions with a recorder each, alternating replicas (default
                                50; smoke 4)
  --live-subscribers N          live: subscriptions spread over those sessions, half of each
                                session's on each replica (default 200; smoke 16)
  --live-idle N                 live: idle subscriptions (one per open session, no appends) for the
                                RSS check, on one server per transport (default 1000; smoke 50)
  --live-catchup-mib N          live: MiB of the closed session one subscriber catches up on, against
                                its raw download (default 256; smoke 4)
  --live-kib MIN-MAX            live: payload per append call, KiB, drawn evenly (default 1-4)
  --live-transport sse|ws       live: the subscribers under load (default sse; idle: both)
  --pgbench PATH|none           small appends baseline on PostgreSQL (default: pgbench on PATH or
                                in /usr/lib/postgresql/*/bin; without one, or with none, the same
                                inserts from N pg clients in the benchmark process)
  --search-sessions N           search: sessions of the corpus (default 10000; smoke 100)
  --search-mib N                search: recorded stream the corpus holds in all, MiB (default 256;
                                smoke 4)
  --search-session-mib N        search: the one big terminal session searchHits reads (default 256;
                                smoke 2)
  --search-queries N            search: first-page requests per needle per repeat (default 5; smoke 3)
  --sessions N                  stored sessions for the query scenario (default 1000000)
  --connections N               concurrent connections for the query scenario (default 32)
  --query-seconds N             measured seconds per query window (default 5)
  --repeat N                    repetitions of every measurement (default 3)
  --inline-requests N           inline requests per repeat (default 10)
  --smoke                       tiny sizes, one repeat; prints, writes results to a temp file only
  --out FILE                    results JSON (default bench/results.json; smoke: a temp file)
  --no-docs                     do not update docs/benchmarks.md
  --cpu-prof DIR                run the server under test with node --cpu-prof into DIR
  --keep                        keep the benchmark databases (prints where they are)
`;

export function parseOptions(argv: string[]): BenchOptions {
  const { values } = parseArgs({
    args: argv,
    options: {
      db: { type: 'string', default: 'both' },
      scenarios: { type: 'string', default: SCENARIOS.join(',') },
      'download-mib': { type: 'string' },
      'inline-mib': { type: 'string' },
      'ingest-mib': { type: 'string' },
      'ingest-batch-kib': { type: 'string' },
      recorders: { type: 'string' },
      'append-sessions': { type: 'string' },
      'append-kib': { type: 'string' },
      'append-seconds': { type: 'string' },
      'append-warmup-seconds': { type: 'string' },
      pgbench: { type: 'string' },
      'replica-sessions': { type: 'string' },
      'replica-download-mib': { type: 'string' },
      'live-sessions': { type: 'string' },
      'live-subscribers': { type: 'string' },
      'live-idle': { type: 'string' },
      'live-catchup-mib': { type: 'string' },
      'live-kib': { type: 'string' },
      'live-transport': { type: 'string' },
      'download-shapes': { type: 'string' },
      'download-small-mib': { type: 'string' },
      'search-sessions': { type: 'string' },
      'search-mib': { type: 'string' },
      'search-session-mib': { type: 'string' },
      'search-queries': { type: 'string' },
      sessions: { type: 'string' },
      connections: { type: 'string' },
      'query-seconds': { type: 'string' },
      repeat: { type: 'string' },
      'inline-requests': { type: 'string' },
      smoke: { type: 'boolean', default: false },
      out: { type: 'string' },
      'no-docs': { type: 'boolean', default: false },
      'cpu-prof': { type: 'string' },
      keep: { type: 'boolean', default: false },
      help: { type: 'boolean', default: false },
    },
    strict: true,
  });
  if (values.help) {
    process.stdout.write(HELP);
    process.exit(0);
  }
  const smoke = values.smoke;
  const num = (name: keyof typeof values, full: number, tiny: number): number => {
    const raw = values[name];
    if (raw === undefined) return smoke ? tiny : full;
    const n = Number(raw);
    if (!Number.isFinite(n) || n <= 0) throw new Error(`--${name} must be a positive number`);
    return n;
  };
  const dbs: DbKind[] =
    values.db === 'both' ? ['postgres', 'pglite'] : values.db === 'pglite' || values.db === 'postgres' ? [values.db] : [];
  if (dbs.length === 0) throw new Error('--db must be pglite, postgres or both');
  const list = (raw: string) => raw.split(',').map((s) => s.trim()).filter(Boolean);
  const scenarios = list(values.scenarios);
  for (const s of scenarios) if (!(SCENARIOS as readonly string[]).includes(s)) throw new Error(`unknown scenario ${s}`);
  const shapes = list(values['download-shapes'] ?? DOWNLOAD_SHAPES.join(','));
  for (const s of shapes) if (!(DOWNLOAD_SHAPES as readonly string[]).includes(s)) throw new Error(`unknown download shape ${s}`);
  if (shapes.length === 0) throw new Error('--download-shapes names no shape');
  const levels = values['append-sessions'] === undefined ? (smoke ? [4, 16] : [16, 64, 128]) : list(values['append-sessions']).map(Number);
  if (levels.length === 0 || levels.some((n) => !Number.isInteger(n) || n <= 0)) throw new Error('--append-sessions must be a list of positive integers');
  const liveKib = (values['live-kib'] ?? '1-4').split('-').map(Number);
  if (liveKib.length === 1) liveKib.push(liveKib[0]!);
  if (liveKib.length !== 2 || liveKib.some((n) => !Number.isFinite(n) || n <= 0) || liveKib[0]! > liveKib[1]!) {
    throw new Error('--live-kib must be MIN-MAX (KiB, 0 < MIN ≤ MAX) or one size');
  }
  const liveTransport = values['live-transport'] ?? 'sse';
  if (!(LIVE_TRANSPORTS as readonly string[]).includes(liveTransport)) throw new Error('--live-transport must be sse or ws');
  const liveSessions = Math.round(num('live-sessions', 50, 4));
  if (liveSessions < 2) throw new Error('--live-sessions must be at least 2 (one per replica)');
  return {
    dbs,
    scenarios: SCENARIOS.filter((s) => scenarios.includes(s)),
    downloadMib: num('download-mib', 256, 4),
    downloadShapes: DOWNLOAD_SHAPES.filter((s) => shapes.includes(s)),
    downloadSmallMib: num('download-small-mib', 16, 1),
    inlineMib: num('inline-mib', 8, 1),
    ingestMib: num('ingest-mib', 32, 1),
    ingestBatchKib: num('ingest-batch-kib', 256, 64),
    recorders: Math.round(num('recorders', 4, 4)),
    appendSessions: levels,
    appendBytes: Math.round(num('append-kib', 1, 1) * 1024),
    appendSeconds: Math.max(1, Math.round(num('append-seconds', 10, 1))),
    appendWarmupSeconds: num('append-warmup-seconds', 2, 0.5),
    replicaSessions: 2 * Math.max(1, Math.round(num('replica-sessions', 64, 8) / 2)),
    replicaDownloadMib: num('replica-download-mib', 64, 4),
    liveSessions,
    liveSubscribers: Math.round(num('live-subscribers', 200, 16)),
    liveIdle: Math.round(num('live-idle', 1000, 50)),
    liveCatchUpMib: num('live-catchup-mib', 256, 4),
    liveKib: [liveKib[0]!, liveKib[1]!],
    liveTransport: liveTransport as LiveTransport,
    pgbench: values.pgbench ?? '',
    searchSessions: Math.round(num('search-sessions', 10_000, 100)),
    searchMib: num('search-mib', 256, 4),
    searchSessionMib: num('search-session-mib', 256, 2),
    searchQueries: Math.round(num('search-queries', 5, 3)),
    sessions: Math.round(num('sessions', 1_000_000, 1000)),
    connections: Math.round(num('connections', 32, 32)),
    querySeconds: num('query-seconds', 5, 1),
    repeat: Math.round(num('repeat', 3, 1)),
    inlineRequests: Math.round(num('inline-requests', 10, 3)),
    smoke,
    serverUrl: process.env.DATABASE_URL || 'postgresql://postgres@127.0.0.1:5432/postgres',
    out: values.out ?? (smoke ? '' : 'bench/results.json'),
    writeDocs: !smoke && !values['no-docs'],
    cpuProfDir: values['cpu-prof'],
    keep: values.keep,
    command: ['npm run bench', ...(argv.length ? ['--', ...argv] : [])].join(' '),
  };
}
