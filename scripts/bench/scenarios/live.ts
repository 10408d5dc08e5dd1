import { monitorEventLoopDelay, performance } from 'node:perf_hooks';
import type { RunContext } from '../context.ts';
import { batchCalls, terminalEvents, TYPE_NAME } from '../data.ts';
import { download, gqlOk } from '../http.ts';
import { connectInspector, type Inspector } from '../inspector.ts';
import { backendsCpuBetween, databaseBackendsCpu, freePort, rssSampler, startServer, type ServerProcess } from '../proc.ts';
import { APPEND, appendVariables, loadSession, openSession, rawLink } from '../sessions.ts';
import { median, MiB, percentile } from '../stats.ts';
import { LIVE_TRANSPORTS, subscribe, TRANSPORT_NAME, type LiveBatch, type LiveClient, type LiveTransport } from '../subscribers.ts';
import { appendWorkload, measureReel, windowMs, type ReelWindow } from './appends.ts';

/** What the subscribers of one window received, against what the recorders' appends stored. */
export interface DeliveryCheck {
  subscribers: number;
  /** Events received, once per subscriber that received them. */
  events: number;
  /** Events received again by the same subscriber. */
  duplicates: number;
  /** Events received after a later event of the same session. */
  outOfOrder: number;
  /** Events stored but never received (counted per subscriber). */
  missing: number;
  /** Events whose time, type or data differ from what the recorder sent. */
  wrongData: number;
  /** Batches out of place: one after DONE, a `next` not one past its last event, a DONE before the last event. */
  badBatches: number;
  /** Subscriptions that ended with an error, or without their DONE batch and completion. */
  failed: number;
  firstError: string | undefined;
}

export const deliveryFaults = (c: DeliveryCheck): number => c.duplicates + c.outOfOrder + c.missing + c.wrongData + c.badBatches + c.failed;

/** One measured window: every recorder appending for the same time, with or without subscribers. */
export interface LiveWindow {
  subscribed: boolean;
  /** The append windows of the two replicas (half the sessions' recorders each), run at the same time. */
  appends: ReelWindow[];
  /** Time to open every subscription and receive its first batch, ms (0 without subscribers). */
  subscribeMs: number;
  /** From the end of the appends (the sessions closed) to the last subscriber's completion, ms. */
  drainMs: number;
  /**
   * Delivery latencies, ms: for each append acknowledged in the measured window and each subscriber of
   * its session, the subscriber's receipt of the append's events less the recorder's receipt of the
   * acknowledgement.
   */
  latencies: number[];
  /** Of those, deliveries that arrived before the acknowledgement did (negative latencies). */
  early: number;
  check: DeliveryCheck | undefined;
  /** The load generator's event-loop delay during the window, ms (a delay there delays every timestamp it takes). */
  loopDelay: { p50: number; p99: number; max: number };
  /** CPU of the PostgreSQL backends serving the benchmark's database during the window, ms. */
  databaseCpuMs: number;
}

export interface IdleResult {
  transport: LiveTransport;
  subscriptions: number;
  /** Time to open them all and receive each one's first batch, ms. */
  establishMs: number;
  /**
   * The server's RSS (VmRSS), bytes: after warm-up, settling and a full GC; with the subscriptions
   * open, after settling (rssSettled) and after a full GC (rssAfter); once they are closed again,
   * after settling and a full GC (rssClosed).
   */
  rssBefore: number;
  rssSettled: number;
  rssAfter: number;
  rssClosed: number;
  /**
   * RSS growth: rssAfter less the lower of rssBefore and rssClosed. RSS moves by tens of MiB on its
   * own at times (memory the allocators give back later); a baseline caught high shows as a lower
   * RSS once the subscriptions are closed, and is not taken.
   */
  growth: number;
  /** The JavaScript heap's used size at rssBefore, rssAfter and rssClosed, bytes. */
  heapBefore: number;
  heapAfter: number;
  heapClosed: number;
  /** Subscriptions still open when rssAfter was read. */
  open: number;
  failed: number;
  firstError: string | undefined;
}

