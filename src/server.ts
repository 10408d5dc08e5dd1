import http from 'node:http';
import { EnvelopArmorPlugin } from '@escape.tech/graphql-armor';
import { usePrometheus } from '@graphql-yoga/plugin-prometheus';
import { createYoga, type YogaServerInstance } from 'graphql-yoga';
import { bearerKey, KeyCache } from './auth/keys.ts';
import type { Config } from './config.ts';
import { downloadRoute } from './downloads/route.ts';
import { viewRoute } from './view/route.ts';
import { downloadSecrets } from './downloads/secret.ts';
import { selfContainedGraphiQL } from './graphiql.ts';
import { database } from './db/client.ts';
import type { Context } from './graphql/builder.ts';
import { Limits } from './limits/limits.ts';
import { clientIp } from './client-ip.ts';
import { publicKeysPem, signingKeys } from './integrity/keys.ts';
import { recordAudit } from './audit/log.ts';
import { maskErrors } from './graphql/mask-errors.ts';
import { boundedParseCache } from './graphql/parse-cache.ts';
import { usePageSizeLimit } from './graphql/pagination.ts';
import { schema } from './graphql/schema.ts';
import { sendJson, type Route } from './http.ts';
import type { LiveHub } from './live/hub.ts';
import type { Logger } from './logger.ts';
import { httpRequestDuration, registry, routeTemplate, serveMetrics } from './metrics.ts';
import { attachWebSocket } from './websocket.ts';

/** Methods a request's metrics name as they are; any other is `other` (a label value must not be the client's to choose). */
const METHODS = new Set(['GET', 'HEAD', 'POST', 'PUT', 'DELETE', 'PATCH', 'OPTIONS']);

const SECURITY_HEADERS = [
  ['X-Content-Type-Options', 'nosniff'],
  ['X-Frame-Options', 'DENY'],
  ['Referrer-Policy', 'no-referrer'],
] as const;

export type ServerContext = { req: http.IncomingMessage; res: http.ServerResponse };

export interface ServerOptions {
  now?: () => number;
}

export interface GraphQLOptions {
  now?: () => number;
  keys?: KeyCache;
  /** Live sessions; without it (tests of other parts), subscriptions fail. */
  live?: LiveHub;
  /** Rate limits per API key; without it (tests of other parts), none. */
  limits?: Limits;
  /**
   * Whether yoga counts the body's bytes against config.maxRequestBytes as it reads it (default
   * true). Only a body of undeclared length needs that: see createHttpServer.
   */
  countBody?: boolean;
}

