import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.ts';
import { MemoryBuckets, RateLimiter, SqlBuckets, ruleOf, type BucketStore, type Verdict } from '../../src/limits/rate-limit.ts';
import { queryRows } from '../../src/sessions/chunk-storage.ts';
import { startTestApp, type TestApp } from '../support/app.ts';
import { serverUrl } from '../support/db.ts';
import { codeOf, ok } from '../support/graphql.ts';
import { ingest } from '../support/ingest.ts';
import { subscribe } from '../support/live.ts';
import { download, link, startDownloadApp } from '../downloads/helpers.ts';

/*
 * Rate limits (spec §16): per API key for GraphQL (RECORDER keys with the ingest limit), per link
 * for downloads and view pages; 429 with Retry-After, RATE_LIMITED in GraphQL; bursts of twice the
 * rate; 0 turns a limit off; on PostgreSQL the buckets are shared by replicas.
 */

const QUERY = '{ sessions(first: 1) { edges { node { id } } } }';

describe('token buckets', () => {
  const clock = { now: 1_000_000 };
  const limiter = (store: BucketStore = new MemoryBuckets(() => clock.now)) => new RateLimiter(store, () => {}, () => clock.now);
  const takeN = async (l: RateLimiter, key: string, n: number, rule = ruleOf(5)): Promise<Verdict[]> => {
    const out: Verdict[] = [];
    for (let i = 0; i < n; i++) out.push(await l.take(key, rule));
    return out;
  };

  it('admits a burst of twice the rate, then one request per token as it refills', async () => {
    const l = limiter();
    const first = await takeN(l, 'a', 12);
    expect(first.filter((v) => v.ok)).toHaveLength(10);
    expect(first[10]).toEqual({ ok: false, retryAfterSeconds: 1 });
    clock.now += 400; // two tokens at 5 a second
    expect((await takeN(l, 'a', 3)).map((v) => v.ok)).toEqual([true, true, false]);
    expect((await takeN(l, 'b', 10)).every((v) => v.ok)).toBe(true); // another key has its own bucket
  });

  it('says when the next token is due', async () => {
    const l = limiter();
    const rule = { perSecond: 1 / 60, burst: 2 }; // one a minute
    expect((await takeN(l, 'slow', 3, rule)).map((v) => v.ok)).toEqual([true, true, false]);
    expect(await l.take('slow', rule)).toEqual({ ok: false, retryAfterSeconds: 60 });
    clock.now += 45_000;
    expect(await l.take('slow', rule)).toEqual({ ok: false, retryAfterSeconds: 15 });
    clock.now += 15_000;
    expect(await l.take('slow', rule)).toEqual({ ok: true });
  });

  it('limits nothing at rate 0', async () => {
    const l = limiter();
    expect((await takeN(l, 'z', 1000, ruleOf(0))).every((v) => v.ok)).toBe(true);
  });

  it('asks a refusing store nothing until a token is due, and lets requests through when the store fails', async () => {
    let draws = 0;
    const errors: unknown[] = [];
    let failing = false;
    const inner = new MemoryBuckets(() => clock.now);
    const store: BucketStore = {
      draw: (key, want, rule) => {
        draws++;
        return failing ? Promise.reject(new Error('database down')) : inner.draw(key, want, rule);
      },
      leaseOf: () => 1,
    };
    const l = new RateLimiter(store, (err) => errors.push(err), () => clock.now);
    await takeN(l, 'k', 10);
    const before = draws;
    expect((await takeN(l, 'k', 100)).some((v) => v.ok)).toBe(false);
    expect(draws).toBe(before + 1); // one draw found the bucket empty; the other 99 were refused from memory
    failing = true;
    clock.now += 60_000;
    expect((await takeN(l, 'k', 3)).every((v) => v.ok)).toBe(true);
    expect(errors).toHaveLength(3);
  });
});