export interface LiveScenarioResult {
  /** Transport of the subscribers under load. */
  transport: LiveTransport;
  sessions: number;
  subscribers: number;
  callBytes: { min: number; max: number; mean: number };
  eventsPerCall: number;
  seconds: number;
  warmupSeconds: number;
  /** Per repeat, the two windows (run back to back, in alternating order). */
  repeats: { without: LiveWindow; with: LiveWindow }[];
  /** Idle subscriptions, one per open session that receives no appends. */
  idleSessions: number;
  settleMs: number;
  idle: IdleResult[];
  catchUp?: CatchUpResult;
}

/**
 * One subscriber reading a big closed session from its first event (catch-up) on replica A, against
 * what a user would do instead: download the session's raw file from the same server. Alternating,
 * `repeat` times each.
 */
export interface CatchUpResult {
  /** Payload bytes of the session (what both deliver). */
  bytes: number;
  events: number;
  /** Wall time of each raw download, ms. */
  downloadMs: number[];
  /** Wall time of each catch-up, from subscribing to completion, ms. */
  catchUpMs: number[];
  /** Per catch-up: the server's RSS before it, and its peak during it, bytes. */
  rss: { before: number; peak: number }[];
  /** Batches per catch-up, and faults (events out of place, missing payload bytes, no DONE). */
  batches: number;
  faults: number;
}

interface Expected {
  time: number;
  type: string;
  data: string;
}

/** A session of the window and what its recorder's acknowledgements say it holds. */
class Tracked {
  /** What each event must be, by index (known once its append is acknowledged). */
  readonly expected: (Expected | undefined)[] = [];
  readonly appends: { last: number; at: number; counted: boolean }[] = [];
  total = 0;
  readonly followers: Follower[] = [];

  constructor(
    readonly id: string,
    private readonly events: (call: number) => Expected[],
  ) {}

  ack(call: number, eventCount: number, at: number, counted: boolean): void {
    const events = this.events(call);
    const first = eventCount - events.length;
    for (let j = 0; j < events.length; j++) this.expected[first + j] = events[j];
    this.appends.push({ last: eventCount - 1, at, counted });
    this.total = Math.max(this.total, eventCount);
  }
}

/** One subscription and what it received. */
class Follower {
  /** When each event arrived, by index. */
  readonly receivedAt: number[] = [];
  private max = -1;
  received = 0;
  duplicates = 0;
  outOfOrder = 0;
  wrongData = 0;
  badBatches = 0;
  lastNext = -1;
  done = false;
  completed = false;
  ended = false;
  error: string | undefined;
  /** Events that arrived before their append's acknowledgement: checked at the end. */
  readonly unchecked: { index: number; event: Expected }[] = [];
  readonly firstBatch: Promise<void>;
  readonly finished: Promise<void>;
  private client: LiveClient | undefined;

  constructor(
    readonly session: Tracked,
    transport: LiveTransport,
    server: ServerProcess,
    key: string,
  ) {
    let first: () => void = () => {};
    let finish: () => void = () => {};
    this.firstBatch = new Promise((resolve) => (first = resolve));
    this.finished = new Promise((resolve) => (finish = resolve));
    const fail = (why: string) => {
      this.error ??= why;
      first(); // nothing more is coming
    };
    this.client = subscribe(transport, server.url, key, session.id, 0, {
      batch: (batch, at) => {
        this.take(batch, at);
        first();
      },
      error: (message) => fail(message),
      end: (completed, why) => {
        this.ended = true;
        this.completed = completed;
        if (!completed) fail(why ?? 'ended');
        finish();
      },
    });
  }

