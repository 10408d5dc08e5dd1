import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { AppendsLevel, AppendsResult } from './scenarios/appends.ts';
import type { ReplicaSide, ReplicasResult } from './scenarios/replicas.ts';
import type { DownloadResult } from './scenarios/download.ts';
import type { InlineRun } from './scenarios/inline.ts';
import { deliveryFaults, type DeliveryCheck, type LiveScenarioResult } from './scenarios/live.ts';
import type { IngestResult } from './scenarios/ingest.ts';
import type { QueryKind, QueryResult, Target } from './scenarios/query.ts';
import { LATE, MANY, type SearchResult } from './scenarios/search.ts';
import type { WindowResult, WindowTimings } from './scenarios/window.ts';
import type { DbKind, BenchOptions } from './options.ts';
import { ROOT } from './proc.ts';
import { MiB, mbPerSec, median, percentile, summarize } from './stats.ts';
import { TRANSPORT_NAME } from './subscribers.ts';

export interface Environment {
  date: string;
  command: string;
  machine: { cpu: string; cores: number; memoryGiB: number; os: string; kernel: string };
  versions: Record<string, string>;
  /** 1-minute load average when the run started and ended (other work on the machine). */
  loadavg: { start: number; end: number };
}

export interface DbRun {
  key: string;
  db: DbKind;
  env: Environment;
  options: Pick<
    BenchOptions,
    | 'downloadMib'
    | 'downloadShapes'
    | 'downloadSmallMib'
    | 'inlineMib'
    | 'ingestMib'
    | 'ingestBatchKib'
    | 'recorders'
    | 'appendSessions'
    | 'appendBytes'
    | 'appendSeconds'
    | 'appendWarmupSeconds'
    | 'replicaSessions'
    | 'replicaDownloadMib'
    | 'liveSessions'
    | 'liveSubscribers'
    | 'liveIdle'
    | 'liveKib'
    | 'liveTransport'
    | 'searchSessions'
    | 'searchMib'
    | 'searchSessionMib'
    | 'searchQueries'
    | 'sessions'
    | 'connections'
    | 'querySeconds'
    | 'repeat'
    | 'inlineRequests'
    | 'smoke'
    | 'scenarios'
  >;
  database: { version: string; settings: Record<string, string> };
  setup: Record<string, number>;
  /** One per data shape. */
  download?: DownloadResult[];
  inline?: InlineRun[];
  ingest?: IngestResult;
  appends?: AppendsResult;
  replicas?: ReplicasResult;
  live?: LiveScenarioResult;
  query?: QueryResult;
  search?: SearchResult;
  window?: WindowResult;
  durationMs: number;
}

function pkgVersion(name: string): string {
  try {
    return JSON.parse(fs.readFileSync(path.join(ROOT, 'node_modules', name, 'package.json'), 'utf8')).version;
  } catch {
    return '?';
  }
}

export function environment(command: string): Environment {
  let distro = os.type();
  try {
    distro = /^PRETTY_NAME="?([^"\n]*)/m.exec(fs.readFileSync('/etc/os-release', 'utf8'))?.[1] ?? distro;
  } catch {
    // not Linux
  }
  let commit = '?';
  try {
    commit = execFileSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: ROOT, encoding: 'utf8' }).trim();
    const dirty = execFileSync('git', ['status', '--porcelain', '--untracked-files=no', 'src'], { cwd: ROOT, encoding: 'utf8' }).trim();
    if (dirty) commit += ' (src modified)';
  } catch {
    // not a checkout
  }
  return {
    date: new Date().toISOString(),
    command,
    machine: {
      cpu: os.cpus()[0]?.model.trim() ?? '?',
      cores: os.cpus().length,
      memoryGiB: Math.round(os.totalmem() / 2 ** 30),
      os: distro,
      kernel: os.release(),
    },
    versions: {
      reel: `${JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8')).version} @ ${commit}`,
      node: process.versions.node,
      '@electric-sql/pglite': pkgVersion('@electric-sql/pglite'),
      '@prisma/client': pkgVersion('@prisma/client'),
      'graphql-yoga': pkgVersion('graphql-yoga'),
      graphql: pkgVersion('graphql'),
      '@pothos/core': pkgVersion('@pothos/core'),
      pg: pkgVersion('pg'),
    },
    loadavg: { start: os.loadavg()[0]!, end: Number.NaN },
  };
}

// ---- derived numbers -----------------------------------------------------------------------------

export interface Row {
  scenario: string;
  metric: string;
  median: string;
  min: string;
  max: string;
  note: string;
}

export interface TargetCheck {
  target: string;
  measured: string;
  met: boolean;
  margin: string;
}

const f = (n: number, digits = 0) => (Number.isFinite(n) ? n.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits }) : '–');
const mib = (bytes: number) => `${f(bytes / MiB, 1)} MiB`;

export function downloadNumbers(d: DownloadResult) {
  const baselineAll = d.runs.flatMap((r) => r.baselineMs);
  const baselineMbps = summarize(baselineAll.map((ms) => mbPerSec(d.baselineBytes, ms)));
  const staticMbps = summarize(d.staticFile.ms.map((ms) => mbPerSec(d.staticFile.bytes, ms)));
  const raw = d.runs.find((r) => r.format === 'raw');
  const formats = d.runs.map((run) => {
    const outMbps = summarize(run.ms.map((ms) => mbPerSec(run.outputBytes, ms)));
    // Both sides read the same stored bytes: the ratio is baseline time over download time, each the
    // median of its block (the baseline reads ran just before this format's server started).
    const ratio = median(run.baselineMs) / median(run.ms);
    // The rendering against raw downloads of the same session from the same server, alternating with
    // it in its block: raw time over this format's time (how fast the session goes out, whatever the
    // output's size), and the same in output MB/s.
    const rawMs = run.rawMs.length ? run.rawMs : (raw?.ms ?? []);
    const vsRaw = median(rawMs) / median(run.ms);
    const vsRawOutput = raw ? (run.outputBytes / median(run.ms)) / (raw.outputBytes / median(rawMs)) : Number.NaN;
    const growth = run.rssPeak.map((p) => p - run.rssBase);
    return { run, outMbps, ratio, vsRaw, vsRawOutput, growth: summarize(growth), rssBase: run.rssBase, seconds: summarize(run.ms.map((ms) => ms / 1000)) };
  });
  // The static-file server sends the raw download's exact bytes: the ratio is its time over raw's,
  // each the median of the raw block, where the two alternate.
  const rawVsStatic = raw && d.staticFile.ms.length ? median(d.staticFile.ms) / median(raw.ms) : Number.NaN;
  return { baselineMbps, staticMbps, rawVsStatic, formats };
}

export const SHAPE_LABEL: Record<DownloadResult['shape'], string> = {
  terminal: 'terminal',
  psql: 'psql, line-heavy',
  small: 'psql in 1 KiB appends',
};

export const storageReadName = (db: DbKind) => (db === 'postgres' ? 'storage read (plain pg query)' : 'storage read (PGlite binary COPY)');
export const STATIC_NAME = 'static-file server (node:http + fs.createReadStream)';

