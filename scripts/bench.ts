/*
 * npm run bench: reel's benchmarks (issues #5 and #15). Creates its own data on PGlite and/or PostgreSQL,
 * runs every scenario against a real server in a child process over loopback HTTP, and reports the
 * median, min and max of repeated measurements with ratios to baselines taken in the same run.
 * `--help` lists the options; `--smoke` is the tiny run CI uses. Never part of `npm test`.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { runContext, type RunContext } from './bench/context.ts';
import { batchCalls, fixedSizeCalls, pgwireEvents, psqlEvents, terminalEvents, type BenchEvent, type StreamTotals } from './bench/data.ts';
import { createBenchDatabase, insertBulkSessions } from './bench/db.ts';
import { DOWNLOAD_SHAPES, parseOptions, SCENARIOS, type BenchOptions, type DbKind } from './bench/options.ts';
import { ROOT } from './bench/proc.ts';
import { environment, textTable, writeDocs, writeResults, type DbRun, type Environment } from './bench/report.ts';
import { runAppends } from './bench/scenarios/appends.ts';
import { runDownload } from './bench/scenarios/download.ts';
import { runIngest } from './bench/scenarios/ingest.ts';
import { runInline } from './bench/scenarios/inline.ts';
import { runLive } from './bench/scenarios/live.ts';
import { runQuery } from './bench/scenarios/query.ts';
import { runReplicas } from './bench/scenarios/replicas.ts';
import { runSearch } from './bench/scenarios/search.ts';
import { runWindow, WINDOW_SECONDS } from './bench/scenarios/window.ts';
import { loadSession } from './bench/sessions.ts';
import { MiB, mbPerSec } from './bench/stats.ts';

const started = performance.now();
const log = (line: string) => process.stdout.write(`[${((performance.now() - started) / 1000).toFixed(1).padStart(6)} s] ${line}\n`);

function runKey(opts: BenchOptions, db: DbKind): string {
  let download = opts.downloadMib === 256 ? 'download' : `download ${opts.downloadMib} MiB`;
  if (opts.downloadShapes.length < DOWNLOAD_SHAPES.length) download += ` (${opts.downloadShapes.join(', ')})`;
  const window = opts.downloadMib === 256 ? 'window' : `window ${opts.downloadMib} MiB`;
  let search = 'search';
  if (opts.searchSessions !== 10_000 || opts.searchMib !== 256 || opts.searchSessionMib !== 256) {
    search += ` ${opts.searchSessions} sessions, ${opts.searchMib} + ${opts.searchSessionMib} MiB`;
  }
  const parts: string[] = [db];
  if (opts.smoke) parts.push('smoke');
  else if (opts.scenarios.length < SCENARIOS.length) parts.push(opts.scenarios.map((s) => (s === 'download' ? download : s === 'search' ? search : s === 'window' ? window : s)).join(' + '));
  else if (download !== 'download') parts.push(download);
  return parts.join(', ');
}

/** The download session of each shape, and the smaller session of the same shape its server warms up on. */
const DOWNLOAD_SESSIONS = {
  terminal: { name: 'download', warmup: 'terminal' },
  psql: { name: 'download-psql', warmup: 'psql' },
  small: { name: 'download-small', warmup: 'psql' },
} as const;

/** Payload of each append call of the `small` download session. */
const SMALL_CALL_BYTES = 1024;

