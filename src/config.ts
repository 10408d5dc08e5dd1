import path from 'node:path';
import { z } from 'zod';
import { invalidConfig } from './errors.ts';

/** Environment → one typed, validated configuration. A bad value stops start-up naming the variable. */
export interface Config {
  port: number;
  host: string;
  databaseUrl: string | undefined;
  /** Connections this process opens to PostgreSQL at most (unused on PGlite). */
  dbPoolSize: number;
  dataDir: string;
  publicUrl: string;
  downloadSecrets: string[];
  downloadTtlSeconds: number;
  maxInlineStreamBytes: number;
  maxAppendBytes: number;
  maxAppendEvents: number;
  maxRequestBytes: number;
  /** How long a checked API key is trusted without asking the database again (0: always ask). */
  keyCacheSeconds: number;
  /** Live subscriptions one API key may hold on one server (0: no limit). */
  maxSubscriptionsPerKey: number;
  /** Whether this process indexes sessions for search (REEL_SEARCH_INDEXER; searching works either way). */
  searchIndexer: boolean;
  /** Slow clients (issue #14): seconds to send a request's headers, and its whole body (0: no limit). */
  headersTimeoutSeconds: number;
  requestTimeoutSeconds: number;
  /** Connections served at once (0: no cap); beyond it, new ones are closed at once. */
  maxConnections: number;
  /** How long a SIGTERM waits for requests and downloads in flight before cutting them (REEL_SHUTDOWN_SECONDS). */
  shutdownSeconds: number;
  /** Rate limits (§16; 0: none): GraphQL requests a second per API key, per RECORDER key, and requests a minute per link. */
  rateLimitPerSecond: number;
  ingestRateLimitPerSecond: number;
  linkRateLimitPerMinute: number;
  /** Ed25519 private key (PEM) that signs closed sessions (REEL_SIGNING_KEY; unset: one generated in the data directory). */
  signingKey: string | undefined;
  /** Previous signing keys (PEM, public or private), which still verify (REEL_SIGNING_OLD_KEYS). */
  signingOldKeys: string | undefined;
  /** Sessions that ended more than this many days ago are purged, at start and hourly (REEL_RETENTION_DAYS; undefined: kept). */
  retentionDays: number | undefined;
  /** Proxies in front of reel whose X-Forwarded-For entries are believed for the audit trail's clientIp (0: none). */
  trustedProxyHops: number;
  /** Origins whose pages may call the API from a browser (REEL_CORS_ORIGINS); none by default. */
  corsOrigins: string[];
  /** Required as a Bearer token by /metrics when set (REEL_METRICS_TOKEN). */
  metricsToken: string | undefined;
  logLevel: string;
}

/** An origin as browsers send it: http(s), host, port, nothing else. */
function isOrigin(value: string): boolean {
  try {
    const url = new URL(value);
    return (url.protocol === 'http:' || url.protocol === 'https:') && url.origin === value;
  } catch {
    return false;
  }
}

const intIn = (min: number, max: number) =>
  z
    .string()
    .regex(/^\d+$/, 'must be a whole number')
    .transform(Number)
    .refine((n) => n >= min && n <= max, `must be between ${min} and ${max}`);