export function appendsNumbers(a: AppendsResult) {
  return a.levels.map((level: AppendsLevel) => {
    const lat = level.reel.flatMap((w) => w.latencies);
    const baseLat = level.baseline.flatMap((w) => w.latencies);
    const rate = (n: number, ms: number) => (ms > 0 ? (n / ms) * 1000 : Number.NaN);
    // Paired per repeat (the two windows ran back to back), then the median of the pairs.
    const ratios = level.reel.map((w, k) => rate(w.appends, w.elapsedMs) / rate(level.baseline[k]!.inserts, level.baseline[k]!.elapsedMs));
    return {
      level,
      appendsPerSec: summarize(level.reel.map((w) => rate(w.appends, w.elapsedMs))),
      mbps: summarize(level.reel.map((w) => mbPerSec(w.payloadBytes, w.elapsedMs))),
      p50: percentile(lat, 50),
      p95: percentile(lat, 95),
      p99: percentile(lat, 99),
      p99windows: summarize(level.reel.map((w) => percentile(w.latencies, 99))),
      errors: level.reel.reduce((n, w) => n + w.errors, 0),
      otherErrors: level.reel.reduce((n, w) => n + w.otherErrors, 0),
      firstError: level.reel.find((w) => w.firstError)?.firstError,
      sockets: Math.min(...level.reel.map((w) => w.sockets)),
      clientCpu: median(level.reel.map((w) => w.clientCpuMs / w.elapsedMs)),
      serverCpu: median(level.reel.map((w) => w.serverCpuMs / w.elapsedMs)),
      baselinePerSec: summarize(level.baseline.map((w) => rate(w.inserts, w.elapsedMs))),
      baselineP50: percentile(baseLat, 50),
      baselineP99: percentile(baseLat, 99),
      baselineErrors: level.baseline.reduce((n, w) => n + w.errors, 0),
      baselineFirstError: level.baseline.find((w) => w.firstError)?.firstError,
      reportedTps: level.baseline.some((w) => w.reportedTps !== undefined) ? median(level.baseline.map((w) => w.reportedTps ?? Number.NaN)) : undefined,
      ratio: summarize(ratios),
    };
  });
}

/** "pgbench, 16 clients", "pgbench, 76–83 clients" (capped), "PGlite 1-connection insert loop". */
export function baselineLabel(a: AppendsResult, level: AppendsLevel): string {
  if (a.baseline.kind === 'pglite-loop') return a.baseline.name;
  const clients = level.baseline.map((w) => w.clients);
  const lo = Math.min(...clients);
  const hi = Math.max(...clients);
  return `${a.baseline.name}, ${lo === hi ? lo : `${lo}–${hi}`} clients`;
}

export function replicasNumbers(r: ReplicasResult) {
  /** Appends/s of each repeat: the replicas' windows ran at the same time, so their rates add up. */
  const rates = (x: ReplicaSide) => x.appends.map((windows) => windows.reduce((n, w) => n + (w.appends / w.elapsedMs) * 1000, 0));
  const side = (x: ReplicaSide) => {
    const lat = x.appends.flatMap((windows) => windows.flatMap((w) => w.latencies));
    return {
      appendsPerSec: summarize(rates(x)),
      p50: percentile(lat, 50),
      p99: percentile(lat, 99),
      errors: x.appends.flat().reduce((n, w) => n + w.errors + w.otherErrors, 0),
      serverCpu: median(x.appends.map((windows) => windows.reduce((n, w) => n + w.serverCpuMs / w.elapsedMs, 0))),
      downloadMbps: summarize(x.downloadMs.map((ms) => mbPerSec(r.downloads * r.downloadBytes, ms))),
    };
  };
  const paired = (a: number[], b: number[]) => summarize(a.map((v, k) => v / b[k]!));
  return {
    one: side(r.one),
    two: side(r.two),
    appendsRatio: paired(rates(r.two), rates(r.one)),
    downloadRatio: paired(r.one.downloadMs, r.two.downloadMs),
  };
}

export function liveNumbers(l: LiveScenarioResult) {
  /** Appends/s of a window: the two replicas' recorders ran at the same time, so their rates add up. */
  const rate = (w: LiveScenarioResult['repeats'][number]['with']) => w.appends.reduce((n, x) => n + (x.appends / x.elapsedMs) * 1000, 0);
  const withRates = l.repeats.map((r) => rate(r.with));
  const withoutRates = l.repeats.map((r) => rate(r.without));
  const lat = l.repeats.flatMap((r) => r.with.latencies);
  const checks = l.repeats.map((r) => r.with.check).filter((c): c is DeliveryCheck => c !== undefined);
  const sum = (key: keyof Omit<DeliveryCheck, 'firstError'>) => checks.reduce((n, c) => n + c[key], 0);
  const appendErrors = l.repeats.reduce((n, r) => n + [...r.with.appends, ...r.without.appends].reduce((m, w) => m + w.errors + w.otherErrors, 0), 0);
  const max = lat.reduce((m, x) => Math.max(m, x), Number.NEGATIVE_INFINITY);
  return {
    withPerSec: summarize(withRates),
    withoutPerSec: summarize(withoutRates),
    /** Paired per repeat (the two windows ran back to back). */
    ratio: summarize(withRates.map((v, k) => v / withoutRates[k]!)),
    deliveries: lat.length,
    early: l.repeats.reduce((n, r) => n + r.with.early, 0),
    p50: percentile(lat, 50),
    p99: percentile(lat, 99),
    max,
    p99windows: summarize(l.repeats.map((r) => percentile(r.with.latencies, 99))),
    maxWindows: summarize(l.repeats.map((r) => r.with.latencies.reduce((m, x) => Math.max(m, x), Number.NEGATIVE_INFINITY))),
    events: sum('events'),
    duplicates: sum('duplicates'),
    outOfOrder: sum('outOfOrder'),
    missing: sum('missing'),
    wrongData: sum('wrongData'),
    badBatches: sum('badBatches'),
    failed: sum('failed'),
    faults: checks.reduce((n, c) => n + deliveryFaults(c), 0),
    firstError: checks.find((c) => c.firstError)?.firstError,
    appendErrors,
    subscribeMs: summarize(l.repeats.map((r) => r.with.subscribeMs)),
    drainMs: summarize(l.repeats.map((r) => r.with.drainMs)),
    /** Medians over the repeats, for the windows with and without subscribers. */
    side: Object.fromEntries(
      (['with', 'without'] as const).map((k) => {
        const ws = l.repeats.map((r) => r[k]);
        const appends = (w: (typeof ws)[number]) => w.appends.reduce((n, x) => n + x.appends, 0);
        const serverMs = (w: (typeof ws)[number]) => w.appends.reduce((n, x) => n + x.serverCpuMs, 0);
        return [
          k,
          {
            clientCpu: median(ws.map((w) => w.appends[0]!.clientCpuMs / w.appends[0]!.elapsedMs)),
            serverCpu: median(ws.map((w) => serverMs(w) / w.appends[0]!.elapsedMs)),
            databaseCpu: median(ws.map((w) => w.databaseCpuMs / w.appends[0]!.elapsedMs)),
            /** Server CPU per append, both replicas, ms. */
            serverMsPerAppend: median(ws.map((w) => serverMs(w) / appends(w))),
            loopDelayP99: median(ws.map((w) => w.loopDelay.p99)),
            ackP99: percentile(ws.flatMap((w) => w.appends.flatMap((x) => x.latencies)), 99),
          },
        ];
      }),
    ) as Record<'with' | 'without', { clientCpu: number; serverCpu: number; databaseCpu: number; serverMsPerAppend: number; loopDelayP99: number; ackP99: number }>,
    idle: l.idle,
  };
}

