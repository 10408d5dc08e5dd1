import type { RunContext } from '../context.ts';
import type { BenchEvent, StreamTotals } from '../data.ts';
import { withPlainConnection } from '../db.ts';
import { download, gql, gqlOk } from '../http.ts';
import { rssSampler, type ServerProcess } from '../proc.ts';
import { inAlternateOrder, median, mbPerSec } from '../stats.ts';

/** The window's length: the last this many seconds of the session. */
export const WINDOW_SECONDS = 10;

/** Requests of each window kind per repeat (a window takes milliseconds: one sample would be noise). */
const WINDOW_REQUESTS = 5;
const SMOKE_WINDOW_REQUESTS = 2;

/** One kind of request, one value per request. */
export interface WindowTimings {
  /** Download (or GraphQL request) time, link issued beforehand, ms. */
  ms: number[];
  firstByteMs: number[];
  /** The downloadLink mutation that issued each link, ms (none for the inline request, nor its first byte and RSS). */
  linkMs: number[];
  /** Server peak RSS during each request (VmHWM after clear_refs, and 20 ms sampling), bytes. */
  rssPeak: number[];
  /** Bytes of the last reply: the file, or the GraphQL response. */
  bytes: number;
}

export interface WindowResult {
  sessionBytes: number;
  events: number;
  /** sessions.until_time: the latest event time of the session, seconds since its start. */
  lastTime: number;
  seconds: number;
  from: number;
  /** The `to` of the window with both bounds: lastTime + 1. */
  to: number;
  /** Events and payload bytes with time ≥ from, counted from the generated events (not by reel). */
  windowEvents: number;
  windowBytes: number;
  /** The session's chunks, and those with until_time ≥ from (what a windowed read reads), with their stored bytes. */
  chunks: number;
  chunkBytes: number;
  windowChunks: number;
  windowChunkBytes: number;
  /** Server RSS after start-up and warm-up, bytes. */
  rssBase: number;
  /** Requests of each window kind per repeat. */
  requestsPerRepeat: number;
  /** (a) the full raw download of the session (all event types): the baseline. */
  full: WindowTimings;
  /** (b) a raw download of `from: last − 10`, no `to`. */
  window: WindowTimings;
  /** (c) a raw download of `from: last − 10, to: last + 1`. */
  bounded: WindowTimings;
  /** (d) `session(id) { eventStream(format: RAW, from: last − 10) }`, inline. */
  inline: WindowTimings;
}

const LINK = 'mutation ($id: ID!, $from: Float, $to: Float) { downloadLink(sessionId: $id, extension: "raw", events: [INPUT, OUTPUT, ERROR], from: $from, to: $to) { downloadUrl } }';
const INLINE = 'query ($id: ID!, $from: Float) { session(id: $id) { eventStream(format: RAW, from: $from) } }';

const timings = (): WindowTimings => ({ ms: [], firstByteMs: [], linkMs: [], rssPeak: [], bytes: 0 });

/**
 * Time windows (issue #12): on the download scenario's terminal session, the last 10 seconds
 * against the whole session, from the same freshly started server, alternating. The session's last
 * event time is read from `sessions.until_time`; the expected window (events with time ≥ from) is
 * counted from the same generated events the session was loaded from, and must match reel's last
 * event time, the windowed downloads' bytes and the inline rendering's events.
 */