  private take(batch: LiveBatch, at: number): void {
    if (this.done) this.badBatches++;
    const expected = this.session.expected;
    for (const event of batch.events) {
      const i = event.index;
      if (this.receivedAt[i] !== undefined) {
        this.duplicates++;
        continue;
      }
      if (i < this.max) this.outOfOrder++;
      this.max = Math.max(this.max, i);
      this.receivedAt[i] = at;
      this.received++;
      const want = expected[i];
      if (want === undefined) this.unchecked.push({ index: i, event });
      else if (!same(want, event)) this.wrongData++;
    }
    const last = batch.events.at(-1);
    if (last && batch.next !== last.index + 1) this.badBatches++;
    this.lastNext = batch.next;
    if (batch.status === 'DONE') this.done = true;
  }

  close(): void {
    if (!this.ended) this.client?.close();
    this.client = undefined;
  }
}

const same = (a: Expected, b: Expected) => a.data === b.data && a.type === b.type && a.time === b.time;

/** Runs `fn` for 0…n-1, at most `concurrency` at a time; results in order. */
async function inPool<T>(n: number, concurrency: number, fn: (k: number) => Promise<T>): Promise<T[]> {
  const out = new Array<T>(n);
  let next = 0;
  const worker = async () => {
    while (next < n) {
      const k = next++;
      out[k] = await fn(k);
    }
  };
  await Promise.all(Array.from({ length: Math.min(n, concurrency) }, worker));
  return out;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Whether `promise` settled within `ms`. */
async function within(promise: Promise<unknown>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<false>((resolve) => (timer = setTimeout(() => resolve(false), ms)));
  const settled = await Promise.race([promise.then(() => true), timeout]);
  clearTimeout(timer);
  return settled;
}

/** Sampling interval of the load generator's event-loop delay, ms. */
const LOOP_RESOLUTION_MS = 5;
/** Rounds of subscriptions opened and closed on an idle-check server before its baseline. */
const WARM_ROUNDS = 3;
/** Subscriptions opened at a time while establishing them. */
const OPENING = 50;
/** How long a subscription may take to receive its first batch, and subscribers to complete after the close. */
const WAIT_MS = 30_000;

function check(followers: Follower[]): DeliveryCheck {
  const c: DeliveryCheck = {
    subscribers: followers.length,
    events: 0,
    duplicates: 0,
    outOfOrder: 0,
    missing: 0,
    wrongData: 0,
    badBatches: 0,
    failed: 0,
    firstError: undefined,
  };
  for (const f of followers) {
    const total = f.session.total;
    for (const { index, event } of f.unchecked) {
      const want = f.session.expected[index];
      if (index >= total) c.badBatches++; // an event the recorders never had acknowledged
      else if (!want || !same(want, event)) c.wrongData++;
    }
    let got = 0;
    for (let i = 0; i < total; i++) if (f.receivedAt[i] !== undefined) got++;
    c.events += f.received;
    c.missing += total - got;
    c.duplicates += f.duplicates;
    c.outOfOrder += f.outOfOrder;
    c.wrongData += f.wrongData;
    c.badBatches += f.badBatches + (f.done && f.lastNext !== total ? 1 : 0);
    const why = f.error ?? (!f.done ? 'no DONE batch' : !f.completed ? 'not completed' : undefined);
    if (why) {
      c.failed++;
      c.firstError ??= why;
    }
  }
  return c;
}

/**
 * Scenario: live subscribers (issue #11), PostgreSQL only. Two replicas of reel on one database;
 * `--live-sessions` sessions, each with one closed-loop recorder appending calls of 1–4 KiB
 * (`--live-kib`) through replica A or B alternately, and `--live-subscribers` subscriptions spread
 * evenly over the sessions, half of each session's on each replica. Each repeat measures the same
 * recorders twice, back to back in alternating order: without subscribers and with them, for
 * windows of `--append-seconds` after `--append-warmup-seconds`. Every session starts with one
 * stored append, so that each subscription is known to be established (it has received that first
 * batch) before the window starts; after the window the sessions are closed and every subscriber
 * must complete after a DONE batch, having received every event exactly once and in order, as sent.
 * Then, on a freshly started server per transport (a smoke run: replica B), `--live-idle`
 * subscriptions to as many open sessions that receive no appends, and the server's RSS before and
 * after, each read after a full GC.
 */
export async function runLive(ctx: RunContext): Promise<LiveScenarioResult | undefined> {
  const { opts, db, log } = ctx;
  if (db.kind !== 'postgres') {
    log('  live: PostgreSQL only (replicas on one database, woken by its notifications)');
    return undefined;
  }
  const work = appendWorkload(opts.liveKib[0] * 1024, opts.liveKib[1] * 1024);
  const { warmupMs, measureMs } = windowMs(opts);
  const S = opts.liveSessions;
  const N = opts.liveSubscribers;
  const transport = opts.liveTransport;
  const settleMs = opts.smoke ? 500 : 2000;
  const key = db.key;
  const database = new URL(db.databaseUrl!).pathname.slice(1);
  const pool = work.json.length;

  const expectedCalls = new Map<number, Expected[]>();
  const expectedOf = (call: number): Expected[] => {
    let e = expectedCalls.get(call);
    if (!e) {
      e = work.calls[call]!.map((ev) => ({ time: ev.time, type: TYPE_NAME[ev.type], data: ev.data.toString('base64') }));
      expectedCalls.set(call, e);
    }
    return e;
  };
  /** Opens a session on `server` and appends one call of the workload (sequence 0) to it. */
  const primed = async (server: ServerProcess, s: number): Promise<Tracked> => {
    const id = await openSession(server.url, key, 'terminal', 'live');
    const call = (s * 61 + pool - 1) % pool;
    const t = new Tracked(id, expectedOf);
    const reply = await gqlOk<{ appendSessionEvents: { eventCount: number } }>(server.url, key, APPEND, appendVariables(id, 0, work.json[call]!));
    t.ack(call, reply.appendSessionEvents.eventCount, performance.now(), false);
    return t;
  };

  log(
    `  live: ${S} sessions, ${N} ${TRANSPORT_NAME[transport]} subscribers, calls of ${opts.liveKib.join('–')} KiB ` +
      `(mean ${(work.payloadBytes / 1024).toFixed(1)} KiB, ${work.eventsPerCall.toFixed(1)} events)`,
  );
  const result: LiveScenarioResult = {
    transport,
    sessions: S,
    subscribers: N,
    callBytes: { min: Math.min(...work.callBytes), max: Math.max(...work.callBytes), mean: work.payloadBytes },
    eventsPerCall: work.eventsPerCall,
    seconds: opts.appendSeconds,
    warmupSeconds: opts.appendWarmupSeconds,
    repeats: [],
    idleSessions: opts.liveIdle,
    settleMs,
    idle: [],
  };

  // ---- under load: two replicas, recorders with and without subscribers ----
  const a = opts.smoke ? await ctx.server('reel') : await ctx.fresh('reel');
  // A smoke run checks the idle subscriptions on replica B (with the inspector) rather than start another server.
  const bInspector = opts.smoke ? await freePort() : undefined;
  const b = await startServer({
    kind: 'reel',
    env: db.env,
    logDir: ctx.logDir,
    cpuProfDir: opts.cpuProfDir,
    nodeArgs: bInspector ? [`--inspect=127.0.0.1:${bInspector}`] : [],
  });
  const servers = [a, b];
  let idleServer: { server: ServerProcess; inspector: Inspector; owned: boolean } | undefined;
  const stopIdle = async () => {
    idleServer?.inspector.close();
    if (idleServer?.owned) await idleServer.server.stop();
    idleServer = undefined;
  };
  try {
    const measure = async (subscribed: boolean): Promise<LiveWindow> => {
      // The recorder of session s appends through replica s % 2.
      const tracked = await inPool(S, 16, (s) => primed(servers[s % 2]!, s));
      let followers: Follower[] = [];
      let subscribeMs = 0;
      if (subscribed) {
        const started = performance.now();
        // Subscriber n follows session n % S, on replica A or B so that each session has as many on each.
        followers = await inPool(N, OPENING, async (n) => {
          const s = n % S;
          const f = new Follower(tracked[s]!, transport, servers[(s + Math.floor(n / S)) % 2]!, key);
          tracked[s]!.followers.push(f);
          if (!(await within(f.firstBatch, WAIT_MS))) f.error ??= `no first batch within ${WAIT_MS / 1000} s`;
          return f;
        });
        subscribeMs = performance.now() - started;
      }
      const delay = monitorEventLoopDelay({ resolution: LOOP_RESOLUTION_MS });
      let backends = new Map<number, number>();
      let databaseCpuMs = 0;
      const windowStarts = setTimeout(() => {
        delay.enable();
        backends = databaseBackendsCpu(database);
      }, warmupMs);
      const windowEnds = setTimeout(() => (databaseCpuMs = backendsCpuBetween(backends, databaseBackendsCpu(database))), warmupMs + measureMs);
      const appends = await Promise.all(
        servers.map((server, r) => {
          const mine = tracked.filter((_, s) => s % 2 === r);
          return measureReel(server, key, mine.length, work, warmupMs, measureMs, {
            open: mine.map((t) => ({ id: t.id, sequence: 1 })),
            onAck: (w, call, eventCount, at, counted) => mine[w]!.ack(call, eventCount, at, counted),
          });
        }),
      );
      clearTimeout(windowStarts);
      clearTimeout(windowEnds);
      delay.disable();
      // The histogram holds the intervals between its timer's runs: less the interval, the delay.
      const lag = (ns: number) => Math.max(0, ns / 1e6 - LOOP_RESOLUTION_MS);
      const loopDelay = { p50: lag(delay.percentile(50)), p99: lag(delay.percentile(99)), max: lag(delay.max) };
      // measureReel has closed the sessions: every subscriber gets its DONE batch and completes.
      const closed = performance.now();
      await within(Promise.all(followers.map((f) => f.finished)), WAIT_MS);
      const drainMs = performance.now() - closed;
      for (const f of followers) f.close();

      const latencies: number[] = [];
      let early = 0;
      for (const t of tracked) {
        for (const append of t.appends) {
          if (!append.counted) continue;
          for (const f of t.followers) {
            const at = f.receivedAt[append.last];
            if (at === undefined) continue; // missing: counted by the check
            latencies.push(at - append.at);
            if (at < append.at) early++;
          }
        }
      }
      const w: LiveWindow = { subscribed, appends, subscribeMs, drainMs, latencies, early, check: subscribed ? check(followers) : undefined, loopDelay, databaseCpuMs };
      const rate = appends.reduce((n, x) => n + (x.appends / x.elapsedMs) * 1000, 0);
      const errors = appends.reduce((n, x) => n + x.errors + x.otherErrors, 0);
      const firstAppendError = appends.find((x) => x.firstError)?.firstError;
      const cpu =
        `load generator ${((appends[0]!.clientCpuMs / measureMs) * 100).toFixed(0)}% (loop delay p99 ${loopDelay.p99.toFixed(1)} ms), ` +
        `servers ${appends.map((x) => ((x.serverCpuMs / measureMs) * 100).toFixed(0)).join(' + ')}%, PostgreSQL ${((databaseCpuMs / measureMs) * 100).toFixed(0)}% of a core`;
      const c = w.check;
      log(
        `  ${subscribed ? 'with' : 'without'} subscribers: ${rate.toFixed(0)} appends/s, ack p99 ${percentile(appends.flatMap((x) => x.latencies), 99).toFixed(1)} ms, ` +
          `append errors ${errors}; ${cpu}` +
          (c
            ? `; ${N} subscribed in ${(subscribeMs / 1000).toFixed(1)} s; delivery p50 ${percentile(latencies, 50).toFixed(1)} ms, p99 ${percentile(latencies, 99).toFixed(1)} ms, ` +
              `max ${latencies.reduce((m, x) => Math.max(m, x), 0).toFixed(1)} ms over ${latencies.length} deliveries (${early} before the ack); ` +
              `${c.events} events received, faults ${deliveryFaults(c)} (dup ${c.duplicates}, order ${c.outOfOrder}, missing ${c.missing}, data ${c.wrongData}, ` +
              `batches ${c.badBatches}, failed ${c.failed}); all completed ${(drainMs / 1000).toFixed(2)} s after the close` +
              (c.firstError ? `; first failure: ${c.firstError.slice(0, 200)}` : '')
            : '') +
          (firstAppendError ? `; first append error: ${firstAppendError.slice(0, 200)}` : ''),
      );
      return w;
    };
    for (let rep = 0; rep < opts.repeat; rep++) {
      // Alternate which goes first, so that neither always runs on a warmer or cooler machine.
      const first = rep % 2 === 1;
      const x = await measure(first);
      const y = await measure(!first);
      result.repeats.push(first ? { with: x, without: y } : { without: x, with: y });
    }

    result.catchUp = await catchUp(ctx, a);

    // ---- idle: many subscriptions, nothing appended ----
    // The sessions are made through replica A (the idle servers' baseline must not include their
    // making), then each transport gets a freshly started server of its own, with the inspector so
    // that RSS is read after a full GC (a smoke run: replica B, for both).
    const idleSessions = await inPool(opts.liveIdle, 16, (s) => primed(a, s));
    if (!opts.smoke) {
      await b.stop();
      await ctx.stopAll();
    }
    for (const t of LIVE_TRANSPORTS) {
      if (bInspector) idleServer ??= { server: b, inspector: await connectInspector(bInspector), owned: false };
      else {
        await stopIdle();
        const port = await freePort();
        const server = await startServer({ kind: 'reel', env: db.env, logDir: ctx.logDir, cpuProfDir: opts.cpuProfDir, nodeArgs: [`--inspect=127.0.0.1:${port}`] });
        idleServer = { server, inspector: await connectInspector(port), owned: true };
      }
      const { server, inspector } = idleServer;
      const open = (count: number) =>
        inPool(count, OPENING, async (k) => {
          const f = new Follower(idleSessions[k]!, t, server, key);
          if (!(await within(f.firstBatch, WAIT_MS))) f.error ??= `no first batch within ${WAIT_MS / 1000} s`;
          return f;
        });
      const settled = async () => {
        await sleep(settleMs);
        const rss = server.memory().rss;
        await inspector.collectGarbage();
        await sleep(200);
        return { settled: rss, collected: server.memory().rss, heap: await inspector.heapUsed() };
      };
      // Warm-up: three times, a tenth as many subscriptions (at least 20) opened and closed, so that
      // what the server sets up once (optimised code, the query engine's memory, pools) is in the
      // baseline; after one round RSS may still move by tens of MiB, after three it holds still.
      for (let round = 0; round < WARM_ROUNDS; round++) {
        const warm = await open(Math.min(idleSessions.length, Math.max(20, Math.round(idleSessions.length / 10))));
        for (const f of warm) f.close();
      }
      const before = await settled();
      const started = performance.now();
      const followers = await open(idleSessions.length);
      const establishMs = performance.now() - started;
      const after = await settled();
      const failedOnes = followers.filter((f) => f.error !== undefined || f.ended);
      const stillOpen = followers.filter((f) => !f.ended).length;
      for (const f of followers) f.close();
      const closed = await settled();
      const r: IdleResult = {
        transport: t,
        subscriptions: followers.length,
        establishMs,
        rssBefore: before.collected,
        rssSettled: after.settled,
        rssAfter: after.collected,
        rssClosed: closed.collected,
        growth: after.collected - Math.min(before.collected, closed.collected),
        heapBefore: before.heap,
        heapAfter: after.heap,
        heapClosed: closed.heap,
        open: stillOpen,
        failed: failedOnes.length,
        firstError: failedOnes[0]?.error ?? (failedOnes[0] ? 'ended' : undefined),
      };
      result.idle.push(r);
      const mib = (n: number) => (n / MiB).toFixed(1);
      log(
        `  idle ${TRANSPORT_NAME[t]}: ${r.subscriptions} subscriptions established in ${(establishMs / 1000).toFixed(1)} s; RSS after GC ${mib(r.rssBefore)} → ` +
          `${mib(r.rssAfter)} → ${mib(r.rssClosed)} MiB once closed: growth ${mib(r.growth)} MiB, ${(r.growth / 1024 / r.subscriptions).toFixed(1)} KiB each ` +
          `(${mib(r.rssSettled)} MiB before the GC with them open; JS heap ${mib(r.heapBefore)} → ${mib(r.heapAfter)} → ${mib(r.heapClosed)} MiB); ` +
          `${r.open} open, ${r.failed} failed${r.firstError ? `: ${r.firstError.slice(0, 200)}` : ''}`,
      );
    }
  } finally {
    await stopIdle();
    await b.stop();
  }
  return result;
}

/** Catch-up of one big closed session by one SSE subscriber, against its raw download (CatchUpResult). */
async function catchUp(ctx: RunContext, server: ServerProcess): Promise<CatchUpResult> {
  const { opts, db, log } = ctx;
  const loaded = await loadSession(server.url, db.key, 'terminal', 'catch-up', batchCalls(terminalEvents(23), opts.liveCatchUpMib * MiB, 8 * MiB));
  const result: CatchUpResult = {
    bytes: loaded.totals.bytes,
    events: loaded.totals.events,
    downloadMs: [],
    catchUpMs: [],
    rss: [],
    batches: 0,
    faults: 0,
  };
  const subscribeOnce = () =>
    new Promise<void>((resolve) => {
      let next = 0;
      let bytes = 0;
      let done = false;
      let batches = 0;
      subscribe('sse', server.url, db.key, loaded.id, 0, {
        batch(batch) {
          batches++;
          for (const e of batch.events) {
            if (e.index !== next) result.faults++;
            next = e.index + 1;
            bytes += Buffer.byteLength(e.data, 'base64');
          }
          if (batch.status === 'DONE') done = true;
        },
        error: () => result.faults++,
        end(completed) {
          if (!completed || !done || next !== loaded.totals.events || bytes !== loaded.totals.bytes) result.faults++;
          result.batches = batches;
          resolve();
        },
      });
    });
  for (let rep = 0; rep < opts.repeat; rep++) {
    const link = await rawLink(server, db.key, loaded.id);
    const reply = await download(link);
    if (reply.status !== 200 || reply.bytes !== loaded.totals.bytes) throw new Error(`catch-up baseline: HTTP ${reply.status}, ${reply.bytes} bytes`);
    result.downloadMs.push(reply.ms);
    const before = server.memory().rss;
    const sampler = rssSampler(server.pid);
    const started = performance.now();
    await subscribeOnce();
    result.catchUpMs.push(performance.now() - started);
    result.rss.push({ before, peak: sampler.stop() });
  }
  const mbps = (ms: number[]) => (result.bytes / 1e6 / (median(ms) / 1000)).toFixed(0);
  log(
    `  catch-up of ${(result.bytes / MiB).toFixed(0)} MiB (${result.events} events): subscription ${mbps(result.catchUpMs)} MB/s in ${result.batches} batches, ` +
      `raw download ${mbps(result.downloadMs)} MB/s; server RSS peak +${(Math.max(...result.rss.map((r) => r.peak - r.before)) / MiB).toFixed(1)} MiB; faults ${result.faults}`,
  );
  return result;
}