export function inlineNumbers(run: InlineRun) {
  return { ...summarize(run.latencies), p95: percentile(run.latencies, 95) };
}

export function ingestNumbers(i: IngestResult) {
  const lat = i.repeats.flatMap((r) => r.latencies);
  return {
    eventsPerSec: summarize(i.repeats.map((r) => (r.events / r.ms) * 1000)),
    mbps: summarize(i.repeats.map((r) => mbPerSec(r.bytes, r.ms))),
    p50: percentile(lat, 50),
    p95: percentile(lat, 95),
    p99: percentile(lat, 99),
  };
}

export function queryNumbers(q: QueryResult) {
  const by = (kind: QueryKind, target: Target) => q.windows.filter((w) => w.kind === kind && w.target === target);
  const stats = (kind: QueryKind, target: Target) => {
    const ws = by(kind, target);
    const lat = ws.flatMap((w) => w.latencies);
    return {
      rps: summarize(ws.map((w) => (w.requests / w.elapsedMs) * 1000)),
      p50: percentile(lat, 50),
      p99: summarize(ws.map((w) => percentile(w.latencies, 99))),
      p99all: percentile(lat, 99),
      cpuUsPerReq: median(ws.map((w) => (w.serverCpuMs / w.requests) * 1000)),
    };
  };
  const kinds = (['session', 'sessions'] as const).map((kind) => {
    const graphql = stats(kind, 'graphql');
    const bare = stats(kind, 'bare');
    const g = by(kind, 'graphql');
    const b = by(kind, 'bare');
    // Paired per repeat (the windows of one repeat ran back to back), then the median of the pairs.
    const ratio = median(g.map((w, k) => (w.requests / w.elapsedMs) / (b[k]!.requests / b[k]!.elapsedMs)));
    const cpuShare = 1 - bare.cpuUsPerReq / graphql.cpuUsPerReq;
    return { kind, graphql, bare, ratio, cpuShare };
  });
  return kinds;
}

export function searchNumbers(s: SearchResult) {
  const needles = s.needles.map((n) => {
    const query = median(n.queryMs);
    const grepC = median(n.grepMs.C);
    const grepUtf8 = median(n.grepMs['C.UTF-8']);
    // The faster grep is the baseline (the C locale: its -i folds ASCII only, which is all a needle of ASCII letters needs).
    const grep = Math.min(grepC, grepUtf8);
    return { n, query: summarize(n.queryMs), grepC: summarize(n.grepMs.C), grepUtf8: summarize(n.grepMs['C.UTF-8']), grep, ratio: grep / query, ratioUtf8: grepUtf8 / query };
  });
  const b = s.big;
  const hitsMs = median(b.firstPageMs);
  const downloadMs = median(b.downloadMs);
  const rate = (x: { bytes: number; ms: number }) => mbPerSec(x.bytes, x.ms);
  const withMbps = s.ingest.with.map(rate);
  const withoutMbps = s.ingest.without.map(rate);
  return {
    needles,
    indexMbps: mbPerSec(s.corpus.streamBytes, s.indexing.ms),
    indexTextMbps: mbPerSec(s.storage.textBytes, s.indexing.ms),
    storageRatio: s.storage.indexBytes / s.storage.textBytes,
    bigStorageRatio: b.storage.indexBytes / b.storage.textBytes,
    hitsMs: summarize(b.firstPageMs),
    lateMs: summarize(b.lateFirstPageMs),
    downloadMs: summarize(b.downloadMs),
    hitsShare: hitsMs / downloadMs,
    withMbps: summarize(withMbps),
    withoutMbps: summarize(withoutMbps),
    /** Paired per repeat (the two windows ran back to back, order alternating). */
    ingestRatio: summarize(withMbps.map((v, k) => v / withoutMbps[k]!)),
    lagMs: summarize(s.ingest.lag.map((l) => l.wait.ms)),
    catchUpMbps: s.ingest.catchUp.length ? summarize(s.ingest.catchUp.map((x) => mbPerSec(x.bytes, x.wait.ms))) : undefined,
  };
}

export function windowNumbers(w: WindowResult) {
  const full = median(w.full.ms);
  /** Per repeat: the median of the repeat's windows over that repeat's full download. */
  const perRepeat = (t: WindowTimings) =>
    summarize(w.full.ms.map((ms, r) => median(t.ms.slice(r * w.requestsPerRepeat, (r + 1) * w.requestsPerRepeat)) / ms));
  const growth = (t: WindowTimings) => summarize(t.rssPeak.map((p) => (p - w.rssBase) / MiB));
  return {
    full: summarize(w.full.ms),
    fullFirstByte: median(w.full.firstByteMs),
    fullMbps: mbPerSec(w.sessionBytes, full),
    window: summarize(w.window.ms),
    windowFirstByte: median(w.window.firstByteMs),
    bounded: summarize(w.bounded.ms),
    boundedFirstByte: median(w.bounded.firstByteMs),
    inline: summarize(w.inline.ms),
    /** downloadLink mutations: the windowed links (both kinds), and the full download's. */
    windowLink: summarize([...w.window.linkMs, ...w.bounded.linkMs]),
    fullLink: summarize(w.full.linkMs),
    /** Time ratios of the medians: window ÷ full download, each without its link's issuance. */
    share: median(w.window.ms) / full,
    boundedShare: median(w.bounded.ms) / full,
    inlineShare: median(w.inline.ms) / full,
    shareRange: perRepeat(w.window),
    boundedRange: perRepeat(w.bounded),
    /** The same with each download's link issuance added (what a client waits in all). */
    shareWithLink: (median(w.window.ms) + median(w.window.linkMs)) / (full + median(w.full.linkMs)),
    fullGrowth: growth(w.full),
    windowGrowth: growth(w.window),
  };
}

