import { performance } from 'node:perf_hooks';
import type { RunContext } from '../context.ts';
import { addTotals, batches, emptyTotals, eventsJson, terminalEvents } from '../data.ts';
import { gqlOk } from '../http.ts';
import type { ServerProcess } from '../proc.ts';
import { APPEND, appendVariables, closeSession, openSession } from '../sessions.ts';
import { MiB } from '../stats.ts';

export interface IngestRepeat {
  ms: number;
  events: number;
  bytes: number;
  calls: number;
  /** Per-call acknowledgement latencies, ms. */
  latencies: number[];
}

export interface IngestResult {
  recorders: number;
  batchBytes: number;
  eventsPerBatch: number;
  repeats: IngestRepeat[];
}

/**
 * Scenario 3: `recorders` concurrent recorders, each opening a session, appending its batches one
 * call at a time (the next sent when the previous one is acknowledged, i.e. committed) and closing
 * it. The request bodies are built before the clock starts.
 */
export async function runIngest(ctx: RunContext, server: ServerProcess): Promise<IngestResult> {
  const { opts, db, log } = ctx;
  const batchBytes = opts.ingestBatchKib * 1024;
  const prepared = [...batches(terminalEvents(7), opts.ingestMib * MiB, batchBytes)].map((b) => {
    const totals = emptyTotals();
    addTotals(totals, b.events);
    return { json: eventsJson(b.events), totals };
  });
  const perRecorder = emptyTotals();
  for (const p of prepared) {
    perRecorder.events += p.totals.events;
    perRecorder.bytes += p.totals.bytes;
  }

  const record = async (latencies: number[], calls: number) => {
    const id = await openSession(server.url, db.key, 'terminal', 'ingest');
    for (let q = 0; q < calls; q++) {
      const started = performance.now();
      await gqlOk(server.url, db.key, APPEND, appendVariables(id, q, prepared[q]!.json));
      latencies.push(performance.now() - started);
    }
    await closeSession(server.url, db.key, id);
  };

  await record([], Math.min(prepared.length, 4)); // warm-up
  const repeats: IngestRepeat[] = [];
  for (let r = 0; r < opts.repeat; r++) {
    const latencies: number[] = [];
    const started = performance.now();
    await Promise.all(Array.from({ length: opts.recorders }, () => record(latencies, prepared.length)));
    const ms = performance.now() - started;
    const rep = {
      ms,
      events: perRecorder.events * opts.recorders,
      bytes: perRecorder.bytes * opts.recorders,
      calls: prepared.length * opts.recorders,
      latencies,
    };
    repeats.push(rep);
    log(
      `  ingest ${(rep.bytes / MiB).toFixed(0)} MiB, ${rep.events} events in ${ms.toFixed(0)} ms: ` +
        `${((rep.events / ms) * 1000).toFixed(0)} events/s, ${(rep.bytes / 1e3 / ms).toFixed(1)} MB/s`,
    );
  }
  return {
    recorders: opts.recorders,
    batchBytes: perRecorder.bytes / prepared.length,
    eventsPerBatch: perRecorder.events / prepared.length,
    repeats,
  };
}
