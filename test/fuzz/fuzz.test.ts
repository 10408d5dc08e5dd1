import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { serverUrl } from '../support/db.ts';
import { formatReport, runFuzz, setupContext, startFuzzServer, type FuzzServer } from './harness.ts';
import type { FuzzContext } from './cases.ts';

/*
 * The short form of the fuzz run (issue 14; docs/fuzz.md): a fixed seed and a few hundred cases of
 * every family against a real `reel serve` child process, on PGlite or on PostgreSQL
 * (REEL_TEST_DATABASE_URL). REEL_FUZZ_SEED and REEL_FUZZ_CASES change them; `npm run fuzz` is the
 * long form. A failure prints the seed, the case and the command that replays it.
 */

const SEED = Number(process.env.REEL_FUZZ_SEED ?? 14);
const CASES = Number(process.env.REEL_FUZZ_CASES ?? 300);
/** The server's resident memory may not pass this at any point of the run (it starts near 200–400 MiB). */
const RSS_LIMIT_BYTES = 1536 * 2 ** 20;

let server: FuzzServer;
let ctx: FuzzContext;

beforeAll(async () => {
  const started = await startFuzzServer(serverUrl);
  server = started.server;
  ctx = await setupContext(server, started.keys);
});

afterAll(async () => {
  await server?.close();
});

describe('fuzz (short form)', () => {
  it(`survives ${CASES} hostile requests (seed ${SEED})`, { timeout: 180_000 }, async () => {
    const report = await runFuzz(server, ctx, { seed: SEED, cases: CASES, concurrency: 4, timeoutMs: 30_000, rssLimitBytes: RSS_LIMIT_BYTES, maxRestarts: 3 });
    const text = formatReport(report);
    console.log(text);
    expect(report.cases, text).toBe(CASES);
    expect(report.serverProblems, text).toEqual([]);
    expect(report.failures, text).toEqual([]);
    // Every family ran.
    expect(Object.keys(report.families).length, text).toBeGreaterThanOrEqual(15);
  });
});