export function rows(run: DbRun): Row[] {
  const out: Row[] = [];
  const push = (scenario: string, metric: string, s: { median: number; min: number; max: number }, digits: number, note = '') =>
    out.push({ scenario, metric, median: f(s.median, digits), min: f(s.min, digits), max: f(s.max, digits), note });
  const ratio = (scenario: string, metric: string, value: number, note = '', range?: { min: number; max: number }) =>
    out.push({ scenario, metric, median: `${f(value, 2)}×`, min: range ? `${f(range.min, 2)}×` : '', max: range ? `${f(range.max, 2)}×` : '', note });
  for (const d of run.download ?? []) {
    const n = downloadNumbers(d);
    const label = `download ${f(d.sessionBytes / MiB)} MiB, ${SHAPE_LABEL[d.shape]}`;
    const read = storageReadName(run.db);
    push(label, `${read}, MB/s`, n.baselineMbps, 0, `${mib(d.storedBytes)} of chunks; ${f(d.events)} events`);
    push(label, `${STATIC_NAME}, MB/s`, n.staticMbps, 0, `the raw download's bytes from a file, ${mib(d.staticFile.bytes)}`);
    for (const x of n.formats) push(label, `${x.run.format}, MB/s of output`, x.outMbps, 0, `output ${mib(x.run.outputBytes)}`);
    const raw = n.formats.find((x) => x.run.format === 'raw');
    if (raw) ratio(label, `raw ÷ ${STATIC_NAME}`, n.rawVsStatic, 'same bytes; time ratio, medians of the raw block (the two alternate)');
    for (const x of n.formats) ratio(label, `${x.run.format} ÷ ${read}`, x.ratio, 'same stored chunks; time ratio, medians of the format block');
    for (const x of n.formats.filter((y) => y.run.format !== 'raw')) {
      ratio(label, `${x.run.format} ÷ raw download`, x.vsRaw, `same session, same server, the two alternating; time ratio (in MB/s of output: ${f(x.vsRawOutput, 2)}×)`);
    }
    for (const x of n.formats) {
      push(label, `${x.run.format}, server RSS growth, MiB`, { median: x.growth.median / MiB, min: x.growth.min / MiB, max: x.growth.max / MiB }, 1, `over ${f(x.rssBase / MiB)} MiB after warm-up`);
    }
  }
  if (run.window) {
    const w = run.window;
    const n = windowNumbers(w);
    const label = `window, last ${w.seconds} s of a ${f(w.sessionBytes / MiB)} MiB terminal session`;
    const pct = (metric: string, value: number, range: { min: number; max: number } | undefined, note: string) =>
      out.push({ scenario: label, metric, median: `${f(value * 100, 2)}%`, min: range ? `${f(range.min * 100, 2)}%` : '', max: range ? `${f(range.max * 100, 2)}%` : '', note });
    const reads = `reads ${f(w.windowChunks)} of ${f(w.chunks)} chunks (${f(w.windowChunkBytes / 1024, 1)} KiB of ${mib(w.chunkBytes)} stored)`;
    push(label, 'full raw download (baseline), ms', n.full, 0, `${mib(w.sessionBytes)}, ${f(w.events)} events, all types; ${f(n.fullMbps)} MB/s; first byte ${f(n.fullFirstByte, 1)} ms; the same server, alternating with the windows`);
    push(label, 'raw download, from: last − 10, ms', n.window, 1, `${f(w.window.bytes / 1024, 1)} KiB, ${f(w.windowEvents)} events (as generated); first byte ${f(n.windowFirstByte, 1)} ms; ${reads}`);
    push(label, 'raw download, from: last − 10, to: last + 1, ms', n.bounded, 1, `${f(w.bounded.bytes / 1024, 1)} KiB; first byte ${f(n.boundedFirstByte, 1)} ms`);
    push(label, 'eventStream(format: RAW, from: last − 10), ms', n.inline, 1, `inline GraphQL reply of ${f(w.inline.bytes / 1024, 1)} KiB, ${f(w.windowEvents)} events checked`);
    push(label, 'downloadLink with from (and to), ms', n.windowLink, 1, `issuing the link, not in the download times; the full download's link: ${f(n.fullLink.median, 1)} ms`);
    pct('window (from) ÷ full download', n.share, n.shareRange, `time ratio of the medians (min/max: per repeat); with each link's issuance added: ${f(n.shareWithLink * 100, 2)}%`);
    pct('window (from, to) ÷ full download', n.boundedShare, n.boundedRange, 'time ratio of the medians (min/max: per repeat)');
    pct('inline eventStream window ÷ full download', n.inlineShare, undefined, 'time ratio of the medians; informative');
    push(label, 'server RSS growth, full download, MiB', n.fullGrowth, 1, `over ${f(w.rssBase / MiB)} MiB after warm-up; window (from): ${f(n.windowGrowth.median, 1)} MiB (max ${f(n.windowGrowth.max, 1)})`);
  }
  for (const r of run.inline ?? []) {
    const n = inlineNumbers(r);
    push(`inline ${f(r.sessionBytes / MiB)} MiB`, `${r.format} latency, ms`, n, 0, `p95 ${f(n.p95)} ms; ${f(median(r.cpuMs))} ms server CPU/req; reply ${mib(r.responseBytes)}`);
  }
  if (run.ingest) {
    const n = ingestNumbers(run.ingest);
    const label = `ingest, ${run.ingest.recorders} recorders`;
    push(label, 'events/s', n.eventsPerSec, 0, `${f(run.ingest.eventsPerBatch)} events, ${f(run.ingest.batchBytes / 1024)} KiB per call`);
    push(label, 'MB/s stored', n.mbps, 1, `ack p50 ${f(n.p50)} ms, p95 ${f(n.p95)} ms`);
  }
  if (run.appends) {
    const a = run.appends;
    for (const n of appendsNumbers(a)) {
      const label = `small appends, ${n.level.sessions} sessions`;
      const base = baselineLabel(a, n.level);
      push(label, 'reel appends/s', n.appendsPerSec, 0, `${f(a.callBytes)} B payload per call (${f(a.eventsPerCall, 1)} events, ~${f(a.requestBytes)} B request); payload ${f(n.mbps.median, 2)} MB/s; client CPU ${f(n.clientCpu * 100)}%, server CPU ${f(n.serverCpu * 100)}% of a core; ${n.sockets} sockets`);
      push(label, 'reel ack latency p99, ms', n.p99windows, 1, `all windows: p50 ${f(n.p50, 1)} ms, p95 ${f(n.p95, 1)} ms, p99 ${f(n.p99, 1)} ms`);
      out.push({
        scenario: label,
        metric: 'reel failed appends',
        median: f(n.errors),
        min: '',
        max: '',
        note: `in the measured windows; ${f(n.otherErrors)} more in warm-ups and closes${n.firstError ? `; first: ${n.firstError.slice(0, 120).replace(/[|\n]/g, ' ')}` : ''}`,
      });
      push(label, `${base}, inserts/s`, n.baselinePerSec, 0, [
        `p50 ${f(n.baselineP50, 1)} ms, p99 ${f(n.baselineP99, 1)} ms`,
        ...(n.reportedTps !== undefined ? [`pgbench's own tps ${f(n.reportedTps)} (with its warm-up)`] : []),
        ...(n.baselineErrors ? [`${n.baselineErrors} errors: ${(n.baselineFirstError ?? '').slice(0, 120).replace(/[|\n]/g, ' ')}`] : []),
        ...(n.level.capNote ? [n.level.capNote] : []),
      ].join('; '));
      ratio(label, `reel ÷ ${base}`, n.ratio.median, 'appends/s ÷ inserts/s, paired per repeat', n.ratio);
    }
  }
  if (run.replicas) {
    const r = run.replicas;
    const n = replicasNumbers(r);
    const label = 'two replicas, one PostgreSQL';
    const appendNote = (x: typeof n.one) =>
      `ack p50 ${f(x.p50, 1)} ms, p99 ${f(x.p99, 1)} ms; ${f(x.errors)} failed; server CPU ${f(x.serverCpu * 100)}% of a core in all`;
    push(label, `1 replica, ${r.sessions} sessions: appends/s`, n.one.appendsPerSec, 0, appendNote(n.one));
    push(label, `2 replicas, ${r.sessions / 2} sessions each: appends/s`, n.two.appendsPerSec, 0, appendNote(n.two));
    ratio(label, '2 replicas ÷ 1, appends/s', n.appendsRatio.median, 'paired per repeat', n.appendsRatio);
    push(label, `1 replica, ${r.downloads} raw downloads at once: MB/s in all`, n.one.downloadMbps, 0, `${mib(r.downloadBytes)} each, loaded through the other replica`);
    push(label, `2 replicas, ${r.downloads / 2} download${r.downloads > 2 ? 's' : ''} each: MB/s in all`, n.two.downloadMbps, 0, 'the same downloads, split over the replicas');
    ratio(label, '2 replicas ÷ 1, download MB/s', n.downloadRatio.median, 'paired per repeat', n.downloadRatio);
  }
  if (run.live) {
    const l = run.live;
    const n = liveNumbers(l);
    const label = `live, ${l.subscribers} ${TRANSPORT_NAME[l.transport]} subscribers on ${l.sessions} sessions, 2 replicas`;
    out.push({
      scenario: label,
      metric: 'delivery latency p50 / p99 / max, ms',
      median: `${f(n.p50, 1)} / ${f(n.p99, 1)} / ${f(n.max, 1)}`,
      min: '',
      max: '',
      note: `from the append's acknowledgement to each subscriber's receipt, ${f(n.deliveries)} deliveries in the measured windows, all repeats (${f(n.early)} before the ack)`,
    });
    push(label, 'delivery latency p99 per window, ms', n.p99windows, 1, `max per window ${f(n.maxWindows.min, 1)}–${f(n.maxWindows.max, 1)} ms`);
    const cpu = (x: (typeof n.side)['with']) =>
      `ack p99 ${f(x.ackP99, 1)} ms; CPU: servers ${f(x.serverCpu * 100)}% of a core (${f(x.serverMsPerAppend, 2)} ms per append), PostgreSQL backends ${f(x.databaseCpu * 100)}%, ` +
      `load generator ${f(x.clientCpu * 100)}% (event-loop delay p99 ${f(x.loopDelayP99, 1)} ms)`;
    push(label, 'appends/s without subscribers', n.withoutPerSec, 0, `${l.sessions} recorders, calls of ${f(l.callBytes.min / 1024, 1)}–${f(l.callBytes.max / 1024, 1)} KiB (mean ${f(l.callBytes.mean)} B, ${f(l.eventsPerCall, 1)} events); ${cpu(n.side.without)}`);
    push(label, 'appends/s with subscribers', n.withPerSec, 0, `the same recorders; ${cpu(n.side.with)}; ${f(n.appendErrors)} failed appends in all windows`);
    ratio(label, 'with ÷ without subscribers, appends/s', n.ratio.median, 'paired per repeat (back to back, order alternating)', n.ratio);
    out.push({
      scenario: label,
      metric: 'delivery faults',
      median: f(n.faults),
      min: '',
      max: '',
      note:
        `${f(n.events)} events received; duplicates ${f(n.duplicates)}, out of order ${f(n.outOfOrder)}, missing ${f(n.missing)}, wrong data ${f(n.wrongData)}, ` +
        `bad batches ${f(n.badBatches)}, failed subscriptions ${f(n.failed)}${n.firstError ? `; first: ${n.firstError.slice(0, 120).replace(/[|\n]/g, ' ')}` : ''}; ` +
        `subscribed in ${f(n.subscribeMs.median / 1000, 1)} s, all completed ${f(n.drainMs.median / 1000, 2)} s after the close`,
    });
    const c = l.catchUp;
    if (c) {
      const label = `live catch-up, ${f(c.bytes / MiB)} MiB closed session, 1 SSE subscriber`;
      const mbps = (ms: number[]) => summarize(ms.map((x) => c.bytes / 1e6 / (x / 1000)));
      push(label, 'subscription from event 0, MB/s of payload', mbps(c.catchUpMs), 0, `${f(c.events)} events in ${f(c.batches)} batches; faults ${f(c.faults)}`);
      push(label, 'raw download of the same session, MB/s', mbps(c.downloadMs), 0, 'what a user would do instead, from the same server');
      ratio(label, 'subscription ÷ raw download', median(c.downloadMs) / median(c.catchUpMs), 'time ratio of the medians');
      push(
        label,
        'server RSS peak growth during the catch-up, MiB',
        summarize(c.rss.map((r) => (r.peak - r.before) / MiB)),
        1,
        'peak RSS sampled every 20 ms, less RSS before the subscription',
      );
    }
    for (const i of n.idle) {
      const idleLabel = `live, ${f(i.subscriptions)} idle ${TRANSPORT_NAME[i.transport]} subscriptions, 1 server`;
      out.push({
        scenario: idleLabel,
        metric: 'server RSS growth, MiB',
        median: f(i.growth / MiB, 1),
        min: '',
        max: '',
        note:
          `RSS ${f(i.rssBefore / MiB, 1)} → ${f(i.rssAfter / MiB, 1)} MiB with them → ${f(i.rssClosed / MiB, 1)} MiB closed, each after a full GC (${f(i.rssSettled / MiB, 1)} MiB before the GC with them open); ` +
          `growth over the lower baseline, ${f(i.growth / 1024 / i.subscriptions, 1)} KiB per subscription; ` +
          `JS heap ${f(i.heapBefore / MiB, 1)} → ${f(i.heapAfter / MiB, 1)} → ${f(i.heapClosed / MiB, 1)} MiB (${f((i.heapAfter - i.heapBefore) / 1024 / i.subscriptions, 1)} KiB each); established in ${f(i.establishMs / 1000, 1)} s; ${f(i.open)} open, ${f(i.failed)} failed${i.firstError ? `: ${i.firstError.slice(0, 120).replace(/[|\n]/g, ' ')}` : ''}`,
      });
    }
  }
  if (run.query) {
    const label = `query, ${f(run.query.sessions)} sessions, ${run.query.connections} conns`;
    for (const k of queryNumbers(run.query)) {
      const name = k.kind === 'session' ? 'session(id)' : 'sessions first page';
      push(label, `${name} GraphQL, req/s`, k.graphql.rps, 0, `p50 ${f(k.graphql.p50, 1)} ms, p99 ${f(k.graphql.p99all, 1)} ms (windows ${f(k.graphql.p99.min)}–${f(k.graphql.p99.max)}); ${f(k.graphql.cpuUsPerReq)} µs server CPU/req`);
      push(label, `${name} bare node:http, req/s`, k.bare.rps, 0, `p50 ${f(k.bare.p50, 1)} ms, p99 ${f(k.bare.p99all, 1)} ms (windows ${f(k.bare.p99.min)}–${f(k.bare.p99.max)}); ${f(k.bare.cpuUsPerReq)} µs server CPU/req`);
      out.push({
        scenario: label,
        metric: `${name} GraphQL ÷ bare`,
        median: `${f(k.ratio, 2)}×`,
        min: '',
        max: '',
        note: `GraphQL layer: ${f((1 - k.ratio) * 100)}% of the time per request, ${f(k.cpuShare * 100)}% of the server CPU`,
      });
    }
  }
  if (run.search) {
    const s = run.search;
    const n = searchNumbers(s);
    const c = s.corpus;
    const label = `search, ${f(c.sessions)} sessions, ${mib(c.streamBytes)}`;
    const one = (v: number) => ({ median: v, min: v, max: v });
    const kinds = Object.entries(c.byKind).map(([k, v]) => `${k} ${f(v.sessions)} (${mib(v.bytes)})`).join(', ');
    const how = (w: { method: string; restarts: number }) => (w.method === 'poll' ? 'backlog polled in the database' : `until the server's CPU fell idle, checked once stopped${w.restarts ? `; ${w.restarts} restarts` : ''}`);
    push(label, 'indexing, MB/s of stream', one(n.indexMbps), 1, `${f(s.indexing.ms / 1000, 1)} s from the server's spawn (${how(s.indexing)}; /healthz answered after ${f((s.indexing.serverStartMs ?? 0) / 1000, 1)} s); ${f(n.indexTextMbps, 1)} MB/s of searchable text; ${f(c.events)} events, ${f(c.chunks)} chunks; ${kinds}; seeded by bulk SQL in ${f(c.seedMs / 1000, 1)} s`);
    out.push({
      scenario: label,
      metric: 'index storage ÷ searchable text',
      median: `${f(n.storageRatio, 2)}×`,
      min: '',
      max: '',
      note: `session_search_blocks ${mib(s.storage.indexBytes)} (table ${mib(s.storage.tableBytes)}, indexes ${mib(s.storage.indexesBytes)}, TOAST the rest) for ${mib(s.storage.textBytes)} of text in ${f(s.storage.blocks)} blocks; progress ${mib(s.storage.progressBytes)}; chunks ${mib(s.storage.chunksBytes)}`,
    });
    for (const x of n.needles) {
      const what = `${x.n.name} ${JSON.stringify(x.n.needle)}`;
      push(label, `${what}: sessions first page, ms`, x.query, 1, `${x.n.firstPage} nodes; ${f(x.n.listedSessions)} sessions listed in all (${f(x.n.expectedSessions)} hold it), every page of 100 in ${f(x.n.countMs / 1000, 2)} s${x.n.firstPageMissing ? `; first page missed ${x.n.firstPageMissing} of the newest 20` : ''}`);
      push(label, `${what}: grep -icF, ms`, x.grepC, 0, `LC_ALL=C, ${mib(s.grepFileBytes)} file of the same text, ${f(x.n.grepCount)} lines; C.UTF-8 ${f(x.grepUtf8.median)} ms`);
      ratio(label, `${what}: grep ÷ first page`, x.ratio, `time ratio of the medians, against the faster grep (C.UTF-8: ${f(x.ratioUtf8, 1)}×)`);
    }
    const b = s.big;
    const bl = `search, one ${f(b.bytes / MiB)} MiB terminal session`;
    push(bl, `searchHits first page, ${JSON.stringify(MANY)} (${f(b.hits)} hits), ms`, n.hitsMs, 1, `all ${f(b.hits)} hits paged through 100 at a time in ${f(b.countMs / 1000, 1)} s`);
    push(bl, `searchHits first page, ${JSON.stringify(LATE)} (${b.latePlanted} hits near the end), ms`, n.lateMs, 1, 'informative: no target');
    push(bl, 'raw download, ms', n.downloadMs, 0, `${f(mbPerSec(b.bytes, n.downloadMs.median))} MB/s, the same server, alternating with the searches`);
    out.push({ scenario: bl, metric: 'searchHits first page ÷ raw download', median: `${f(n.hitsShare * 100, 2)}%`, min: '', max: '', note: 'time ratio of the medians' });
    push(bl, 'loaded through appendSessionEvents, MB/s', one(mbPerSec(b.bytes, b.loadMs)), 1, `indexed ${f(b.lag.ms / 1000, 1)} s after the last append (${how(b.lag)}); index then ${mib(b.storage.indexBytes)} for ${mib(b.storage.textBytes)} of text (${f(n.bigStorageRatio, 2)}×)`);
    const il = `search, ingest with and without the indexer, ${run.options.recorders} recorders`;
    push(il, 'without the indexer, MB/s stored', n.withoutMbps, 1, `REEL_SEARCH_INDEXER=off; ${run.options.recorders} × ${run.options.ingestMib} MiB per window, as the ingest scenario`);
    push(il, 'with the indexer, MB/s stored', n.withMbps, 1, `indexed ${f(n.lagMs.median / 1000, 1)} s (${f(n.lagMs.min / 1000, 1)}–${f(n.lagMs.max / 1000, 1)}) after the window${s.ingest.lag[0]?.pendingEvents !== undefined ? `; events left at its end: ${s.ingest.lag.map((l) => f(l.pendingEvents ?? Number.NaN)).join(', ')}` : ''}`);
    ratio(il, 'with ÷ without the indexer', n.ingestRatio.median, 'paired per repeat (back to back, order alternating)', n.ingestRatio);
    if (n.catchUpMbps) push(il, 'indexing the backlog of a window without it, MB/s of stream', n.catchUpMbps, 1, `${mib(s.ingest.catchUp[0]!.bytes)} of terminal sessions, from the server's spawn, nothing else running`);
    const starts = (indexer: boolean) => s.serverStarts.filter((x) => x.indexer === indexer).map((x) => x.ms / 1000);
    if (starts(false).length) {
      push(il, 'server start-up without the indexer, s', summarize(starts(false)), 1, `spawn to /healthz answering; with it (and whatever it had to index): ${starts(true).map((x) => f(x, 1)).join(', ')} s`);
    }
  }
  return out;
}

