import type http from 'node:http';
import { performance } from 'node:perf_hooks';
import type { RunContext } from '../context.ts';
import { eventsJson, fixedSizeCalls, rng, terminalEvents, type BenchEvent } from '../data.ts';
import { agent, gql, request } from '../http.ts';
import {
  chunkRow,
  createBaselineTable,
  dropBaselineTable,
  findPgbench,
  freeConnections,
  pgbenchRun,
  pgbenchVersion,
  pgLoopRun,
  pgliteLoopRun,
  type BaselineKind,
  type InsertWindow,
} from '../insert-baseline.ts';
import type { ServerProcess } from '../proc.ts';
import { APPEND, CLOSE, openSession } from '../sessions.ts';
import { percentile } from '../stats.ts';

/** One measured window of reel: `sessions` sessions appending small calls back to back. */
export interface ReelWindow {
  sessions: number;
  /** Appends acknowledged in the measured window. */
  appends: number;
  payloadBytes: number;
  elapsedMs: number;
  /** Failed appends (HTTP error, GraphQL error, wrong acknowledgement, socket error) in the window. */
  errors: number;
  /** Failed appends during the warm-up, and failed closes afterwards. */
  otherErrors: number;
  firstError: string | undefined;
  /** Acknowledgement latencies of the appends counted, ms. */
  latencies: number[];
  /** Keep-alive sockets the client had open at the end (should equal `sessions`). */
  sockets: number;
  /** Most requests in flight at once. */
  peakInFlight: number;
  /** CPU of the benchmark process (the load generator) and of the server during the window, ms. */
  clientCpuMs: number;
  serverCpuMs: number;
}

export interface AppendsLevel {
  sessions: number;
  /** Why the baseline ran with fewer clients than `sessions` (the database server's free connections). */
  capNote: string | undefined;
  reel: ReelWindow[];
  baseline: InsertWindow[];
}

export interface AppendsResult {
  callBytes: number;
  eventsPerCall: number;
  /** Mean HTTP request body of an append call, bytes (JSON + base64). */
  requestBytes: number;
  seconds: number;
  warmupSeconds: number;
  baseline: { kind: BaselineKind; name: string; description: string; rowBytes: number; version: string };
  levels: AppendsLevel[];
}

const POOL_CALLS = 4096;

/** The calls every small-appends window sends, built before any clock starts. */
export interface AppendWorkload {
  calls: BenchEvent[][];
  /** Each call's `events` variable as JSON text. */
  json: string[];
  /** Each call's payload, bytes. */
  callBytes: number[];
  /** The request body up to the session id. */
  prefix: string;
  /** Payload of a call, bytes (the mean, when calls differ in size). */
  payloadBytes: number;
  eventsPerCall: number;
  /** Mean HTTP request body, bytes. */
  requestBytes: number;
  /** The stored chunk of the call whose stored size is closest to the mean: the baseline's row. */
  row: ReturnType<typeof chunkRow>;
}

/**
 * Calls of exactly `payloadBytes` each or, with `maxPayloadBytes`, of sizes drawn evenly from
 * `payloadBytes`…`maxPayloadBytes` (seeded).
 */
export function appendWorkload(payloadBytes: number, maxPayloadBytes = payloadBytes): AppendWorkload {
  const calls: BenchEvent[][] = [];
  const r = rng(22);
  const size = maxPayloadBytes > payloadBytes ? () => payloadBytes + Math.floor(r() * (maxPayloadBytes - payloadBytes + 1)) : payloadBytes;
  for (const call of fixedSizeCalls(terminalEvents(21), size)) {
    calls.push(call);
    if (calls.length === POOL_CALLS) break;
  }
  const json = calls.map((c) => eventsJson(c));
  const callBytes = calls.map((c) => c.reduce((n, e) => n + e.data.length, 0));
  const rows = calls.map((c) => chunkRow(c));
  const meanRow = rows.reduce((n, r) => n + r.data.length, 0) / rows.length;
  const row = rows.reduce((best, r) => (Math.abs(r.data.length - meanRow) < Math.abs(best.data.length - meanRow) ? r : best));
  const prefix = `{"query":${JSON.stringify(APPEND)},"variables":{"s":"`;
  // The body: prefix, session id (36), `","q":` + a sequence of ~4 digits + `,"e":`, the events, `}}` (all ASCII).
  const requestBytes = json.reduce((n, j) => n + prefix.length + 36 + 15 + j.length + 2, 0) / json.length;
  const eventsPerCall = calls.reduce((n, c) => n + c.length, 0) / calls.length;
  const meanBytes = callBytes.reduce((n, b) => n + b, 0) / callBytes.length;
  return { calls, json, callBytes, prefix, payloadBytes: meanBytes, eventsPerCall, requestBytes, row };
}

