import fs from 'node:fs';
import path from 'node:path';
import type { RunContext } from '../context.ts';
import { baselineRead, storedSize } from '../db.ts';
import { download, gqlOk } from '../http.ts';
import type { DownloadShape } from '../options.ts';
import { rssSampler, startServer, type ServerProcess } from '../proc.ts';
import { median, mbPerSec } from '../stats.ts';
import type { StreamTotals } from '../data.ts';

export type FileFormat = 'raw' | 'csv' | 'json';
export const FORMATS: readonly FileFormat[] = ['raw', 'csv', 'json'];

/** The link each format is fetched with: all event types; CSV as the README shows it (time and newline). */
const LINK_ARGS: Record<FileFormat, string> = {
  raw: 'extension: "raw", events: [INPUT, OUTPUT, ERROR]',
  csv: 'extension: "csv", newline: true, eventTime: true, events: [INPUT, OUTPUT, ERROR]',
  json: 'extension: "json", events: [INPUT, OUTPUT, ERROR]',
};

export interface FormatRun {
  format: FileFormat;
  /** Download times, ms, one per repeat. */
  ms: number[];
  firstByteMs: number[];
  outputBytes: number;
  /** Baseline reads done just before this format's server started (same block). */
  baselineMs: number[];
  /**
   * CSV and JSON: a raw download of the same session from the same server just before each
   * measured download (the renderings are compared with raw in their own block); raw: its own times.
   */
  rawMs: number[];
  /** Server RSS after start-up and warm-up, bytes. */
  rssBase: number;
  /** Peak RSS during each download (max of VmHWM after clear_refs and 20 ms sampling), bytes. */
  rssPeak: number[];
}

export interface DownloadResult {
  /** The data the session holds: terminal output, or line-heavy psql result rows. */
  shape: DownloadShape;
  sessionBytes: number;
  storedBytes: number;
  storedOnDisk: number;
  events: number;
  baselineBytes: number;
  /**
   * The static-file baseline: the raw download's exact bytes, written to a file and sent by a
   * plain node:http + fs.createReadStream server, fetched by the same client, each one just
   * before a raw download (in the raw block).
   */
  staticFile: { bytes: number; ms: number[] };
  runs: FormatRun[];
}

async function link(url: string, key: string, sessionId: string, format: FileFormat): Promise<string> {
  const data = await gqlOk<{ downloadLink: { downloadUrl: string } }>(
    url,
    key,
    `mutation ($id: ID!) { downloadLink(sessionId: $id, ${LINK_ARGS[format]}) { downloadUrl } }`,
    { id: sessionId },
  );
  return data.downloadLink.downloadUrl;
}

/**
 * Scenario 1, for one data shape. First the raw download is saved to a file and a static-file
 * server started on it. For each format: the storage-read baseline (`repeat` times, with no reel
 * server running, so PGlite's directory is free and nothing else competes), then a freshly started
 * server, warmed up on a smaller session of the same shape, downloads the big session `repeat`
 * times while its RSS is sampled (peak = max of VmHWM, reset by clear_refs before each download,
 * and 20 ms VmRSS sampling); in the raw block each download is preceded by one from the
 * static-file server.
 */
export async function runDownload(
  ctx: RunContext,
  shape: DownloadShape,
  session: { id: string; totals: StreamTotals },
  warmupSessionId: string,
): Promise<DownloadResult> {
  const { db } = ctx;
  const file = path.join(ctx.workDir, `download-${shape}.raw`);
  {
    const server = await ctx.server('reel');
    const saved = await download(await link(server.url, db.key, session.id, 'raw'), file);
    if (saved.status !== 200 || saved.bytes !== session.totals.bytes) {
      throw new Error(`raw download to a file: HTTP ${saved.status}, ${saved.bytes} bytes, expected ${session.totals.bytes}`);
    }
  }
  let staticServer: ServerProcess | undefined;
  try {
    staticServer = await startServer({ kind: 'static', env: { REEL_BENCH_STATIC_FILE: file }, logDir: ctx.logDir });
    const staticUrl = `${staticServer.url}/file`;
    const fetchStatic = async () => {
      const res = await download(staticUrl);
      if (res.status !== 200 || res.bytes !== session.totals.bytes) throw new Error(`static-file download: HTTP ${res.status}, ${res.bytes} bytes`);
      return res;
    };
    await fetchStatic(); // warm-up
    return await measure(ctx, shape, session, warmupSessionId, fetchStatic);
  } finally {
    await staticServer?.stop();
    fs.rmSync(file, { force: true });
  }
}