async function runDatabase(opts: BenchOptions, env: Environment, kind: DbKind, workDir: string): Promise<DbRun> {
  const runStarted = performance.now();
  log(`${kind}: creating the database`);
  const db = await createBenchDatabase(kind, opts.serverUrl, workDir);
  // The search index is built in the background by every server with the indexer on: the other
  // scenarios run without it, so that none measures a server busy indexing what an earlier one
  // loaded. The search scenario runs with it, in a database of its own, and measures ingest with
  // and without it.
  db.env.REEL_SEARCH_INDEXER = 'off';
  const logDir = path.join(workDir, `logs-${kind}`);
  fs.mkdirSync(logDir, { recursive: true });
  const ctx: RunContext = runContext(opts, db, workDir, logDir, log);
  const want = (s: string) => opts.scenarios.includes(s as never);
  const run: DbRun = {
    key: runKey(opts, kind),
    db: kind,
    env,
    options: {
      downloadMib: opts.downloadMib,
      downloadShapes: opts.downloadShapes,
      downloadSmallMib: opts.downloadSmallMib,
      inlineMib: opts.inlineMib,
      ingestMib: opts.ingestMib,
      ingestBatchKib: opts.ingestBatchKib,
      recorders: opts.recorders,
      appendSessions: opts.appendSessions,
      appendBytes: opts.appendBytes,
      appendSeconds: opts.appendSeconds,
      appendWarmupSeconds: opts.appendWarmupSeconds,
      replicaSessions: opts.replicaSessions,
      replicaDownloadMib: opts.replicaDownloadMib,
      liveSessions: opts.liveSessions,
      liveSubscribers: opts.liveSubscribers,
      liveIdle: opts.liveIdle,
      liveKib: opts.liveKib,
      liveTransport: opts.liveTransport,
      searchSessions: opts.searchSessions,
      searchMib: opts.searchMib,
      searchSessionMib: opts.searchSessionMib,
      searchQueries: opts.searchQueries,
      sessions: opts.sessions,
      connections: opts.connections,
      querySeconds: opts.querySeconds,
      repeat: opts.repeat,
      inlineRequests: opts.inlineRequests,
      smoke: opts.smoke,
      scenarios: opts.scenarios,
    },
    database: { version: db.serverVersion, settings: db.settings },
    setup: {},
    durationMs: 0,
  };
  try {
    if (want('query')) {
      log(`${kind}: inserting ${opts.sessions.toLocaleString('en')} sessions with bulk SQL`);
      run.setup.bulkSessionsMs = await insertBulkSessions(db, opts.sessions, log);
      log(`  done in ${(run.setup.bulkSessionsMs / 1000).toFixed(1)} s`);
    }

    // Sessions with events go in through the API, in calls of 8 MiB (under the 16 MiB append cap
    // once JSON and base64 are counted).
    const loaded: Record<string, { id: string; totals: StreamTotals }> = {};
    /** The calls each loaded session was appended in, generated again (the window scenario counts its window from them). */
    const callsOf: Record<string, () => Iterable<BenchEvent[]>> = {};
    if (want('download') || want('inline') || want('window')) {
      const server = await ctx.server('reel');
      /** Loads a session in calls of 8 MiB, or of exactly `callBytes`. */
      const load = async (name: string, shape: 'terminal' | 'pgwire' | 'psql', seed: number, mib: number, callBytes?: number) => {
        const generate = () => {
          const events = shape === 'terminal' ? terminalEvents(seed) : shape === 'psql' ? psqlEvents(seed) : pgwireEvents(seed);
          return callBytes ? fixedSizeCalls(events, callBytes, mib * MiB) : batchCalls(events, mib * MiB, 8 * MiB);
        };
        const calls = generate();
        callsOf[name] = generate;
        let shown = 0;
        // A psql session is a terminal session whose output is psql's.
        const s = await loadSession(server.url, db.key, shape === 'pgwire' ? 'pgwire' : 'terminal', name, calls, (done) => {
          if (done - shown < 128 * MiB) return;
          log(`  ${name}: ${(done / MiB).toFixed(0)} MiB`);
          shown = done;
        });
        loaded[name] = s;
        run.setup[`load ${name} ms`] = s.ms;
        log(`  ${name}: ${(s.totals.bytes / MiB).toFixed(1)} MiB, ${s.totals.events} events, ${s.calls} calls, ${(s.ms / 1000).toFixed(1)} s (${mbPerSec(s.totals.bytes, s.ms).toFixed(1)} MB/s)`);
      };
      log(`${kind}: loading sessions through appendSessionEvents`);
      if (want('download') || want('inline')) await load('terminal', 'terminal', 11, opts.inlineMib);
      if (want('inline')) await load('pgwire', 'pgwire', 12, opts.inlineMib);
      if (want('download')) {
        const shapes = opts.downloadShapes;
        if (shapes.includes('psql') || shapes.includes('small')) await load('psql', 'psql', 15, opts.inlineMib);
        if (shapes.includes('terminal')) await load('download', 'terminal', 13, opts.downloadMib);
        if (shapes.includes('psql')) await load('download-psql', 'psql', 14, opts.downloadMib);
        if (shapes.includes('small')) await load('download-small', 'psql', 16, opts.downloadSmallMib, SMALL_CALL_BYTES);
      }
      // The window scenario reads the download scenario's terminal session (loaded once for both).
      if (want('window') && !loaded.download) await load('download', 'terminal', 13, opts.downloadMib);
    }

    if (want('inline') || want('ingest')) {
      // A full run measures on a server that has not just taken in hundreds of MiB.
      const server = opts.smoke ? await ctx.server('reel') : await ctx.fresh('reel');
      if (want('inline')) {
        log(`${kind}: inline renderings`);
        const t = loaded.terminal!.totals;
        const p = loaded.pgwire!.totals;
        run.inline = await runInline(ctx, server, {
          UTF8: { id: loaded.terminal!.id, bytes: t.bytes, readsBytes: t.byKind.o + t.byKind.e },
          RAW_QUERIES: { id: loaded.pgwire!.id, bytes: p.bytes, readsBytes: p.byKind.i },
        });
      }
      if (want('ingest')) {
        log(`${kind}: ingest, ${opts.recorders} concurrent recorders`);
        run.ingest = await runIngest(ctx, server);
      }
    }

    if (want('appends')) {
      log(`${kind}: small appends, ${opts.appendSessions.join(', ')} concurrent sessions`);
      run.appends = await runAppends(ctx);
    }

    if (want('replicas')) {
      log(`${kind}: two replicas on one database`);
      run.replicas = await runReplicas(ctx);
    }

    if (want('live')) {
      log(`${kind}: live subscribers on two replicas`);
      run.live = await runLive(ctx);
    }

    if (want('download')) {
      run.download = [];
      for (const shape of opts.downloadShapes) {
        log(`${kind}: downloads of ${shape === 'small' ? opts.downloadSmallMib : opts.downloadMib} MiB, ${shape} data`);
        const names = DOWNLOAD_SESSIONS[shape];
        run.download.push(await runDownload(ctx, shape, loaded[names.name]!, loaded[names.warmup]!.id));
      }
    }

    if (want('window')) {
      log(`${kind}: time windows, the last ${WINDOW_SECONDS} s of the ${opts.downloadMib} MiB terminal session against its full download`);
      run.window = await runWindow(ctx, loaded.download!, callsOf.download!);
    }

    if (want('query')) {
      log(`${kind}: queries at ${opts.connections} connections`);
      run.query = await runQuery(ctx);
    }

    if (want('search')) {
      await ctx.stopAll();
      log(`${kind}: search, ${opts.searchSessions.toLocaleString('en')} sessions of ${opts.searchMib} MiB and one of ${opts.searchSessionMib} MiB, in a database of its own`);
      run.search = await runSearch(ctx);
    }
    await ctx.stopAll();
  } catch (err) {
    await ctx.stopAll().catch(() => {});
    log(`${kind}: failed; server logs are in ${logDir}`);
    opts.keep = true;
    throw err;
  } finally {
    if (opts.keep) log(`${kind}: kept ${db.databaseUrl ?? db.dataDir}`);
    else await db.drop();
  }
  run.durationMs = performance.now() - runStarted;
  return run;
}

