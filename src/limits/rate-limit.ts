import { LRUCache } from 'lru-cache';

/*
 * Rate limits (spec §16): token buckets. A bucket holds up to `burst` tokens and refills at
 * `perSecond`; a request takes one token, or is refused with the time until one is back.
 *
 * Where the buckets live is a BucketStore: in memory for one process (the embedded database has
 * exactly one), or in PostgreSQL, shared by every replica. A replica does not ask PostgreSQL for
 * every request: it draws a small lease of tokens at once (a tenth of a second's worth) and spends
 * them locally. Every token spent was drawn from the shared bucket first, so replicas together never
 * admit more than the limit; a lease a replica draws but does not spend is lost to the others, so a
 * key spread thinly over many replicas may get slightly less than its limit.
 */

/** A limit: `perSecond` tokens a second, up to `burst` at once. perSecond 0 means no limit. */
export interface Rule {
  perSecond: number;
  burst: number;
}

/** `perSecond` with bursts of twice the rate (§16), or no limit for 0. */
export const ruleOf = (perSecond: number): Rule => ({ perSecond, burst: 2 * perSecond });

export type Verdict = { ok: true } | { ok: false; retryAfterSeconds: number };

/** What a draw from a bucket gave: whole tokens granted, and the (fractional) tokens left in it. */
export interface Draw {
  granted: number;
  left: number;
}

export interface BucketStore {
  /** Takes up to `want` whole tokens from the bucket `key`, refilled to now first. */
  draw(key: string, want: number, rule: Rule): Promise<Draw>;
  /** How many tokens a replica draws at once. */
  leaseOf(rule: Rule): number;
}

/** Buckets in this process (the embedded database: one process is the whole service). */
export class MemoryBuckets implements BucketStore {
  private readonly buckets: LRUCache<string, { tokens: number; at: number }>;

  constructor(
    private readonly now: () => number = Date.now,
    max = 100_000,
  ) {
    this.buckets = new LRUCache({ max });
  }

  draw(key: string, want: number, rule: Rule): Promise<Draw> {
    const now = this.now();
    const bucket = this.buckets.get(key);
    const tokens = bucket ? Math.min(rule.burst, bucket.tokens + (Math.max(0, now - bucket.at) / 1000) * rule.perSecond) : rule.burst;
    const granted = Math.min(want, Math.floor(tokens));
    this.buckets.set(key, { tokens: tokens - granted, at: now });
    return Promise.resolve({ granted, left: tokens - granted });
  }

  leaseOf(): number {
    return 1;
  }
}

/**
 * Buckets in PostgreSQL's `rate_limit_buckets` (an UNLOGGED table: after a crash the buckets start
 * full, which is what an idle bucket is anyway), refilled by the database's clock so that replicas'
 * clocks do not matter. One statement draws a lease, under the row's lock.
 */
export class SqlBuckets implements BucketStore {
  constructor(private readonly query: <T>(sql: string, params: unknown[]) => Promise<T[]>) {}

  async draw(key: string, want: number, rule: Rule): Promise<Draw> {
    const [row] = await this.query<{ granted: number; tokens: number }>(DRAW, [key, want, rule.perSecond, rule.burst]);
    return { granted: row!.granted, left: row!.tokens };
  }

  leaseOf(rule: Rule): number {
    return Math.max(1, Math.min(Math.floor(rule.burst), Math.ceil(rule.perSecond / 10)));
  }

  /** Drops buckets idle for long enough to be full again (a full bucket and no bucket are the same). */
  async sweep(idleSeconds: number): Promise<number> {
    return (await this.query<{ key: string }>(SWEEP, [idleSeconds])).length;
  }
}

// $1 key, $2 tokens wanted, $3 per second, $4 burst. `refill` is the bucket refilled to now; the
// SET expressions all read the row as it was.
const REFILLED = `LEAST($4::float8, b.tokens + $3::float8 * GREATEST(0, EXTRACT(EPOCH FROM statement_timestamp() - b.refreshed_at)::float8))`;
const DRAW = `
INSERT INTO rate_limit_buckets AS b (key, tokens, granted, refreshed_at)
VALUES ($1, $4::float8 - LEAST($2::float8, FLOOR($4::float8)), LEAST($2::float8, FLOOR($4::float8)), statement_timestamp())
ON CONFLICT (key) DO UPDATE SET
  granted = LEAST($2::float8, FLOOR(${REFILLED})),
  tokens = ${REFILLED} - LEAST($2::float8, FLOOR(${REFILLED})),
  refreshed_at = GREATEST(b.refreshed_at, statement_timestamp())
RETURNING granted, tokens`;

const SWEEP = `
DELETE FROM rate_limit_buckets WHERE key IN (
  SELECT key FROM rate_limit_buckets WHERE refreshed_at < statement_timestamp() - make_interval(secs => $1::float8) LIMIT 10000
) RETURNING key`;

interface Held {
  /** Tokens drawn and not yet spent. */
  tokens: number;
  /** A draw in flight (true when the store answered): requests of the key wait for it rather than draw too. */
  drawing?: Promise<boolean>;
  /** Refused until then (ms): no draw is made before it. */
  refusedUntil: number;
}

const OK: Verdict = { ok: true };

/**
 * Spends tokens drawn from a BucketStore. A key over its limit is refused from memory until a token
 * is due, so a flood of refused requests costs the store nothing. When the store fails (the
 * database is unreachable), requests are let through and `onError` is told: a limit must not take
 * the service down with it.
 */
export class RateLimiter {
  private readonly held = new LRUCache<string, Held>({ max: 10_000 });

  constructor(
    readonly store: BucketStore,
    private readonly onError: (err: unknown) => void,
    private readonly now: () => number = Date.now,
  ) {}

  async take(key: string, rule: Rule): Promise<Verdict> {
    if (rule.perSecond <= 0) return OK;
    let held = this.held.get(key);
    if (!held) {
      held = { tokens: 0, refusedUntil: 0 };
      this.held.set(key, held);
    }
    for (;;) {
      if (held.tokens >= 1) {
        held.tokens -= 1;
        return OK;
      }
      const waitMs = held.refusedUntil - this.now();
      if (waitMs > 0) return { ok: false, retryAfterSeconds: Math.max(1, Math.ceil(waitMs / 1000)) };
      const entry = held;
      entry.drawing ??= this.refill(key, entry, rule).finally(() => (entry.drawing = undefined));
      if (!(await entry.drawing)) return OK;
    }
  }

  private async refill(key: string, held: Held, rule: Rule): Promise<boolean> {
    try {
      const { granted, left } = await this.store.draw(key, this.store.leaseOf(rule), rule);
      held.tokens += granted;
      // Nothing granted: the bucket holds less than a token, due in (1 - left) / rate seconds.
      if (granted === 0) held.refusedUntil = this.now() + (Math.max(0, 1 - left) / rule.perSecond) * 1000;
      return true;
    } catch (err) {
      this.onError(err);
      return false;
    }
  }
}
