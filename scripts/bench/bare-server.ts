/*
 * The query scenario's baseline: a bare node:http server in the same process shape as `reel serve`
 * (same config, same database code, same API-key check) answering the same lookups with the same
 * Prisma calls the GraphQL resolvers make, and JSON.stringify. What reel spends beyond this is the
 * GraphQL layer (yoga, parsing, validation, execution, Pothos).
 */
import http from 'node:http';
import { openAppDatabase } from '../../src/app.ts';
import { bearerKey, KeyCache } from '../../src/auth/keys.ts';
import { loadConfig } from '../../src/config.ts';
import type { prisma } from '../../src/db/client.ts';
import { createLogger } from '../../src/logger.ts';
import { findVisibleSession, findVisibleSessions } from '../../src/sessions/access.ts';

type Row = NonNullable<Awaited<ReturnType<ReturnType<typeof prisma>['session']['findFirst']>>>;

/** The fields the benchmark's GraphQL queries select, shaped as GraphQL would answer them. */
function sessionFields(s: Row) {
  const metrics = s.metrics !== null && typeof s.metrics === 'object' && !Array.isArray(s.metrics) ? (s.metrics as Record<string, unknown>) : null;
  return {
    id: s.id,
    status: s.status,
    verb: s.verb,
    type: s.type,
    connectionSubtype: s.connectionSubtype,
    roleName: s.roleName,
    resourceName: s.resourceName,
    userId: s.userId,
    userEmail: s.userEmail,
    userName: s.userName,
    identityType: s.identityType,
    startDate: s.startDate,
    endDate: s.endDate,
    exitCode: s.exitCode,
    correlationId: s.correlationId,
    sessionBatchId: s.sessionBatchId,
    metadata: s.metadata,
    connectionTags: s.connectionTags,
    scriptSize: s.scriptSize,
    metrics: metrics && { eventSize: Number(s.inputBytes + s.outputBytes + s.errorBytes), truncated: metrics.truncated === true },
  };
}

function listFields(s: Row) {
  return {
    id: s.id,
    status: s.status,
    verb: s.verb,
    type: s.type,
    connectionSubtype: s.connectionSubtype,
    roleName: s.roleName,
    userId: s.userId,
    userEmail: s.userEmail,
    startDate: s.startDate,
    endDate: s.endDate,
  };
}

const cursor = (id: string) => Buffer.from(`GPC:S:${id}`).toString('base64');

function send(res: http.ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'Content-Type': 'application/json; charset=utf-8', 'Content-Length': Buffer.byteLength(text) });
  res.end(text);
}

async function readBody(req: http.IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of req) chunks.push(c as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

const config = loadConfig();
const logger = createLogger(config.logLevel);
const db = await openAppDatabase(config, logger);
const keys = new KeyCache(config.keyCacheSeconds * 1000); // as reel's server does

const server = http.createServer(async (req, res) => {
  try {
    const path = req.url ?? '/';
    if (path === '/healthz') return send(res, 200, { status: 'ok' });
    const body = JSON.parse((await readBody(req)) || '{}') as { id?: string };
    const key = bearerKey(req.headers.authorization ?? null);
    const viewer = key ? await keys.viewer(key) : null;
    if (!viewer) return send(res, 401, { message: 'unauthorized' });
    if (path === '/session') {
      const row = await findVisibleSession(viewer, String(body.id));
      return send(res, 200, { data: { session: row && sessionFields(row) } });
    }
    if (path === '/sessions') {
      const rows = await findVisibleSessions(viewer, null, { take: 21 });
      const page = rows.slice(0, 20);
      return send(res, 200, {
        data: {
          sessions: {
            edges: page.map((s) => ({ cursor: cursor(s.id), node: listFields(s) })),
            pageInfo: { hasNextPage: rows.length > 20, endCursor: page.length ? cursor(page.at(-1)!.id) : null },
          },
        },
      });
    }
    send(res, 404, { message: 'not found' });
  } catch (err) {
    logger.error({ err }, 'bare request failed');
    if (!res.headersSent) send(res, 500, { message: 'internal error' });
  }
});

server.listen(config.port, config.host);
const shutdown = () => {
  server.close();
  server.closeAllConnections();
  db.close().finally(() => process.exit(0));
};
process.once('SIGTERM', shutdown);
process.once('SIGINT', shutdown);