async function main(): Promise<void> {
  const opts = parseOptions(process.argv.slice(2));
  const env = environment(opts.command);
  const workDir = fs.mkdtempSync(path.join(os.tmpdir(), 'reel-bench-'));
  if (opts.cpuProfDir) fs.mkdirSync(opts.cpuProfDir, { recursive: true });
  log(`reel bench: ${opts.dbs.join(', ')}; ${opts.scenarios.join(', ')}${opts.smoke ? ' (smoke)' : ''}; work dir ${workDir}`);
  const runs: DbRun[] = [];
  try {
    for (const kind of opts.dbs) runs.push(await runDatabase(opts, env, kind, workDir));
  } finally {
    if (!opts.keep) fs.rmSync(workDir, { recursive: true, force: true });
  }
  env.loadavg.end = os.loadavg()[0]!;
  process.stdout.write('\n');
  for (const run of runs) process.stdout.write(`${textTable(run)}\n\n`);
  const out = opts.out || path.join(os.tmpdir(), 'reel-bench-smoke-results.json');
  writeResults(path.resolve(ROOT, out), runs);
  log(`results: ${out}`);
  if (opts.writeDocs) {
    writeDocs(path.join(ROOT, 'docs/benchmarks.md'), runs);
    log('updated docs/benchmarks.md');
  }
}

main().then(
  // PGlite and Prisma leave timers behind: end explicitly.
  () => process.exit(0),
  (err: unknown) => {
    process.stderr.write(`bench failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exit(1);
  },
);