export function createGraphQL(
  config: Config,
  logger: Logger,
  downloadSecrets: string[],
  options: GraphQLOptions = {},
): YogaServerInstance<ServerContext, Context> {
  const now = options.now ?? Date.now;
  const keys = options.keys ?? new KeyCache(config.keyCacheSeconds * 1000, now);
  const graphiql = selfContainedGraphiQL({ title: 'reel', defaultQuery: '{ sessions(first: 5) { edges { node { id roleName status startDate } } } }' });
  return createYoga<ServerContext, Context>({
    schema,
    graphqlEndpoint: '/graphql',
    landingPage: false,
    graphiql: graphiql.options,
    renderGraphiQL: graphiql.render,
    maxRequestBodySize: options.countBody === false ? false : config.maxRequestBytes,
    // Parsed documents are cached by their text, within a bound on the text held (parse-cache.ts).
    parserAndValidationCache: { documentCache: boundedParseCache(), errorCache: boundedParseCache() },
    // Cross-origin callers: only the configured origins, and never with credentials (the key goes in
    // Authorization, which a page must set itself). Yoga's default would reflect any origin with
    // credentials allowed.
    cors: (request) => {
      const origin = request.headers.get('origin');
      if (origin === null || !config.corsOrigins.includes(origin)) return false;
      return {
        origin: config.corsOrigins,
        credentials: false,
        methods: ['GET', 'POST'],
        allowedHeaders: ['Authorization', 'Content-Type', 'Accept'],
        maxAge: 600,
      };
    },
    logging: false,
    // Bounds on what one operation may ask for: deep nesting, many aliases of an expensive field
    // (each eventStream may render up to the inline cap), runaway directives. Request bodies are
    // bounded by size already, so the token limit stays off (a recorder may inline many events).
    plugins: [
      usePageSizeLimit(), // before the cost limit: it names the largest page
      EnvelopArmorPlugin({
        maxDepth: { n: 12 },
        maxAliases: { n: 15 },
        maxDirectives: { n: 50 },
        costLimit: { maxCost: 5000 },
        maxTokens: { enabled: false },
        blockFieldSuggestion: { enabled: false },
      }),
      graphiql.plugin,
      // GraphQL operations by type and name, with errors and durations (§16), on reel's registry;
      // /metrics is served by the HTTP server, whose own histogram labels routes by template.
      usePrometheus({
        registry,
        endpoint: false,
        metrics: { graphql_yoga_http_duration: false, graphql_envelop_schema_change: false, graphql_envelop_deprecated_field: false },
      }),
    ],
    context: async (initial) => {
      // Over HTTP the key is in the request's header; over WebSocket, in connection_init's payload.
      const { request, connectionParams, req } = initial as { request?: Request; connectionParams?: Record<string, unknown>; req?: http.IncomingMessage };
      const header = request ? request.headers.get('authorization') : connectionParams?.Authorization;
      const key = bearerKey(typeof header === 'string' ? header : null);
      const known = key ? await keys.viewer(key) : null;
      // The cached viewer is shared by requests: this request's own copy carries its client's address.
      const viewer = known && { ...known, clientIp: req ? clientIp(req, config.trustedProxyHops) : null };
      // Over the limit: RATE_LIMITED, with 429 and Retry-After over HTTP (the error's `http`).
      if (viewer && options.limits) await options.limits.admitKey(viewer);
      const read = new Set<string>();
      const auditRead = (sessionId: string, how: string) => {
        if (!viewer || read.has(sessionId)) return;
        read.add(sessionId);
        recordAudit({ orgId: viewer.orgId, action: 'STREAM_READ', actor: viewer, sessionId, details: { how } });
      };
      return { viewer, config, downloadSecrets, now, live: options.live, auditRead };
    },
    maskedErrors: { maskError: maskErrors(logger) },
  });
}

export interface HttpServer {
  server: http.Server;
  /** Closes the WebSockets (after their subscriptions completed), and stops the limits' upkeep. */
  closeWebSockets(): void;
}

/**
 * The HTTP server: GraphQL at /graphql (over WebSocket too), download links, health; one log line
 * per request.
 */