export async function runWindow(
  ctx: RunContext,
  session: { id: string; totals: StreamTotals },
  calls: () => Iterable<readonly BenchEvent[]>,
): Promise<WindowResult> {
  const { opts, db, log } = ctx;
  if (opts.smoke) await ctx.releaseDatabase();
  else await ctx.stopAll();

  // What reel stored: the session's last event time, and the chunks a window from it reads.
  const stored = await withPlainConnection(db, async (conn) => {
    const [s] = (await conn.query('SELECT until_time FROM sessions WHERE id = $1', [session.id])) as { until_time: number | null }[];
    const lastTime = s?.until_time;
    if (typeof lastTime !== 'number') throw new Error(`window: sessions.until_time of ${session.id} is ${String(lastTime)}`);
    const from = lastTime - WINDOW_SECONDS;
    const [c] = (await conn.query(
      `SELECT count(*)::int AS chunks, coalesce(sum(octet_length(data)), 0)::float8 AS bytes,
              (count(*) FILTER (WHERE until_time >= $2))::int AS window_chunks,
              coalesce(sum(octet_length(data)) FILTER (WHERE until_time >= $2), 0)::float8 AS window_bytes,
              (count(*) FILTER (WHERE until_time IS NULL))::int AS unknown
       FROM session_event_chunks WHERE session_id = $1`,
      [session.id, from],
    )) as { chunks: number; bytes: number; window_chunks: number; window_bytes: number; unknown: number }[];
    if (c!.unknown > 0) throw new Error(`window: ${c!.unknown} chunks without until_time: a windowed read would start at the first of them`);
    return { lastTime, from, chunks: c!.chunks, chunkBytes: Number(c!.bytes), windowChunks: c!.window_chunks, windowChunkBytes: Number(c!.window_bytes) };
  });
  const { lastTime, from } = stored;
  const to = lastTime + 1;

  // The expected window, from the generated events themselves.
  let generatedLast = Number.NEGATIVE_INFINITY;
  let generatedBytes = 0;
  let windowEvents = 0;
  let windowBytes = 0;
  for (const call of calls()) {
    for (const e of call) {
      generatedLast = Math.max(generatedLast, e.time);
      generatedBytes += e.data.length;
      if (e.time >= from) {
        windowEvents++;
        windowBytes += e.data.length;
      }
    }
  }
  if (generatedBytes !== session.totals.bytes) throw new Error(`window: regenerated ${generatedBytes} bytes, the session holds ${session.totals.bytes}`);
  if (generatedLast !== lastTime) throw new Error(`window: sessions.until_time is ${lastTime}, the last event generated was at ${generatedLast}`);
  if (windowEvents === 0 || windowBytes === 0) throw new Error(`window: no event in the last ${WINDOW_SECONDS} s of the session`);
  log(
    `  last event at ${lastTime.toFixed(3)} s; window from ${from.toFixed(3)} s: ${windowEvents} events, ${(windowBytes / 1024).toFixed(1)} KiB; ` +
      `reads ${stored.windowChunks} of ${stored.chunks} chunks (${(stored.windowChunkBytes / 1024).toFixed(1)} KiB of ${(stored.chunkBytes / 2 ** 20).toFixed(1)} MiB)`,
  );

  const server: ServerProcess = opts.smoke ? await ctx.server('reel') : await ctx.fresh('reel');
  const requests = opts.smoke ? SMOKE_WINDOW_REQUESTS : WINDOW_REQUESTS;
  const result: WindowResult = {
    sessionBytes: session.totals.bytes,
    events: session.totals.events,
    lastTime,
    seconds: WINDOW_SECONDS,
    from,
    to,
    windowEvents,
    windowBytes,
    chunks: stored.chunks,
    chunkBytes: stored.chunkBytes,
    windowChunks: stored.windowChunks,
    windowChunkBytes: stored.windowChunkBytes,
    rssBase: 0,
    requestsPerRepeat: requests,
    full: timings(),
    window: timings(),
    bounded: timings(),
    inline: timings(),
  };

  /** A fresh link, then its download, with the server's peak RSS; checks the bytes. */
  const fetchRaw = async (into: WindowTimings | undefined, bounds: { from?: number; to?: number }, expected: number, what: string) => {
    const link = await gqlOk<{ downloadLink: { downloadUrl: string } }>(server.url, db.key, LINK, { id: session.id, ...bounds });
    const url = link.downloadLink.downloadUrl;
    if (bounds.from !== undefined && !url.includes(`&from=${bounds.from}`)) throw new Error(`${what}: the link does not bind from=${bounds.from}: ${url}`);
    if (bounds.to !== undefined && !url.includes(`&to=${bounds.to}`)) throw new Error(`${what}: the link does not bind to=${bounds.to}: ${url}`);
    server.resetPeak();
    const sampler = rssSampler(server.pid);
    const res = await download(url);
    const peak = Math.max(sampler.stop(), server.memory().hwm);
    if (res.status !== 200 || res.bytes !== expected) throw new Error(`${what}: HTTP ${res.status}, ${res.bytes} bytes, expected ${expected}`);
    if (into) {
      into.ms.push(res.ms);
      into.firstByteMs.push(res.firstByteMs);
      into.linkMs.push(link._ms);
      into.rssPeak.push(peak);
      into.bytes = res.bytes;
    }
    return res;
  };
  const full = (into?: WindowTimings) => fetchRaw(into, {}, session.totals.bytes, 'full raw download');
  const window = (into?: WindowTimings) => fetchRaw(into, { from }, windowBytes, `window from ${from}`);
  const bounded = (into?: WindowTimings) => fetchRaw(into, { from, to }, windowBytes, `window from ${from} to ${to}`);
  const inline = async (into?: WindowTimings) => {
    const reply = await gql<{ session: { eventStream: [number, string, string][] } | null }>(server.url, db.key, INLINE, { id: session.id, from });
    const stream = reply.data?.session?.eventStream;
    if (reply.errors?.length || !Array.isArray(stream)) throw new Error(`inline eventStream(from: ${from}): ${JSON.stringify(reply.errors ?? reply.data).slice(0, 300)}`);
    let bytes = 0;
    for (const [time, , data] of stream) {
      if (!(time >= from)) throw new Error(`inline eventStream(from: ${from}): an event at ${time}`);
      bytes += Buffer.from(data, 'base64').length;
    }
    if (stream.length !== windowEvents || bytes !== windowBytes) {
      throw new Error(`inline eventStream(from: ${from}): ${stream.length} events, ${bytes} bytes; expected ${windowEvents}, ${windowBytes}`);
    }
    if (into) {
      into.ms.push(reply.ms);
      into.bytes = reply.bytes;
    }
  };

  // Warm-up: one of each.
  await full();
  await window();
  await bounded();
  await inline();
  await new Promise((r) => setTimeout(r, 200));
  result.rssBase = server.memory().rss;

  for (let r = 0; r < opts.repeat; r++) {
    const windows = async () => {
      for (let k = 0; k < requests; k++) {
        await window(result.window);
        await bounded(result.bounded);
        await inline(result.inline);
      }
    };
    await inAlternateOrder(r, async () => void (await full(result.full)), windows);
    const last = (t: WindowTimings) => median(t.ms.slice(-requests));
    const fullMs = result.full.ms.at(-1)!;
    log(
      `  full ${(session.totals.bytes / 2 ** 20).toFixed(0)} MiB in ${fullMs.toFixed(0)} ms (${mbPerSec(session.totals.bytes, fullMs).toFixed(0)} MB/s); ` +
        `last ${WINDOW_SECONDS} s: from ${last(result.window).toFixed(1)} ms (${((last(result.window) / fullMs) * 100).toFixed(2)}%), ` +
        `from+to ${last(result.bounded).toFixed(1)} ms, inline ${last(result.inline).toFixed(1)} ms; ` +
        `links ${median(result.window.linkMs.slice(-requests)).toFixed(1)} ms`,
    );
  }
  return result;
}