async function measure(
  ctx: RunContext,
  shape: DownloadShape,
  session: { id: string; totals: StreamTotals },
  warmupSessionId: string,
  fetchStatic: () => Promise<{ bytes: number; ms: number }>,
): Promise<DownloadResult> {
  const { opts, db, log } = ctx;
  if (opts.smoke) await ctx.releaseDatabase();
  else await ctx.stopAll();
  const size = await storedSize(db, session.id);
  const staticFile = { bytes: session.totals.bytes, ms: [] as number[] };
  const runs: FormatRun[] = [];
  let baselineBytes = 0;
  const baselines = async () => {
    await ctx.releaseDatabase();
    const ms: number[] = [];
    for (let r = 0; r < opts.repeat; r++) {
      const read = await baselineRead(db, session.id);
      baselineBytes = read.bytes;
      ms.push(read.ms);
      log(`  baseline read ${(read.bytes / 2 ** 20).toFixed(0)} MiB in ${read.ms.toFixed(0)} ms (${mbPerSec(read.bytes, read.ms).toFixed(0)} MB/s)`);
    }
    return ms;
  };
  // Smoke: all baseline reads first, then one server for every format.
  const shared = opts.smoke ? await baselines() : undefined;
  for (const format of FORMATS) {
    const baselineMs = shared ?? (await baselines());
    const server = shared ? await ctx.server('reel') : await ctx.fresh('reel');
    for (const f of format === 'raw' ? ['raw' as const] : ['raw' as const, format]) {
      for (let w = 0; w < 2; w++) {
        const res = await download(await link(server.url, db.key, warmupSessionId, f));
        if (res.status !== 200) throw new Error(`warm-up download ${f}: HTTP ${res.status}`);
      }
    }
    await new Promise((r) => setTimeout(r, 200));
    const rssBase = server.memory().rss;
    const run: FormatRun = { format, ms: [], firstByteMs: [], outputBytes: 0, baselineMs, rawMs: [], rssBase, rssPeak: [] };
    for (let r = 0; r < opts.repeat; r++) {
      if (format === 'raw') {
        const s = await fetchStatic();
        staticFile.ms.push(s.ms);
        log(`  static file server ${(s.bytes / 2 ** 20).toFixed(0)} MiB in ${s.ms.toFixed(0)} ms (${mbPerSec(s.bytes, s.ms).toFixed(0)} MB/s)`);
      } else {
        const raw = await download(await link(server.url, db.key, session.id, 'raw'));
        if (raw.status !== 200 || raw.bytes !== session.totals.bytes) throw new Error(`raw download: HTTP ${raw.status}, ${raw.bytes} bytes`);
        run.rawMs.push(raw.ms);
        log(`  raw  ${(raw.bytes / 2 ** 20).toFixed(0)} MiB in ${raw.ms.toFixed(0)} ms (${mbPerSec(raw.bytes, raw.ms).toFixed(0)} MB/s), paired with ${format}`);
      }
      const url = await link(server.url, db.key, session.id, format);
      server.resetPeak();
      const sampler = rssSampler(server.pid);
      const res = await download(url);
      const sampled = sampler.stop();
      const peak = Math.max(sampled, server.memory().hwm);
      if (res.status !== 200) throw new Error(`download ${format}: HTTP ${res.status}`);
      if (format === 'raw' && res.bytes !== session.totals.bytes) {
        throw new Error(`raw download: ${res.bytes} bytes, expected ${session.totals.bytes}`);
      }
      run.ms.push(res.ms);
      if (format === 'raw') run.rawMs.push(res.ms);
      run.firstByteMs.push(res.firstByteMs);
      run.outputBytes = res.bytes;
      run.rssPeak.push(peak);
      log(
        `  ${format.padEnd(4)} ${(res.bytes / 2 ** 20).toFixed(0)} MiB in ${res.ms.toFixed(0)} ms ` +
          `(${mbPerSec(res.bytes, res.ms).toFixed(0)} MB/s out, ${(median(baselineMs) / res.ms).toFixed(2)}× the storage read` +
          `, ${format === 'raw' ? `${(staticFile.ms.at(-1)! / res.ms).toFixed(2)}× the static file server` : `${(run.rawMs.at(-1)! / res.ms).toFixed(2)}× the raw download`}), ` +
          `RSS ${(rssBase / 2 ** 20).toFixed(0)} → peak ${(peak / 2 ** 20).toFixed(0)} MiB`,
      );
    }
    runs.push(run);
  }
  return {
    shape,
    sessionBytes: session.totals.bytes,
    storedBytes: size.raw,
    storedOnDisk: size.stored,
    events: session.totals.events,
    baselineBytes,
    staticFile,
    runs,
  };
}