export const windowMs = (opts: RunContext['opts']) => ({ warmupMs: opts.appendWarmupSeconds * 1000, measureMs: opts.appendSeconds * 1000 });

/**
 * Scenario: many small appends. For each level, that many sessions are opened through the API and
 * each appends ~1 KiB calls of terminal events (cut where the call is full, as a gateway flushing
 * its buffer would) back to back: the next call is sent when the previous one is acknowledged.
 * The event JSON (base64 payloads) is built before the clock starts; each request only splices in
 * its session id and sequence. A failed call is counted and sent again (same sequence, same
 * events: reel acknowledges a retried call once stored). The baseline inserts the same stored row
 * with as many clients, measured in the same run, alternating with reel (see insert-baseline.ts).
 */
export async function runAppends(ctx: RunContext): Promise<AppendsResult> {
  const { opts, db, log } = ctx;
  const work = appendWorkload(opts.appendBytes);
  const { calls, row, eventsPerCall, requestBytes, warmupMs, measureMs } = { ...work, ...windowMs(opts) };

  let baseline: AppendsResult['baseline'];
  const pgbench = db.kind === 'postgres' ? findPgbench(opts.pgbench) : undefined;
  if (db.kind === 'pglite') {
    baseline = {
      kind: 'pglite-loop',
      name: 'PGlite 1-connection insert loop',
      description: 'the same chunk row inserted in a loop through one PGlite connection in the benchmark process, one transaction each (PGlite is one in-process connection; the server under test is stopped meanwhile)',
      rowBytes: row.data.length,
      version: '',
    };
  } else if (pgbench) {
    baseline = {
      kind: 'pgbench',
      name: 'pgbench',
      description: `pgbench -n -c N -j 2 -T S, one INSERT of the same chunk row per transaction (bytea literal), synchronous_commit=on, N = sessions (capped by free connections)`,
      rowBytes: row.data.length,
      version: await pgbenchVersion(pgbench),
    };
  } else {
    baseline = {
      kind: 'pg-loop',
      name: 'pg insert loop',
      description: 'N pg clients in the benchmark process (no pgbench binary, or --pgbench none), each inserting the same chunk row in a loop, one transaction each, synchronous_commit=on',
      rowBytes: row.data.length,
      version: '',
    };
  }
  log(`  ${calls.length} distinct calls of ${opts.appendBytes} B payload, ${eventsPerCall.toFixed(1)} events/call, ~${requestBytes.toFixed(0)} B per request; baseline: ${baseline.version || baseline.name}, row ${row.data.length} B`);

  const levels: AppendsLevel[] = opts.appendSessions.map((sessions) => ({ sessions, capNote: undefined, reel: [], baseline: [] }));
  const logReel = (w: ReelWindow) =>
    log(
      `  reel     ${String(w.sessions).padStart(4)} sessions: ${((w.appends / w.elapsedMs) * 1000).toFixed(0)} appends/s, ` +
        `ack p50 ${percentile(w.latencies, 50).toFixed(1)} ms, p99 ${percentile(w.latencies, 99).toFixed(1)} ms, errors ${w.errors}+${w.otherErrors}, ` +
        `sockets ${w.sockets}, peak in flight ${w.peakInFlight}, client CPU ${((w.clientCpuMs / w.elapsedMs) * 100).toFixed(0)}%, server CPU ${((w.serverCpuMs / w.elapsedMs) * 100).toFixed(0)}%` +
        (w.firstError ? `; first error: ${w.firstError.slice(0, 200)}` : ''),
    );
  const logBase = (w: InsertWindow, level: AppendsLevel) =>
    log(
      `  ${baseline.name} ${String(w.clients).padStart(4)} clients: ${((w.inserts / w.elapsedMs) * 1000).toFixed(0)} inserts/s, ` +
        `p50 ${percentile(w.latencies, 50).toFixed(1)} ms, p99 ${percentile(w.latencies, 99).toFixed(1)} ms, errors ${w.errors}` +
        (w.reportedTps !== undefined ? `, pgbench's tps ${w.reportedTps.toFixed(0)}` : '') +
        (level.capNote ? ` (${level.capNote})` : '') +
        (w.firstError ? `; first error: ${w.firstError.slice(0, 200)}` : ''),
    );

  const reelWindow = async (level: AppendsLevel, server: ServerProcess) => {
    const opened = performance.now();
    const w = await measureReel(server, db.key, level.sessions, work, warmupMs, measureMs);
    level.reel.push(w);
    logReel(w);
    log(`    (window with opening and closing the sessions: ${((performance.now() - opened) / 1000).toFixed(1)} s)`);
  };

  if (db.kind === 'pglite') {
    // One baseline loop per repeat (it has one connection whatever the level), before the levels
    // in even repeats and after them in odd ones.
    for (let rep = 0; rep < opts.repeat; rep++) {
      const base = async () => {
        await ctx.releaseDatabase();
        const w = await pgliteLoopRun({ db, row, warmupMs, measureMs });
        for (const level of levels) level.baseline.push(w);
        logBase(w, levels[0]!);
      };
      if (rep % 2 === 0) await base();
      for (const level of levels) await reelWindow(level, await ctx.server('reel'));
      if (rep % 2 === 1) await base();
    }
  } else {
    const starting = performance.now();
    const server = opts.smoke ? await ctx.server('reel') : await ctx.fresh('reel');
    log(`  server ready in ${((performance.now() - starting) / 1000).toFixed(1)} s`);
    await createBaselineTable(db);
    // The baseline's clients are capped once, by what the server has free now (other work may hold
    // connections too), so that every repeat runs with the same number; a later run takes fewer
    // only if the server has fewer free by then.
    const first = await freeConnections(db);
    try {
      for (let rep = 0; rep < opts.repeat; rep++) {
        for (const [k, level] of levels.entries()) {
          const base = async () => {
            const now = await freeConnections(db);
            const clients = Math.min(level.sessions, first.free, now.free);
            if (clients < level.sessions) {
              level.capNote = `capped by the server's free connections (max_connections ${now.maxConnections}, less those in use, less a margin of 10)`;
            }
            const run = { db, row, clients, warmupMs, measureMs };
            const w = pgbench ? await pgbenchRun({ ...run, bin: pgbench, workDir: ctx.workDir }) : await pgLoopRun(run);
            level.baseline.push(w);
            logBase(w, level);
          };
          // Alternate which side goes first, so neither always runs on a warmer or cooler machine.
          if ((rep + k) % 2 === 0) {
            await reelWindow(level, server);
            await base();
          } else {
            await base();
            await reelWindow(level, server);
          }
        }
      }
    } finally {
      await dropBaselineTable(db).catch(() => {});
    }
  }
  return { callBytes: opts.appendBytes, eventsPerCall, requestBytes, seconds: opts.appendSeconds, warmupSeconds: opts.appendWarmupSeconds, baseline, levels };
}