/** The issue's targets (they are stated for PostgreSQL; computed for every database for comparison). */
export function targets(run: DbRun): TargetCheck[] {
  const out: TargetCheck[] = [];
  const check = (target: string, measured: number, limit: number, higherIsBetter: boolean, unit: string, digits = 2) => {
    const met = higherIsBetter ? measured >= limit : measured < limit;
    const factor = higherIsBetter ? measured / limit : limit / measured;
    out.push({
      target,
      measured: `${f(measured, digits)}${unit}`,
      met,
      margin: met ? (factor > 0 && Number.isFinite(factor) ? `${f(factor, 1)}× margin` : 'none measured') : higherIsBetter ? `at ${f(factor, 2)} of the target` : `${f(1 / factor, 2)}× the limit`,
    });
  };
  for (const d of run.download ?? []) {
    const n = downloadNumbers(d);
    const shape = SHAPE_LABEL[d.shape];
    for (const x of n.formats) {
      check(`download ${x.run.format} ≥ ${x.run.format === 'raw' ? 50 : 25}% of storage read (${shape})`, x.ratio * 100, x.run.format === 'raw' ? 50 : 25, true, '%', 0);
    }
    check(`download raw ≥ 60% of the static-file server (${shape})`, n.rawVsStatic * 100, 60, true, '%', 0);
    for (const x of n.formats.filter((y) => y.run.format !== 'raw')) {
      check(`download ${x.run.format} ≥ 50% of the raw download's speed (${shape})`, x.vsRaw * 100, 50, true, '%', 0);
    }
    const worst = Math.max(...n.formats.map((x) => x.growth.max));
    check(`server RSS growth during ${f(d.sessionBytes / MiB)} MiB download ≤ 64 MiB (worst format, ${shape})`, worst / MiB, 64, false, ' MiB', 1);
  }
  if (run.appends) {
    const a = run.appends;
    for (const n of appendsNumbers(a)) {
      const s = n.level.sessions;
      if (s === 16 || s === 64) {
        check(`small appends at ${s} sessions ≥ 25% of ${baselineLabel(a, n.level)}`, n.ratio.median * 100, 25, true, '%', 0);
      }
      if (s === 16) check('small appends ack p99 < 50 ms at 16 sessions', n.p99, 50, false, ' ms', 1);
      const failed = n.errors + n.otherErrors;
      out.push({ target: `small appends at ${s} sessions served without errors`, measured: `${f(failed)} failed`, met: failed === 0, margin: failed === 0 ? 'none failed' : `${f(failed)} failed` });
    }
  }
  if (run.live) {
    const l = run.live;
    const n = liveNumbers(l);
    const setup = `${l.subscribers} subscribers, ${l.sessions} sessions, 2 replicas`;
    check(`live delivery latency p99 < 100 ms (${setup})`, n.p99, 100, false, ' ms', 1);
    check(`live appends/s with ÷ without subscribers ≥ 0.80 (${setup})`, n.ratio.median, 0.8, true, '×', 2);
    out.push({
      target: 'live subscribers receive every event exactly once, in order',
      measured: `${f(n.faults)} faults`,
      met: n.faults === 0,
      margin: n.faults === 0 ? `none in ${f(n.events)} events` : `${f(n.faults)} faults`,
    });
    for (const i of n.idle) {
      check(`server RSS growth with ${f(i.subscriptions)} idle ${TRANSPORT_NAME[i.transport]} subscriptions < 64 MiB`, i.growth / MiB, 64, false, ' MiB', 1);
    }
  }
  if (run.query) {
    const s = queryNumbers(run.query).find((k) => k.kind === 'session')!;
    check('session(id) throughput ≥ 50% of bare baseline', s.ratio * 100, 50, true, '%', 0);
    check(`session(id) p99 < 50 ms at ${run.query.connections} connections`, s.graphql.p99all, 50, false, ' ms', 1);
  }
  if (run.search) {
    const s = run.search;
    const n = searchNumbers(s);
    const corpus = `${f(s.corpus.sessions)} sessions, ${f(s.corpus.streamBytes / MiB)} MiB`;
    for (const x of n.needles) {
      const need = x.n.name === 'rare' ? 20 : 5;
      check(`sessions(filter: { text }) first page ≥ ${need}× faster than grep -icF, ${x.n.name} (${corpus})`, x.ratio, need, true, '×', 1);
    }
    check(`searchHits first page < 10% of the raw download (${f(s.big.bytes / MiB)} MiB session, ${f(s.big.hits)} hits)`, n.hitsShare * 100, 10, false, '%', 2);
    check(`index storage ≤ 2× the searchable text (${corpus})`, n.storageRatio, 2.0001, false, '×', 2);
    check('ingest with the indexer ≥ 70% of without', n.ingestRatio.median * 100, 70, true, '%', 0);
    // Spec §12, not the issue's list: the last append of a window at full ingest speed, the worst case.
    check(`appends searchable within 5 s of their ack at full ingest speed (spec §12; worst window)`, n.lagMs.max / 1000, 5, false, ' s', 1);
  }
  if (run.window) {
    const w = run.window;
    const n = windowNumbers(w);
    const what = `a ${w.seconds}-second window at the end of a ${f(w.sessionBytes / MiB)} MiB session < 5% of its full raw download`;
    check(`${what} (from)`, n.share * 100, 5, false, '%', 2);
    check(`${what} (from and to)`, n.boundedShare * 100, 5, false, '%', 2);
  }
  const utf8 = run.inline?.find((r) => r.format === 'UTF8');
  if (utf8) check(`inline UTF8 of ${f(utf8.sessionBytes / MiB)} MiB < 1 s median`, median(utf8.latencies), 1000, false, ' ms', 0);
  return out;
}

