import http from 'node:http';
import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { APPEND, CLOSE, ev, OPEN } from '../support/ingest.ts';
import { gql, instance, serve, setupKeys, stopProcesses, type Instance, type Server } from '../support/processes.ts';

/*
 * SIGTERM with a download in flight (spec §16), on real `reel serve` processes: a download that
 * makes progress finishes, byte for byte, and the process exits 0; one whose client stopped reading
 * is cut at REEL_SHUTDOWN_SECONDS and the process still exits 0; a second SIGTERM exits at once.
 */

const TIMEOUT = 180_000;
let inst: Instance;
let keys: { recorder: string; admin: string };
let sessionId: string;
/** 24 MiB of output: far more than the socket buffers hold, so a paused client keeps the download open. */
const CALLS = 24;
const CALL_BYTES = 1024 * 1024;

beforeAll(async () => {
  inst = await instance();
  keys = await setupKeys(inst, 'acme');
  const srv = await serve(inst);
  sessionId = (await gql<{ openSession: { id: string } }>(srv.url, keys.recorder, OPEN, { input: { verb: 'CONNECT', type: 'custom', roleName: 'sh' } })).openSession.id;
  for (let seq = 0; seq < CALLS; seq++) {
    await gql(srv.url, keys.recorder, APPEND, { id: sessionId, seq, events: [ev(seq, 'o', Buffer.alloc(CALL_BYTES, 0x41 + (seq % 26)))] });
  }
  await gql(srv.url, keys.admin, CLOSE, { id: sessionId });
  srv.child.kill('SIGTERM');
  await srv.exited;
}, TIMEOUT);

afterAll(async () => {
  await stopProcesses();
});

async function downloadUrl(srv: Server): Promise<string> {
  const data = await gql<{ downloadLink: { downloadUrl: string } }>(
    srv.url,
    keys.admin,
    `mutation ($id: ID!) { downloadLink(sessionId: $id, extension: "txt") { downloadUrl } }`,
    { id: sessionId },
  );
  return srv.url + new URL(data.downloadLink.downloadUrl).pathname + new URL(data.downloadLink.downloadUrl).search;
}

/** A download whose client reads when told to; resolves with what it got, and whether the response ended whole. */
function startDownload(url: string) {
  let response: http.IncomingMessage | undefined;
  const hash = createHash('sha256');
  let bytes = 0;
  const started = new Promise<void>((resolve) => {
    const req = http.get(url, { agent: false }, (res) => {
      response = res;
      res.on('data', (c: Buffer) => {
        hash.update(c);
        bytes += c.length;
      });
      resolve();
    });
    req.on('error', () => resolve());
  });
  const done = started.then(
    () =>
      new Promise<{ bytes: number; complete: boolean; sha: string }>((resolve) => {
        let result: { bytes: number; complete: boolean; sha: string } | undefined;
        const finish = () => resolve((result ??= { bytes, complete: response!.complete, sha: hash.digest('hex') }));
        response!.on('end', finish);
        response!.on('close', finish);
        response!.on('error', () => undefined);
      }),
  );
  return { started, done, pause: () => response!.pause(), resume: () => response!.resume() };
}

const expectedSha = () => {
  const hash = createHash('sha256');
  for (let seq = 0; seq < CALLS; seq++) hash.update(Buffer.alloc(CALL_BYTES, 0x41 + (seq % 26)));
  return hash.digest('hex');
};

describe('SIGTERM', () => {
  it('lets a download in flight finish, byte for byte, then exits 0', async () => {
    const srv = await serve(inst);
    const download = startDownload(await downloadUrl(srv));
    await download.started;
    download.pause();
    srv.child.kill('SIGTERM');
    await new Promise((r) => setTimeout(r, 500));
    download.resume();
    const got = await download.done;
    expect(got).toEqual({ bytes: CALLS * CALL_BYTES, complete: true, sha: expectedSha() });
    expect(await srv.exited).toEqual([0, null]);
  }, TIMEOUT);

  it('cuts a download that makes no progress at REEL_SHUTDOWN_SECONDS, and still exits 0', async () => {
    const srv = await serve({ ...inst, env: { ...inst.env, REEL_SHUTDOWN_SECONDS: '2' } });
    const download = startDownload(await downloadUrl(srv));
    await download.started;
    download.pause();
    const signalled = Date.now();
    srv.child.kill('SIGTERM');
    const [code] = await srv.exited;
    const seconds = (Date.now() - signalled) / 1000;
    expect(code).toBe(0);
    // The configured deadline, not the default's 30 s.
    expect(seconds).toBeGreaterThanOrEqual(1.5);
    expect(seconds).toBeLessThan(12);
    download.resume();
    expect((await download.done).complete).toBe(false);
  }, TIMEOUT);

  it('exits at once on a second SIGTERM', async () => {
    const srv = await serve({ ...inst, env: { ...inst.env, REEL_SHUTDOWN_SECONDS: '600' } });
    const download = startDownload(await downloadUrl(srv));
    await download.started;
    download.pause();
    srv.child.kill('SIGTERM');
    // Still draining: the download waits for its client.
    const early = await Promise.race([srv.exited.then(() => 'exited'), new Promise((r) => setTimeout(() => r('running'), 1500))]);
    expect(early).toBe('running');
    srv.child.kill('SIGTERM');
    const [code] = await srv.exited;
    expect(code).toBe(1);
    download.resume();
    expect((await download.done).complete).toBe(false);
  }, TIMEOUT);
});