const sockets = (pool: http.Agent) =>
  [pool.sockets, pool.freeSockets].reduce((n, by) => n + Object.values(by).reduce((m, list) => m + (list?.length ?? 0), 0), 0);

/** What a caller of measureReel may add to a window (the live scenario: subscribers follow its sessions). */
export interface ReelWindowOptions {
  /** Open sessions to append to, each with the sequence of its next append, instead of `sessions` new ones. */
  open?: readonly { id: string; sequence: number }[];
  /**
   * Told of each acknowledged append: the session's place in the window, the workload's call sent,
   * the session's event count after it, when the reply was read (performance.now()), and whether the
   * append counts (acknowledged inside the measured window).
   */
  onAck?: (session: number, call: number, eventCount: number, at: number, counted: boolean) => void;
}

/**
 * `sessions` sessions on `server` appending the workload's calls back to back for one window; the
 * sessions are closed afterwards.
 */
export async function measureReel(
  server: ServerProcess,
  key: string,
  sessions: number,
  work: AppendWorkload,
  warmupMs: number,
  measureMs: number,
  options: ReelWindowOptions = {},
): Promise<ReelWindow> {
  const { json, callBytes, prefix } = work;
  const { open: given, onAck } = options;
  if (given && given.length !== sessions) throw new Error(`measureReel: ${given.length} open sessions given for ${sessions}`);
  // One keep-alive socket per session: a fresh agent per window (idle sockets of an earlier window
  // may have been closed by the server), sized so that no request waits for a socket.
  const pool = agent(sessions);
  const url = `${server.url}/graphql`;
  const headers = { 'content-type': 'application/json', authorization: `Bearer ${key}` };
  const ids = given ? given.map((s) => s.id) : await Promise.all(Array.from({ length: sessions }, () => openSession(server.url, key, 'terminal', 'appends')));

  const latencies: number[] = [];
  let appends = 0;
  let payloadBytes = 0;
  let errors = 0;
  let otherErrors = 0;
  let firstError: string | undefined;
  let inFlight = 0;
  let peakInFlight = 0;
  const started = performance.now();
  const warmEnd = started + warmupMs;
  const end = warmEnd + measureMs;
  // CPU of both processes at the window's edges, read by timers (the workers are waiting on I/O).
  let cpu = { client: process.cpuUsage(), server: server.cpuMs() };
  const atWarmEnd = setTimeout(() => (cpu = { client: process.cpuUsage(), server: server.cpuMs() }), warmupMs);
  let cpuEnd: { client: NodeJS.CpuUsage; server: number } | undefined;
  const atEnd = setTimeout(() => (cpuEnd = { client: process.cpuUsage(cpu.client), server: server.cpuMs() - cpu.server }), warmupMs + measureMs);

  const fail = (at: number, what: string) => {
    if (at >= warmEnd && at <= end) errors++;
    else otherErrors++;
    firstError ??= what;
  };
  const worker = async (w: number) => {
    const id = ids[w]!;
    let sequence = given?.[w]!.sequence ?? 0;
    let k = (w * 61) % json.length;
    while (performance.now() < end) {
      const body = Buffer.from(`${prefix}${id}","q":${sequence},"e":${json[k]!}}}`);
      const t = performance.now();
      inFlight++;
      peakInFlight = Math.max(peakInFlight, inFlight);
      try {
        const reply = await request(url, { headers, body, agent: pool });
        inFlight--;
        const done = performance.now();
        let acked = false;
        let eventCount = 0;
        if (reply.status === 200) {
          try {
            const parsed = JSON.parse(reply.body.toString('utf8')) as {
              data?: { appendSessionEvents?: { sequence?: number; eventCount?: number } };
              errors?: unknown;
            };
            acked = !parsed.errors && parsed.data?.appendSessionEvents?.sequence === sequence;
            eventCount = parsed.data?.appendSessionEvents?.eventCount ?? 0;
          } catch {
            // not JSON: a failure
          }
        }
        if (acked) {
          const counted = done >= warmEnd && done <= end;
          if (counted) {
            appends++;
            payloadBytes += callBytes[k]!;
            latencies.push(done - t);
          }
          onAck?.(w, k, eventCount, done, counted);
          sequence++;
          k = (k + 1) % json.length;
        } else fail(done, `HTTP ${reply.status}: ${reply.body.subarray(0, 300).toString()}`);
      } catch (err) {
        inFlight--;
        fail(performance.now(), String(err));
        await new Promise((r) => setTimeout(r, 20)); // the socket broke: do not spin
      }
    }
  };
  await Promise.all(ids.map((_, w) => worker(w)));
  clearTimeout(atWarmEnd);
  clearTimeout(atEnd);
  const open = sockets(pool);
  const elapsedMs = measureMs;
  const usage = cpuEnd ?? { client: process.cpuUsage(cpu.client), server: server.cpuMs() - cpu.server };
  for (const id of ids) {
    try {
      const reply = await gql(server.url, key, CLOSE, { s: id });
      if (reply.errors?.length) fail(0, `closeSession: ${JSON.stringify(reply.errors).slice(0, 300)}`);
    } catch (err) {
      fail(0, `closeSession: ${String(err)}`);
    }
  }
  pool.destroy();
  return {
    sessions,
    appends,
    payloadBytes,
    elapsedMs,
    errors,
    otherErrors,
    firstError,
    latencies,
    sockets: open,
    peakInFlight,
    clientCpuMs: (usage.client.user + usage.client.system) / 1000,
    serverCpuMs: usage.server,
  };
}
