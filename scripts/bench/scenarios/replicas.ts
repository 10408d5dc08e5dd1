import { performance } from 'node:perf_hooks';
import type { RunContext } from '../context.ts';
import { batchCalls, terminalEvents } from '../data.ts';
import { download } from '../http.ts';
import { startServer, type ServerProcess } from '../proc.ts';
import { loadSession, rawLink } from '../sessions.ts';
import { MiB } from '../stats.ts';
import { appendWorkload, measureReel, windowMs, type ReelWindow } from './appends.ts';

/** One side of the comparison: every client on one replica, or the same clients split over two. */
export interface ReplicaSide {
  /** Per repeat, the append windows of each replica used (one or two), run at the same time. */
  appends: ReelWindow[][];
  /** Per repeat, the wall time of `downloads` concurrent raw downloads of the session, ms. */
  downloadMs: number[];
}

export interface ReplicasResult {
  /** Concurrent appending sessions, in all (split evenly over the replicas on the two-replica side). */
  sessions: number;
  /** Concurrent raw downloads of the session (split evenly likewise). */
  downloads: number;
  /** Bytes of one raw download. */
  downloadBytes: number;
  one: ReplicaSide;
  two: ReplicaSide;
}

const DOWNLOADS = 2;


/**
 * Scenario: two replicas of reel on one PostgreSQL database (issue #15). The session downloaded is
 * loaded through the second replica and downloaded from both. Each repeat measures the same load
 * twice, in alternating order: all on replica A, then split over A and B (small appends of
 * `--replica-sessions` sessions, half on each replica; `DOWNLOADS` concurrent raw downloads, one
 * from each). On this 2-core machine the replicas, PostgreSQL and the load generator share the
 * cores: the run shows that replicas work together on one database and what a second process
 * adds where one Node process is the limit, not what a second machine would add.
 */
export async function runReplicas(ctx: RunContext): Promise<ReplicasResult | undefined> {
  const { opts, db, log } = ctx;
  if (db.kind !== 'postgres') {
    log('  replicas: PostgreSQL only (an embedded PGlite directory belongs to one process)');
    return undefined;
  }
  const work = appendWorkload(opts.appendBytes);
  const { warmupMs, measureMs } = windowMs(opts);
  const sessions = opts.replicaSessions;
  const a = await ctx.fresh('reel');
  const b = await startServer({ kind: 'reel', env: db.env, logDir: ctx.logDir, cpuProfDir: opts.cpuProfDir });
  try {
    const loaded = await loadSession(b.url, db.key, 'terminal', 'replicas', batchCalls(terminalEvents(16), opts.replicaDownloadMib * MiB, 8 * MiB));
    log(`  replicas: ${(loaded.totals.bytes / MiB).toFixed(1)} MiB session loaded through replica B`);
    const result: ReplicasResult = {
      sessions,
      downloads: DOWNLOADS,
      downloadBytes: loaded.totals.bytes,
      one: { appends: [], downloadMs: [] },
      two: { appends: [], downloadMs: [] },
    };
    const measure = async (side: ReplicaSide, servers: ServerProcess[]) => {
      const windows = await Promise.all(servers.map((s) => measureReel(s, db.key, sessions / servers.length, work, warmupMs, measureMs)));
      side.appends.push(windows);
      const links = await Promise.all(Array.from({ length: DOWNLOADS }, (_, k) => rawLink(servers[k % servers.length]!, db.key, loaded.id)));
      const started = performance.now();
      const replies = await Promise.all(links.map((url) => download(url)));
      side.downloadMs.push(performance.now() - started);
      for (const r of replies) {
        if (r.status !== 200 || r.bytes !== loaded.totals.bytes) throw new Error(`replica download: HTTP ${r.status}, ${r.bytes} bytes`);
      }
      const appends = windows.reduce((n, w) => n + w.appends, 0);
      const errors = windows.reduce((n, w) => n + w.errors + w.otherErrors, 0);
      log(
        `  ${servers.length} replica${servers.length > 1 ? 's' : ''}: ${((appends / measureMs) * 1000).toFixed(0)} appends/s at ${sessions} sessions ` +
          `(errors ${errors}), ${DOWNLOADS} downloads in ${(side.downloadMs.at(-1)! / 1000).toFixed(2)} s`,
      );
    };
    for (let rep = 0; rep < opts.repeat; rep++) {
      const order: [ReplicaSide, ServerProcess[]][] = [
        [result.one, [a]],
        [result.two, [a, b]],
      ];
      for (const [side, servers] of rep % 2 === 0 ? order : order.reverse()) await measure(side, servers);
    }
    return result;
  } finally {
    await b.stop();
  }
}