// ---- output --------------------------------------------------------------------------------------

export function textTable(run: DbRun): string {
  const header: Row = { scenario: 'scenario', metric: 'metric', median: 'median', min: 'min', max: 'max', note: 'note' };
  const all = [header, ...rows(run)];
  const cols = ['scenario', 'metric', 'median', 'min', 'max'] as const;
  const width = Object.fromEntries(cols.map((c) => [c, Math.max(...all.map((r) => r[c].length))])) as Record<(typeof cols)[number], number>;
  const line = (r: Row) =>
    `${r.scenario.padEnd(width.scenario)}  ${r.metric.padEnd(width.metric)}  ${r.median.padStart(width.median)}  ${r.min.padStart(width.min)}  ${r.max.padStart(width.max)}  ${r.note}`;
  const t = targets(run).map((c) => `  ${c.met ? 'MET   ' : 'MISSED'} ${c.target}: ${c.measured} (${c.margin})`);
  const notes = run.appends ? [`small appends baseline: ${run.appends.baseline.name}: ${run.appends.baseline.description}`, ''] : [];
  return [`== ${run.key}: ${run.database.version.split(' on ')[0]}`, ...notes, line(header), ...all.slice(1).map(line), '', 'targets:', ...t].join('\n');
}

export function markdownSection(run: DbRun): string {
  const e = run.env;
  const md: string[] = [];
  md.push(`### ${run.key}`, '');
  md.push(`- date: ${e.date}, run took ${f(run.durationMs / 60000, 1)} min`);
  md.push(`- command: \`${e.command}\``);
  md.push(`- machine: ${e.machine.cpu}, ${e.machine.cores} cores, ${e.machine.memoryGiB} GiB, ${e.machine.os}, Linux ${e.machine.kernel}; load average ${f(e.loadavg.start, 1)} at start, ${f(e.loadavg.end, 1)} at end`);
  md.push(`- database: ${run.database.version.split(' on ')[0]} (${Object.entries(run.database.settings).map(([k, v]) => `${k}=${v}`).join(', ')})`);
  md.push(`- versions: ${Object.entries(e.versions).map(([k, v]) => `${k} ${v}`).join(', ')}`);
  const o = run.options;
  md.push(
    `- sizes: download ${o.downloadMib} MiB (${o.downloadShapes.join(', ')}${o.downloadShapes.includes('small') ? `; small: ${o.downloadSmallMib} MiB` : ''}), inline ${o.inlineMib} MiB, ingest ${o.recorders} × ${o.ingestMib} MiB per repeat in ~${o.ingestBatchKib} KiB calls, ` +
      `small appends of ${f(o.appendBytes)} B at ${o.appendSessions.join(', ')} sessions for ${o.appendSeconds} s windows after ${o.appendWarmupSeconds} s warm-up, ` +
      `${f(o.sessions)} sessions at ${o.connections} connections for ${o.querySeconds} s windows; ${o.repeat} repeats`,
  );
  if (run.search) {
    const s = run.search;
    md.push(
      `- search: a database of its own; ${f(s.corpus.sessions)} sessions holding ${mib(s.corpus.streamBytes)} of stream (bulk SQL, indexed by the server), ` +
        `one ${mib(s.big.bytes)} terminal session through the API; ${o.searchQueries} first-page requests per needle per repeat; ingest with and without the indexer as the ingest scenario's load`,
    );
  }
  if (run.window) {
    const w = run.window;
    md.push(
      `- time windows: the ${f(w.sessionBytes / MiB)} MiB terminal session of the download scenario; last event at ${f(w.lastTime, 1)} s (\`sessions.until_time\`), window from ${f(w.from, 1)} s; ` +
        `on a freshly started server, per repeat one full raw download and, alternating with it, ${w.requestsPerRepeat} × (raw download from, raw download from and to, inline \`eventStream(format: RAW, from)\`), each download through a fresh link`,
    );
  }
  if (run.appends) {
    const b = run.appends.baseline;
    md.push(`- small appends baseline: ${b.version || b.name}: ${b.description}; row ${f(b.rowBytes)} B`);
  }
  if (run.replicas) {
    md.push(`- two replicas: ${run.replicas.sessions} sessions appending ${f(o.appendBytes)} B calls and ${run.replicas.downloads} concurrent raw downloads, all on one replica, then split over two (alternating order per repeat)`);
  }
  if (run.live) {
    const l = run.live;
    md.push(
      `- live: ${l.sessions} sessions with a recorder each (alternating replicas, calls of ${o.liveKib.join('–')} KiB for ${l.seconds} s windows after ${l.warmupSeconds} s warm-up), ` +
        `${l.subscribers} ${TRANSPORT_NAME[l.transport]} subscribers (half of each session's on each replica), with and without them back to back (alternating order per repeat); ` +
        `${f(l.idleSessions)} idle subscriptions (one per open session) per transport on a fresh server, RSS read ${f(l.settleMs / 1000)} s after warm-up, after establishing them and after closing them, each time after a full GC`,
    );
  }
  md.push('', '| scenario | metric | median | min | max | note |', '|---|---|--:|--:|--:|---|');
  for (const r of rows(run)) md.push(`| ${r.scenario} | ${r.metric} | ${r.median} | ${r.min} | ${r.max} | ${r.note} |`);
  const t = targets(run);
  if (t.length) {
    md.push('', '| target | measured | result |', '|---|--:|---|');
    for (const c of t) md.push(`| ${c.target} | ${c.measured} | ${c.met ? 'met' : '**missed**'}, ${c.margin} |`);
  }
  return md.join('\n');
}