describe('buckets in the database', () => {
  let app: TestApp;
  beforeAll(async () => {
    app = await startTestApp();
  });
  afterAll(async () => {
    await app?.close();
  });
  const store = () => new SqlBuckets(queryRows);

  it('are shared: two replicas drawing from one bucket admit its burst once, not twice', async () => {
    const rule = { perSecond: 1 / 60, burst: 20 };
    const a = new RateLimiter(store(), (err) => expect.fail(String(err)));
    const b = new RateLimiter(store(), (err) => expect.fail(String(err)));
    const verdicts = await Promise.all(Array.from({ length: 40 }, (_, i) => (i % 2 ? a : b).take('shared', rule)));
    expect(verdicts.filter((v) => v.ok)).toHaveLength(20);
    expect(verdicts.find((v) => !v.ok)).toEqual({ ok: false, retryAfterSeconds: expect.any(Number) });
    const retry = (verdicts.find((v) => !v.ok) as { retryAfterSeconds: number }).retryAfterSeconds;
    expect(retry).toBeGreaterThan(50);
    expect(retry).toBeLessThanOrEqual(60);
  });

  it('draw a lease of a tenth of a second at once, and never more than the bucket holds', async () => {
    const s = store();
    expect(s.leaseOf(ruleOf(1000))).toBe(100);
    expect(s.leaseOf(ruleOf(50))).toBe(5);
    expect(s.leaseOf({ perSecond: 1, burst: 2 })).toBe(1);
    expect(await s.draw('lease', 100, ruleOf(1000))).toEqual({ granted: 100, left: expect.closeTo(1900, -1) });
    const drained = await s.draw('small', 5, { perSecond: 0.001, burst: 3 });
    expect(drained.granted).toBe(3);
    expect((await s.draw('small', 5, { perSecond: 0.001, burst: 3 })).granted).toBe(0);
  });

  it('are swept once idle (a full bucket and no bucket are the same)', async () => {
    const s = store();
    await s.draw('idle', 1, ruleOf(5));
    await queryRows("UPDATE rate_limit_buckets SET refreshed_at = now() - interval '1 hour' WHERE key = 'idle'");
    expect(await s.sweep(600)).toBeGreaterThanOrEqual(1);
    const left = await queryRows<{ key: string }>('SELECT key FROM rate_limit_buckets');
    expect(left.map((r) => r.key)).not.toContain('idle');
    expect(left.map((r) => r.key)).toContain('lease'); // drawn just now
  });
});

describe('GraphQL, per API key', () => {
  let app: TestApp;
  let reader: string;
  let other: string;
  let recorder: string;
  beforeAll(async () => {
    app = await startTestApp({ REEL_RATE_LIMIT_PER_SECOND: '1', REEL_INGEST_RATE_LIMIT_PER_SECOND: '1000' });
    const org = await app.org('acme');
    reader = await app.key(org, 'AUDITOR', 'reader');
    other = await app.key(org, 'AUDITOR', 'other');
    recorder = await app.key(org, 'RECORDER', 'recorder');
  });
  afterAll(async () => {
    await app?.close();
  });

  const post = (key: string | undefined) =>
    fetch(`${app.url}/graphql`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', ...(key && { Authorization: `Bearer ${key}` }) },
      body: JSON.stringify({ query: QUERY }),
    });

  it('answers 429 with Retry-After and RATE_LIMITED once a key spends its burst', async () => {
    const answers = await Promise.all(Array.from({ length: 10 }, () => post(reader)));
    const statuses = answers.map((r) => r.status);
    expect(statuses.filter((s) => s === 200).length).toBeGreaterThanOrEqual(2);
    expect(statuses.filter((s) => s === 200).length).toBeLessThanOrEqual(3); // the burst, and at most one refilled token
    const refused = answers.find((r) => r.status === 429)!;
    expect(refused.headers.get('retry-after')).toBe('1');
    const body = (await refused.json()) as { data?: unknown; errors: { message: string; extensions: Record<string, unknown> }[] };
    expect(body.data).toBeUndefined();
    expect(body.errors).toEqual([
      { message: 'too many requests for this API key; retry after 1 s', extensions: { code: 'RATE_LIMITED', retryAfter: 1 } },
    ]);
    await Promise.all(answers.filter((r) => r !== refused).map((r) => r.text()));
  });

  it('keeps keys apart, gives RECORDER keys the ingest limit, and leaves requests without a key to UNAUTHENTICATED', async () => {
    expect((await post(other)).status).toBe(200);
    const recorded = await Promise.all(Array.from({ length: 20 }, () => post(recorder)));
    expect(recorded.map((r) => r.status)).toEqual(Array(20).fill(200));
    const anonymous = await Promise.all(Array.from({ length: 5 }, () => app.gql(QUERY)));
    expect(anonymous.map(codeOf)).toEqual(Array(5).fill('UNAUTHENTICATED'));
  });

  it('refuses a subscription over WebSocket with RATE_LIMITED as its error, not by closing the socket', async () => {
    // The bucket refills a token a second: on a loaded machine one may come back between spending the
    // burst and subscribing, so try a few times; one refusal is what is asserted.
    let ended: { completed: boolean; error?: unknown } | undefined;
    const limited = () => JSON.stringify(ended?.error ?? null).includes('RATE_LIMITED');
    for (let attempt = 0; attempt < 5 && !limited(); attempt++) {
      await Promise.all(Array.from({ length: 5 }, async () => (await post(reader)).text()));
      const sub = subscribe(app.url, reader, { id: '00000000-0000-4000-8000-000000000000' }, 'ws');
      ended = await Promise.race([sub.ended, new Promise<undefined>((resolve) => setTimeout(resolve, 2000))]);
      sub.close();
    }
    expect(ended?.completed).toBe(false);
    expect(ended?.error).toEqual([expect.objectContaining({ extensions: { code: 'RATE_LIMITED', retryAfter: expect.any(Number) } })]);
  });

  it('refuses settings that are not whole numbers ≥ 0', () => {
    for (const name of ['REEL_RATE_LIMIT_PER_SECOND', 'REEL_INGEST_RATE_LIMIT_PER_SECOND', 'REEL_LINK_RATE_LIMIT_PER_MINUTE']) {
      for (const value of ['-1', '1.5', 'fast']) expect(() => loadConfig({ [name]: value }), `${name}=${value}`).toThrow(new RegExp(name));
    }
    const defaults = loadConfig({});
    expect([defaults.rateLimitPerSecond, defaults.ingestRateLimitPerSecond, defaults.linkRateLimitPerMinute]).toEqual([50, 1000, 60]);
  });
});

