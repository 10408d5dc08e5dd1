import { timingSafeEqual, createHash } from 'node:crypto';
import type http from 'node:http';
import type { Pool } from 'pg';
import client from 'prom-client';
import { sendJson } from './http.ts';

/*
 * What reel tells Prometheus (spec §16), through prom-client, on a registry of its own (never
 * prom-client's global one, which libraries may also fill). One per process: counters add up over
 * every server a process runs (tests run several). Labels take bounded values only — a route's
 * template, never its path; a format, an event type — so their number never grows with sessions.
 * GraphQL operations are counted by yoga's Prometheus plugin on the same registry (server.ts).
 */

export const registry = new client.Registry();
client.collectDefaultMetrics({ register: registry });

export const httpRequestDuration = new client.Histogram({
  name: 'reel_http_request_duration_seconds',
  help: 'HTTP requests by route template, method and status, from arrival to the end of the response.',
  labelNames: ['route', 'method', 'status'] as const,
  buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60],
  registers: [registry],
});

export const downloadBytes = new client.Counter({
  name: 'reel_download_bytes_total',
  help: 'Bytes of files sent by download links and the viewer, by format (raw, csv, json, cast, script, segment).',
  labelNames: ['format'] as const,
  registers: [registry],
});

export const ingestEvents = new client.Counter({
  name: 'reel_ingest_events_total',
  help: 'Events stored by appendSessionEvents, by type (i, o, e).',
  labelNames: ['type'] as const,
  registers: [registry],
});

export const ingestBytes = new client.Counter({
  name: 'reel_ingest_bytes_total',
  help: 'Payload bytes stored by appendSessionEvents, by event type (i, o, e).',
  labelNames: ['type'] as const,
  registers: [registry],
});

export const rateLimited = new client.Counter({
  name: 'reel_rate_limited_total',
  help: 'Requests refused with 429 by a rate limit: key (GraphQL, per API key), ingest (RECORDER keys), link (downloads and view pages).',
  labelNames: ['limit'] as const,
  registers: [registry],
});

export const rateLimitFailures = new client.Counter({
  name: 'reel_rate_limit_errors_total',
  help: 'Rate-limit checks that could not reach their buckets (PostgreSQL): the requests were let through unlimited.',
  registers: [registry],
});

export const auditWriteFailures = new client.Counter({
  name: 'reel_audit_write_failures_total',
  help: 'Audit events of reads and links whose batch could not be written (they are kept and retried).',
  registers: [registry],
});

export const auditDropped = new client.Counter({
  name: 'reel_audit_events_dropped_total',
  help: 'Audit events refused because too many were waiting to be written (the database kept failing).',
  registers: [registry],
});

/**
 * A response body, its bytes counted under `format` as they are sent (no metric without one: the
 * viewer's page) and told to `sent`, for the audit trail.
 */
export async function* countedBytes<T extends string | Uint8Array>(
  format: string | undefined,
  body: AsyncIterable<T>,
  sent?: (bytes: number) => void,
): AsyncGenerator<T> {
  const counter = format === undefined ? undefined : downloadBytes.labels({ format });
  for await (const chunk of body) {
    yield chunk;
    const bytes = typeof chunk === 'string' ? Buffer.byteLength(chunk) : chunk.length;
    counter?.inc(bytes);
    sent?.(bytes);
  }
}

/** What the gauges read when Prometheus scrapes: the running server's live hub and pool. */
interface Sources {
  liveSubscriptions?: () => number;
  auditQueue?: () => number;
  searchQueue?: () => number;
  pool?: Pool;
}
const sources: Sources = {};

/** Points the gauges at a running server's parts (the last server started wins). */
export function watch(next: Sources): void {
  Object.assign(sources, next);
}

new client.Gauge({
  name: 'reel_audit_queue',
  help: 'Audit events of reads and links this server has queued and not yet written (written every 200 ms).',
  registers: [registry],
  collect() {
    this.set(sources.auditQueue?.() ?? 0);
  },
});

new client.Gauge({
  name: 'reel_live_subscriptions',
  help: 'Live subscriptions (sessionEvents) open on this server.',
  registers: [registry],
  collect() {
    this.set(sources.liveSubscriptions?.() ?? 0);
  },
});

new client.Gauge({
  name: 'reel_search_indexing_queue',
  help: 'Sessions this server has queued for indexing (spec §12): new appends not yet searchable here. Other replicas keep their own queues.',
  registers: [registry],
  collect() {
    this.set(sources.searchQueue?.() ?? 0);
  },
});

new client.Gauge({
  name: 'reel_db_pool_connections',
  help: 'PostgreSQL connections of this process: open (total), idle, and requests waiting for one (waiting). Empty on the embedded database.',
  labelNames: ['state'] as const,
  registers: [registry],
  collect() {
    const pool = sources.pool;
    if (!pool) return;
    this.set({ state: 'total' }, pool.totalCount);
    this.set({ state: 'idle' }, pool.idleCount);
    this.set({ state: 'waiting' }, pool.waitingCount);
  },
});

/** The template of a path, for the route label: ids and tokens never become label values. */
export function routeTemplate(pathname: string): string {
  if (pathname === '/graphql' || pathname === '/healthz' || pathname === '/metrics' || pathname === '/.well-known/reel-signing-key.pem') return pathname;
  if (/^\/api\/sessions\/[^/]+\/download$/.test(pathname)) return '/api/sessions/:id/download';
  if (/^\/api\/sessions\/[^/]+\/download\/script$/.test(pathname)) return '/api/sessions/:id/download/script';
  const view = /^\/sessions\/[^/]+\/view(\/recording|\/segment)?$/.exec(pathname);
  if (view) return `/sessions/:id/view${view[1] ?? ''}`;
  if (/^\/view\/assets\/[^/]+$/.test(pathname)) return '/view/assets/:file';
  return 'other';
}

const digest = (s: string) => createHash('sha256').update(s).digest();

/**
 * GET /metrics: the exposition, for whoever holds REEL_METRICS_TOKEN as a Bearer token when it is
 * set (compared in constant time), for anyone otherwise.
 */
export async function serveMetrics(req: http.IncomingMessage, res: http.ServerResponse, token: string | undefined): Promise<void> {
  if (req.method !== 'GET' && req.method !== 'HEAD') {
    res.setHeader('Allow', 'GET, HEAD');
    sendJson(res, 405, { message: 'method not allowed', status: 405 });
    return;
  }
  if (token !== undefined) {
    const header = req.headers.authorization ?? '';
    const given = header.startsWith('Bearer ') ? header.slice(7) : '';
    if (!timingSafeEqual(digest(given), digest(token))) {
      res.setHeader('WWW-Authenticate', 'Bearer');
      sendJson(res, 401, { message: 'unauthorized', status: 401 });
      return;
    }
  }
  const body = await registry.metrics();
  res.writeHead(200, { 'Content-Type': registry.contentType, 'Cache-Control': 'no-store', 'Content-Length': Buffer.byteLength(body) });
  res.end(req.method === 'HEAD' ? undefined : body);
}
