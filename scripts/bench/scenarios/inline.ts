import type { RunContext } from '../context.ts';
import { gql } from '../http.ts';
import type { ServerProcess } from '../proc.ts';

export type InlineFormat = 'UTF8' | 'RAW_QUERIES';

export interface InlineRun {
  format: InlineFormat;
  sessionBytes: number;
  /** Bytes of the rendered value's source events the format reads (output+error, or input). */
  readsBytes: number;
  responseBytes: number;
  latencies: number[];
  /** Server CPU (user + system) per request, ms, one value per repeat. */
  cpuMs: number[];
}

const QUERY = (format: InlineFormat) => `query ($id: ID!) { session(id: $id) { eventStream(format: ${format}) } }`;

/**
 * Scenario 2: `eventStream(format: UTF8)` on the terminal session and `RAW_QUERIES` on the Postgres
 * wire-protocol session, one request at a time, after two warm-up requests each.
 */
export async function runInline(
  ctx: RunContext,
  server: ServerProcess,
  sessions: Record<InlineFormat, { id: string; bytes: number; readsBytes: number }>,
): Promise<InlineRun[]> {
  const { opts, db, log } = ctx;
  const runs: InlineRun[] = (['UTF8', 'RAW_QUERIES'] as const).map((format) => ({
    format,
    sessionBytes: sessions[format].bytes,
    readsBytes: sessions[format].readsBytes,
    responseBytes: 0,
    latencies: [],
    cpuMs: [],
  }));
  const once = async (run: InlineRun) => {
    const reply = await gql<{ session: { eventStream: unknown[] } | null }>(server.url, db.key, QUERY(run.format), {
      id: sessions[run.format].id,
    });
    const stream = reply.data?.session?.eventStream;
    if (reply.errors?.length || !Array.isArray(stream) || stream.length === 0) {
      throw new Error(`inline ${run.format}: ${JSON.stringify(reply.errors ?? reply.data).slice(0, 300)}`);
    }
    run.responseBytes = reply.bytes;
    return reply.ms;
  };
  for (const run of runs) for (let w = 0; w < 2; w++) await once(run);
  for (let r = 0; r < opts.repeat; r++) {
    // A block of requests per format, the order alternating per repeat; server CPU is measured
    // per block, which a busy machine disturbs less than latency.
    for (const run of r % 2 === 0 ? runs : [...runs].reverse()) {
      const cpuBefore = server.cpuMs();
      for (let k = 0; k < opts.inlineRequests; k++) run.latencies.push(await once(run));
      run.cpuMs.push((server.cpuMs() - cpuBefore) / opts.inlineRequests);
    }
    log(`  inline repeat ${r + 1}: ${runs.map((run) => `${run.format} last ${run.latencies.at(-1)!.toFixed(0)} ms, ${run.cpuMs.at(-1)!.toFixed(0)} ms CPU/req`).join('; ')}`);
  }
  return runs;
}