describe('download links and view pages, per link', () => {
  let app: TestApp;
  let admin: string;
  let sessionId: string;
  beforeAll(async () => {
    app = await startDownloadApp({ REEL_LINK_RATE_LIMIT_PER_MINUTE: '1' });
    const org = await app.org('acme');
    admin = await app.key(org, 'ADMIN', 'root');
    const recorder = await app.key(org, 'RECORDER', 'rec');
    sessionId = await ingest(app, recorder, { events: [[0, 'o', 'hello\n']] });
  });
  afterAll(async () => {
    await app?.close();
  });

  it('serves a link twice (a burst of twice a minute’s one), then answers 429 with Retry-After; another link still works', async () => {
    const { downloadUrl } = await link(app, admin, sessionId, { extension: 'txt' });
    for (let i = 0; i < 2; i++) {
      const res = await download(app, downloadUrl);
      expect(res.status).toBe(200);
      expect(await res.text()).toBe('hello\n');
    }
    const refused = await download(app, downloadUrl);
    expect(refused.status).toBe(429);
    const retry = Number(refused.headers.get('retry-after'));
    expect(retry).toBeGreaterThan(0);
    expect(retry).toBeLessThanOrEqual(60);
    expect(await refused.json()).toEqual({ message: 'too many requests through this link', status: 429, retryAfter: retry });
    const other = await link(app, admin, sessionId, { extension: 'csv' }); // the same claims would be the same link
    expect((await download(app, other.downloadUrl)).status).toBe(200);
  });

  it('does not count refused tokens against a link: tampered tokens get 401, the real link keeps its burst', async () => {
    const { downloadUrl } = await link(app, admin, sessionId, { extension: 'json' });
    const tampered = downloadUrl.replace(/token=([^&])/, (_, c: string) => `token=${c === 'A' ? 'B' : 'A'}`);
    for (let i = 0; i < 5; i++) expect((await download(app, tampered)).status).toBe(401);
    expect((await download(app, downloadUrl)).status).toBe(200);
    expect((await download(app, downloadUrl)).status).toBe(200);
    expect((await download(app, downloadUrl)).status).toBe(429);
  });

  it('limits a view page by its link, with an HTML answer', async () => {
    const { viewLink } = ok(
      await app.gql<{ viewLink: { downloadUrl: string } }>('mutation($id: ID!) { viewLink(sessionId: $id) { downloadUrl } }', { id: sessionId }, admin),
    );
    const page = viewLink.downloadUrl;
    expect((await download(app, page)).status).toBe(200);
    expect((await download(app, page)).status).toBe(200);
    const refused = await download(app, page);
    expect(refused.status).toBe(429);
    expect(refused.headers.get('retry-after')).toMatch(/^\d+$/);
    expect(refused.headers.get('content-type')).toBe('text/html; charset=utf-8');
    expect(await refused.text()).toContain('Too many requests through this link');
  });
});

describe.runIf(serverUrl)('several replicas on PostgreSQL', () => {
  let a: TestApp;
  let b: TestApp;
  beforeAll(async () => {
    a = await startDownloadApp({ REEL_LINK_RATE_LIMIT_PER_MINUTE: '1', REEL_DOWNLOAD_SECRET: 's'.repeat(40) });
    b = await startDownloadApp({ REEL_LINK_RATE_LIMIT_PER_MINUTE: '1', REEL_DOWNLOAD_SECRET: 's'.repeat(40) }, { database: a.database });
  });
  afterAll(async () => {
    await b?.stop();
    await a?.close();
  });

  it('share a link’s limit: its burst is spent across both', async () => {
    const org = await a.org('acme');
    const admin = await a.key(org, 'ADMIN', 'root');
    const sessionId = await ingest(a, await a.key(org, 'RECORDER', 'rec'), { events: [[0, 'o', 'x']] });
    const { downloadUrl } = await link(a, admin, sessionId, { extension: 'txt' });
    expect((await download(a, downloadUrl)).status).toBe(200);
    expect((await download(b, downloadUrl)).status).toBe(200);
    expect((await download(a, downloadUrl)).status).toBe(429);
    expect((await download(b, downloadUrl)).status).toBe(429);
  });
});