const schema = z.object({
  PORT: intIn(0, 65535).default(4000),
  HOST: z.string().min(1).default('0.0.0.0'),
  DATABASE_URL: z
    .string()
    .regex(/^postgres(ql)?:\/\//, 'must be a postgresql:// URL')
    .optional(),
  REEL_DB_POOL_SIZE: intIn(1, 1000).default(20),
  REEL_DATA_DIR: z.string().min(1).default('./data'),
  REEL_PUBLIC_URL: z.url({ protocol: /^https?$/ }).optional(),
  REEL_DOWNLOAD_SECRET: z.string().min(32, 'must be at least 32 characters').optional(),
  REEL_DOWNLOAD_OLD_SECRETS: z.string().optional(),
  REEL_DOWNLOAD_TTL_SECONDS: intIn(1, 7 * 24 * 3600).default(300),
  REEL_MAX_INLINE_STREAM_BYTES: intIn(1, 2 ** 31).default(8 * 1024 * 1024),
  REEL_MAX_APPEND_BYTES: intIn(1, 256 * 1024 * 1024).default(16 * 1024 * 1024),
  REEL_MAX_APPEND_EVENTS: intIn(1, 10_000_000).default(100_000),
  REEL_KEY_CACHE_SECONDS: intIn(0, 300).default(5),
  REEL_SHUTDOWN_SECONDS: intIn(0, 3600).default(30),
  REEL_HEADERS_TIMEOUT_SECONDS: intIn(1, 600).default(10),
  REEL_REQUEST_TIMEOUT_SECONDS: intIn(0, 3600).default(300),
  REEL_MAX_CONNECTIONS: intIn(0, 1_000_000).default(10_000),
  REEL_MAX_SUBSCRIPTIONS_PER_KEY: intIn(0, 1_000_000).default(100),
  REEL_RATE_LIMIT_PER_SECOND: intIn(0, 1_000_000).default(50),
  REEL_INGEST_RATE_LIMIT_PER_SECOND: intIn(0, 1_000_000).default(1000),
  REEL_LINK_RATE_LIMIT_PER_MINUTE: intIn(0, 1_000_000).default(60),
  REEL_TRUSTED_PROXY_HOPS: intIn(0, 10).default(0),
  REEL_RETENTION_DAYS: intIn(1, 100_000).optional(),
  REEL_SIGNING_KEY: z.string().optional(),
  REEL_SIGNING_OLD_KEYS: z.string().optional(),
  REEL_SEARCH_INDEXER: z.enum(['on', 'off']).default('on'),
  REEL_METRICS_TOKEN: z.string().min(16, 'must be at least 16 characters').optional(),
  REEL_CORS_ORIGINS: z
    .string()
    .default('')
    .transform((v) => v.split(',').map((o) => o.trim()).filter((o) => o !== ''))
    .refine((origins) => origins.every(isOrigin), 'must be a comma-separated list of origins such as https://app.example.com (scheme, host and port only)'),
  REEL_LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
});

export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  // Empty variables count as unset, as most shells and .env tools produce them.
  const present = Object.fromEntries(Object.entries(env).filter(([, v]) => v !== undefined && v !== ''));
  const parsed = schema.safeParse(present);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw invalidConfig(String(issue.path[0] ?? 'environment'), issue.message);
  }
  const e = parsed.data;
  const publicUrl = (e.REEL_PUBLIC_URL ?? `http://localhost:${e.PORT}`).replace(/\/+$/, '');
  // Base64 of the binary request is a third larger than the events it carries, plus JSON overhead.
  const maxRequestBytes = Math.ceil(e.REEL_MAX_APPEND_BYTES * 1.4) + 1024 * 1024;
  return {
    port: e.PORT,
    host: e.HOST,
    databaseUrl: e.DATABASE_URL,
    dbPoolSize: e.REEL_DB_POOL_SIZE,
    dataDir: path.resolve(e.REEL_DATA_DIR),
    publicUrl,
    downloadSecrets: [
      ...(e.REEL_DOWNLOAD_SECRET ? [e.REEL_DOWNLOAD_SECRET] : []),
      ...(e.REEL_DOWNLOAD_OLD_SECRETS ?? '')
        .split(',')
        .map((s) => s.trim())
        .filter(Boolean),
    ],
    downloadTtlSeconds: e.REEL_DOWNLOAD_TTL_SECONDS,
    maxInlineStreamBytes: e.REEL_MAX_INLINE_STREAM_BYTES,
    maxAppendBytes: e.REEL_MAX_APPEND_BYTES,
    maxAppendEvents: e.REEL_MAX_APPEND_EVENTS,
    maxRequestBytes,
    keyCacheSeconds: e.REEL_KEY_CACHE_SECONDS,
    shutdownSeconds: e.REEL_SHUTDOWN_SECONDS,
    headersTimeoutSeconds: e.REEL_HEADERS_TIMEOUT_SECONDS,
    // Node requires the request's limit to be at least the headers' (or none).
    requestTimeoutSeconds: e.REEL_REQUEST_TIMEOUT_SECONDS === 0 ? 0 : Math.max(e.REEL_REQUEST_TIMEOUT_SECONDS, e.REEL_HEADERS_TIMEOUT_SECONDS),
    maxConnections: e.REEL_MAX_CONNECTIONS,
    maxSubscriptionsPerKey: e.REEL_MAX_SUBSCRIPTIONS_PER_KEY,
    searchIndexer: e.REEL_SEARCH_INDEXER === 'on',
    trustedProxyHops: e.REEL_TRUSTED_PROXY_HOPS,
    retentionDays: e.REEL_RETENTION_DAYS,
    signingKey: e.REEL_SIGNING_KEY,
    signingOldKeys: e.REEL_SIGNING_OLD_KEYS,
    rateLimitPerSecond: e.REEL_RATE_LIMIT_PER_SECOND,
    ingestRateLimitPerSecond: e.REEL_INGEST_RATE_LIMIT_PER_SECOND,
    linkRateLimitPerMinute: e.REEL_LINK_RATE_LIMIT_PER_MINUTE,
    metricsToken: e.REEL_METRICS_TOKEN,
    corsOrigins: e.REEL_CORS_ORIGINS,
    logLevel: e.REEL_LOG_LEVEL,
  };
}
