import { createHash } from 'node:crypto';
import type { Viewer } from '../auth/keys.ts';
import type { Config } from '../config.ts';
import type { Database } from '../db/index.ts';
import { ReelError } from '../errors.ts';
import type { Logger } from '../logger.ts';
import { rateLimited, rateLimitFailures } from '../metrics.ts';
import { MemoryBuckets, SqlBuckets, RateLimiter, ruleOf, type Rule, type Verdict } from './rate-limit.ts';

/** How often a replica on PostgreSQL drops buckets that are full again, and how idle they must be. */
const SWEEP_EVERY_MS = 60_000;
const SWEEP_IDLE_SECONDS = 600;

export type Refused = Extract<Verdict, { ok: false }>;

/** The GraphQL error for a refused request: 429 with Retry-After over HTTP (yoga reads `http`). */
export function rateLimitedError(verdict: Refused, limit: string): ReelError {
  return new ReelError('RATE_LIMITED', `too many requests for this ${limit}; retry after ${verdict.retryAfterSeconds} s`, {
    retryAfter: verdict.retryAfterSeconds,
    http: { status: 429, headers: { 'Retry-After': String(verdict.retryAfterSeconds) } },
  });
}

/**
 * The service's rate limits (spec §16): GraphQL requests per API key (RECORDER keys get the ingest
 * limit), and requests per download link or view page. Buckets are shared by replicas through
 * PostgreSQL, or kept in memory on the embedded database (one process).
 */
export class Limits {
  private readonly limiter: RateLimiter;
  private readonly keyRule: Rule;
  private readonly ingestRule: Rule;
  private readonly linkRule: Rule;
  private readonly sweeper: NodeJS.Timeout | undefined;

  constructor(config: Config, db: Database, logger: Logger, now: () => number = Date.now) {
    this.keyRule = ruleOf(config.rateLimitPerSecond);
    this.ingestRule = ruleOf(config.ingestRateLimitPerSecond);
    // Per minute, with bursts of twice the minute's count.
    this.linkRule = { perSecond: config.linkRateLimitPerMinute / 60, burst: 2 * config.linkRateLimitPerMinute };
    // On PostgreSQL, in the database (replicas share it); on the embedded one, in this process.
    const pool = db.pool;
    const store = pool ? new SqlBuckets(async <T>(sql: string, params: unknown[]) => (await pool.query(sql, params)).rows as T[]) : new MemoryBuckets(now);
    this.limiter = new RateLimiter(
      store,
      (err) => {
        rateLimitFailures.inc();
        logger.error({ err }, 'rate limit buckets unavailable: requests are let through unlimited');
      },
      now,
    );
    if (store instanceof SqlBuckets) {
      this.sweeper = setInterval(() => {
        store.sweep(SWEEP_IDLE_SECONDS).catch((err: unknown) => logger.warn({ err }, 'sweeping rate limit buckets failed'));
      }, SWEEP_EVERY_MS);
      this.sweeper.unref();
    }
  }

  /** A GraphQL request by `viewer`'s key; throws RATE_LIMITED when over its limit. */
  async admitKey(viewer: Viewer): Promise<void> {
    const ingest = viewer.role === 'RECORDER';
    const verdict = await this.limiter.take(`key:${viewer.keyId}`, ingest ? this.ingestRule : this.keyRule);
    if (verdict.ok) return;
    rateLimited.inc({ limit: ingest ? 'ingest' : 'key' });
    throw rateLimitedError(verdict, 'API key');
  }

  /** A request through the link whose token is `token` (already verified): the verdict. */
  async admitLink(token: string): Promise<Verdict> {
    const id = createHash('sha256').update(token).digest('base64url').slice(0, 24);
    const verdict = await this.limiter.take(`link:${id}`, this.linkRule);
    if (!verdict.ok) rateLimited.inc({ limit: 'link' });
    return verdict;
  }

  close(): void {
    clearInterval(this.sweeper);
  }
}
