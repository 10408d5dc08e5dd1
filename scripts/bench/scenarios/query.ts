import { createHash } from 'node:crypto';
import type { RunContext } from '../context.ts';
import { closedLoop } from '../http.ts';
import type { ServerProcess } from '../proc.ts';
import { rng } from '../data.ts';

export type QueryKind = 'session' | 'sessions';
export type Target = 'graphql' | 'bare';

export interface QueryWindow {
  kind: QueryKind;
  target: Target;
  requests: number;
  errors: number;
  elapsedMs: number;
  /** Server process CPU (user + system) during the window, ms. */
  serverCpuMs: number;
  latencies: number[];
}

export interface QueryResult {
  sessions: number;
  connections: number;
  seconds: number;
  windows: QueryWindow[];
}

const SESSION_QUERY = `query ($id: ID!) { session(id: $id) {
  id status verb type connectionSubtype roleName resourceName userId userEmail userName identityType
  startDate endDate exitCode correlationId sessionBatchId metadata connectionTags scriptSize
  metrics { eventSize truncated } } }`;
const SESSIONS_QUERY = `{ sessions(first: 20) { edges { cursor node {
  id status verb type connectionSubtype roleName userId userEmail startDate endDate } }
  pageInfo { hasNextPage endCursor } } }`;

/** The id of bulk session n (see insertBulkSessions): md5('reel-bench-' || n) as a UUID. */
export function bulkSessionId(n: number): string {
  const h = createHash('md5').update(`reel-bench-${n}`).digest('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}

/**
 * Scenario 4: closed-loop load at `connections` concurrent keep-alive connections, `session(id)` for
 * random stored sessions and the first page of `sessions`, against reel's GraphQL endpoint and the
 * bare node:http baseline, alternating in every repeat. On PostgreSQL both servers stay up; on
 * PGlite (one process per directory) they take turns, restarted each time.
 */
export async function runQuery(ctx: RunContext): Promise<QueryResult> {
  const { opts, db, log } = ctx;
  const r = rng(99);
  const ids = Array.from({ length: 5000 }, () => bulkSessionId(1 + Math.floor(r() * opts.sessions)));
  const gqlBody = (query: string, variables: unknown) => Buffer.from(JSON.stringify({ query, variables }));
  const bodies: Record<Target, Record<QueryKind, Buffer[]>> = {
    graphql: { session: ids.map((id) => gqlBody(SESSION_QUERY, { id })), sessions: [gqlBody(SESSIONS_QUERY, {})] },
    bare: { session: ids.map((id) => Buffer.from(JSON.stringify({ id }))), sessions: [Buffer.from('{}')] },
  };
  const path: Record<Target, Record<QueryKind, string>> = {
    graphql: { session: '/graphql', sessions: '/graphql' },
    bare: { session: '/session', sessions: '/sessions' },
  };
  const found: Record<QueryKind, (b: Buffer) => boolean> = {
    session: (b) => b.includes('"session":{"id":"') && !b.includes('"errors"'),
    sessions: (b) => b.includes('"edges":[{"cursor"') && !b.includes('"errors"'),
  };
  const headers = { 'content-type': 'application/json', authorization: `Bearer ${db.key}` };
  const warmMs = opts.smoke ? 300 : 5000;

  const warmed = new Set<number>();
  const serverFor = async (target: Target): Promise<ServerProcess> => {
    const server = await ctx.server(target === 'graphql' ? 'reel' : 'bare');
    if (!warmed.has(server.pid)) {
      warmed.add(server.pid);
      for (const kind of ['session', 'sessions'] as const) {
        await closedLoop({ url: server.url + path[target][kind], headers, bodies: bodies[target][kind], connections: opts.connections, durationMs: warmMs, check: found[kind] });
      }
    }
    return server;
  };

  const windows: QueryWindow[] = [];
  if (!opts.smoke) await ctx.stopAll();
  for (let rep = 0; rep < opts.repeat; rep++) {
    // Alternate which target goes first, so neither always runs on a warmer or cooler machine.
    const order: Target[] = rep % 2 === 0 ? ['graphql', 'bare'] : ['bare', 'graphql'];
    for (const target of order) {
      const server = await serverFor(target);
      for (const kind of ['session', 'sessions'] as const) {
        const cpuBefore = server.cpuMs();
        const res = await closedLoop({
          url: server.url + path[target][kind],
          headers,
          bodies: bodies[target][kind],
          connections: opts.connections,
          durationMs: opts.querySeconds * 1000,
          check: found[kind],
        });
        const serverCpuMs = server.cpuMs() - cpuBefore;
        if (res.errors > 0) throw new Error(`${target} ${kind}: ${res.errors} failed requests, first: ${res.firstError}`);
        windows.push({ kind, target, requests: res.requests, errors: res.errors, elapsedMs: res.elapsedMs, serverCpuMs, latencies: res.latencies });
        const sorted = [...res.latencies].sort((a, b) => a - b);
        log(
          `  ${target.padEnd(7)} ${kind.padEnd(8)} ${((res.requests / res.elapsedMs) * 1000).toFixed(0)} req/s, ` +
            `p50 ${sorted[Math.floor(sorted.length * 0.5)]!.toFixed(1)} ms, p99 ${sorted[Math.floor(sorted.length * 0.99)]!.toFixed(1)} ms, ` +
            `server CPU ${((serverCpuMs / res.requests) * 1000).toFixed(0)} µs/req`,
        );
      }
    }
  }
  return { sessions: opts.sessions, connections: opts.connections, seconds: opts.querySeconds, windows };
}