/** A JSON-friendly copy without per-request latency arrays (summarised instead). */
export function jsonRun(run: DbRun): unknown {
  return {
    ...run,
    inline: run.inline?.map(({ latencies, ...rest }) => ({ ...rest, latencyMs: inlineNumbers({ ...rest, latencies }) })),
    download: run.download?.map((d) => {
      const n = downloadNumbers(d);
      return {
        ...d,
        ratios: {
          rawOverStaticFileServer: n.rawVsStatic,
          overStorageRead: Object.fromEntries(n.formats.map((x) => [x.run.format, x.ratio])),
          overRawDownload: Object.fromEntries(n.formats.filter((x) => x.run.format !== 'raw').map((x) => [x.run.format, x.vsRaw])),
        },
      };
    }),
    appends: run.appends && {
      ...run.appends,
      levels: appendsNumbers(run.appends).map((n) => ({
        ...n.level,
        reel: n.level.reel.map(({ latencies, ...rest }) => ({ ...rest, ackP50Ms: percentile(latencies, 50), ackP95Ms: percentile(latencies, 95), ackP99Ms: percentile(latencies, 99) })),
        baseline: n.level.baseline.map(({ latencies, ...rest }) => ({ ...rest, p50Ms: percentile(latencies, 50), p99Ms: percentile(latencies, 99) })),
        ratioOverBaseline: n.ratio,
        ackP99Ms: n.p99,
      })),
    },
    replicas: run.replicas && {
      ...run.replicas,
      ...Object.fromEntries(
        (['one', 'two'] as const).map((k) => [
          k,
          { ...run.replicas![k], appends: run.replicas![k].appends.map((windows) => windows.map(({ latencies, ...rest }) => ({ ...rest, ackP99Ms: percentile(latencies, 99) }))) },
        ]),
      ),
      numbers: replicasNumbers(run.replicas),
    },
    live: run.live && {
      ...run.live,
      repeats: run.live.repeats.map((r) =>
        Object.fromEntries(
          (['without', 'with'] as const).map((k) => {
            const { latencies, appends, ...rest } = r[k];
            return [
              k,
              {
                ...rest,
                deliveryMs: latencies.length ? { n: latencies.length, p50: percentile(latencies, 50), p99: percentile(latencies, 99), max: latencies.reduce((m, x) => Math.max(m, x), Number.NEGATIVE_INFINITY) } : undefined,
                appends: appends.map(({ latencies: ack, ...w }) => ({ ...w, ackP99Ms: percentile(ack, 99) })),
              },
            ];
          }),
        ),
      ),
      numbers: (({ idle: _idle, ...rest }) => rest)(liveNumbers(run.live)),
    },
    ingest: run.ingest && {
      ...run.ingest,
      repeats: run.ingest.repeats.map(({ latencies, ...rest }) => ({ ...rest, ackP50Ms: percentile(latencies, 50), ackP95Ms: percentile(latencies, 95) })),
    },
    search: run.search && {
      ...run.search,
      ingest: {
        ...run.search.ingest,
        with: run.search.ingest.with.map(({ latencies, ...rest }) => ({ ...rest, ackP50Ms: percentile(latencies, 50), ackP95Ms: percentile(latencies, 95) })),
        without: run.search.ingest.without.map(({ latencies, ...rest }) => ({ ...rest, ackP50Ms: percentile(latencies, 50), ackP95Ms: percentile(latencies, 95) })),
      },
      numbers: (({ needles, ...rest }) => ({ ...rest, needles: needles.map(({ n: x, ...r }) => ({ name: x.name, ...r })) }))(searchNumbers(run.search)),
    },
    window: run.window && { ...run.window, numbers: windowNumbers(run.window) },
    query: run.query && {
      ...run.query,
      windows: run.query.windows.map(({ latencies, ...rest }) => ({
        ...rest,
        p50Ms: percentile(latencies, 50),
        p99Ms: percentile(latencies, 99),
        maxMs: Math.max(...latencies),
      })),
    },
    targets: targets(run),
  };
}