export function createHttpServer(config: Config, logger: Logger, live: LiveHub, options: ServerOptions = {}): HttpServer {
  const now = options.now ?? Date.now;
  const secrets = downloadSecrets(config);
  if (config.databaseUrl && config.downloadSecrets.length === 0) {
    logger.warn('REEL_DOWNLOAD_SECRET is not set: download links are signed with a secret kept in REEL_DATA_DIR; replicas must share one');
  }
  // Yoga enforces its body limit by passing every body through a byte-counting web stream, which
  // costs more than the rest of a small query's parsing. A body whose Content-Length is declared and
  // within the limit cannot be longer (Node's parser reads exactly that many bytes), so it skips the
  // count; chunked and over-long bodies go to an instance that counts, and answers 413.
  const keys = new KeyCache(config.keyCacheSeconds * 1000, now);
  const limits = new Limits(config, database(), logger, now);
  const yoga = createGraphQL(config, logger, secrets, { now, keys, live, limits });
  const yogaDeclared = createGraphQL(config, logger, secrets, { now, keys, live, limits, countBody: false });
  const declaredWithinLimit = (req: http.IncomingMessage): boolean => {
    const length = req.headers['content-length'];
    return length !== undefined && /^\d+$/.test(length) && Number(length) <= config.maxRequestBytes;
  };
  const linkHooks = { admit: (token: string) => limits.admitLink(token), clientIp: (req: http.IncomingMessage) => clientIp(req, config.trustedProxyHops) };
  const routes: Route[] = [downloadRoute(secrets, now, linkHooks), viewRoute(secrets, now, linkHooks)];
  // Slow clients: headers must arrive within headersTimeout and a whole request (its body too) within
  // requestTimeout, checked every second, or the connection is answered 408 and closed. Neither
  // applies to a response: a download or a subscription that the client reads slowly goes on.
  const server = http.createServer(
    {
      headersTimeout: config.headersTimeoutSeconds * 1000,
      requestTimeout: config.requestTimeoutSeconds * 1000,
      connectionsCheckingInterval: 1000,
    },
    async (req, res) => {
      const started = process.hrtime.bigint();
      // A request target that is no URL at all (`http://x:99999/`, `http://[`) is the client's mistake: 400.
      const target = req.url ?? '/';
      const parsable = URL.canParse(target, 'http://localhost');
      const url = new URL(parsable ? target : '/(invalid)', 'http://localhost');
      res.on('close', () => {
        httpRequestDuration.observe(
          { route: routeTemplate(url.pathname), method: METHODS.has(req.method ?? '') ? req.method! : 'other', status: String(res.statusCode) },
          Number(process.hrtime.bigint() - started) / 1e9,
        );
        logger.info(
          {
            method: req.method,
            path: url.pathname, // the query string may hold a download token: never logged
            status: res.statusCode,
            ms: Number(process.hrtime.bigint() - started) / 1e6,
            aborted: !res.writableFinished,
          },
          'request',
        );
      });
      // Every answer: no content sniffing, no framing, no referrer (links carry tokens).
      for (const [name, value] of SECURITY_HEADERS) res.setHeader(name, value);
      try {
        if (!parsable) return sendJson(res, 400, { message: 'bad request', status: 400 });
        if (url.pathname === '/healthz') return sendJson(res, 200, { status: 'ok' });
        if (url.pathname === '/.well-known/reel-signing-key.pem') {
          // The public keys that verify closed sessions' signatures, the current one first (spec §15).
          const pem = publicKeysPem(signingKeys());
          res.writeHead(200, { 'Content-Type': 'application/x-pem-file', 'Content-Length': Buffer.byteLength(pem), 'Cache-Control': 'public, max-age=300' });
          res.end(req.method === 'HEAD' ? undefined : pem);
          return;
        }
        if (url.pathname === '/metrics') return await serveMetrics(req, res, config.metricsToken);
        if (url.pathname === '/graphql' || url.pathname.startsWith('/graphql/')) {
          if (declaredWithinLimit(req)) {
            await yogaDeclared.handle(req, res, { req, res });
            return;
          }
          // A body of unknown or excessive length may be refused (413) before it is read to the end;
          // nobody reads the rest then, so the connection must not be kept for another request.
          if (req.headers['transfer-encoding'] !== undefined || req.headers['content-length'] !== undefined) {
            res.setHeader('Connection', 'close');
          }
          await yoga.handle(req, res, { req, res });
          return;
        }
        for (const route of routes) if (await route(req, res, url)) return;
        sendJson(res, 404, { message: 'not found', status: 404 });
      } catch (err) {
        logger.error({ err }, 'request failed');
        if (!res.headersSent) sendJson(res, 500, { message: 'internal error', status: 500 });
        else res.destroy();
      }
    },
  );
  if (config.maxConnections > 0) server.maxConnections = config.maxConnections;
  // Node closes an idle keep-alive connection after 5 s by default, which races a client (or a load
  // balancer) sending its next request on it at that moment: the request fails with ECONNRESET.
  // Clients and proxies drop idle connections sooner than this (load balancers commonly at 60 s).
  // (Node ≥ 18 times a request's headers from their first byte, not from the connection's last
  // request: the headers timeout may be far shorter than this.)
  server.keepAliveTimeout = 65_000;
  const webSockets = attachWebSocket(server, yoga, config.maxRequestBytes);
  return {
    server,
    closeWebSockets: () => {
      webSockets.close();
      limits.close();
    },
  };
}