export function writeResults(file: string, runs: DbRun[]): void {
  let existing: { runs?: Record<string, unknown> } = {};
  try {
    existing = JSON.parse(fs.readFileSync(file, 'utf8'));
  } catch {
    // first run
  }
  const merged = { ...existing.runs };
  for (const run of runs) merged[run.key] = jsonRun(run);
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, `${JSON.stringify({ note: 'written by npm run bench; one entry per database and option set, the latest run of each', runs: merged }, null, 2)}\n`);
}

const RESULTS_END = '<!-- bench:results-end -->';

/** Replaces (or adds) each run's generated section in docs/benchmarks.md; the prose around them is kept. */
export function writeDocs(file: string, runs: DbRun[]): void {
  let doc = fs.existsSync(file)
    ? fs.readFileSync(file, 'utf8')
    : `# Benchmarks\n\n\`npm run bench\` (see \`scripts/bench.ts\`). Generated sections are rewritten by each run.\n\n## Results\n\n${RESULTS_END}\n`;
  for (const run of runs) {
    const begin = `<!-- bench:begin ${run.key} -->`;
    const end = `<!-- bench:end ${run.key} -->`;
    const section = `${begin}\n${markdownSection(run)}\n${end}`;
    const at = doc.indexOf(begin);
    const stop = doc.indexOf(end);
    if (at >= 0 && stop > at) doc = doc.slice(0, at) + section + doc.slice(stop + end.length);
    else if (doc.includes(RESULTS_END)) doc = doc.replace(RESULTS_END, `${section}\n\n${RESULTS_END}`);
    else doc += `\n${section}\n`;
  }
  fs.writeFileSync(file, doc);
}
