import net from 'node:net';
import http from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.ts';
import type { TestApp } from '../support/app.ts';
import { ok } from '../support/graphql.ts';
import { ev, ingest } from '../support/ingest.ts';
import { link, local, startDownloadApp } from '../downloads/helpers.ts';

/*
 * Slow and idle clients (issue #14): connections that send their headers a byte at a time do not
 * stop the server from answering others, and are closed once REEL_HEADERS_TIMEOUT_SECONDS has
 * passed; a download that its client reads slowly, for longer than every request timeout, is never
 * cut. No timing is asserted beyond generous bounds.
 */

const SLOW = 200;
let app: TestApp;
let admin: string;

beforeAll(async () => {
  app = await startDownloadApp({ REEL_HEADERS_TIMEOUT_SECONDS: '2', REEL_REQUEST_TIMEOUT_SECONDS: '3' });
  admin = await app.key(await app.org('acme'), 'ADMIN', 'root');
});

afterAll(async () => {
  await app?.close();
});

/** A connection that sends a request's headers one byte every `everyMs`, never finishing them. */
function slowloris(port: number, everyMs: number): { closed: Promise<string>; stop(): void } {
  const socket = net.connect(port, '127.0.0.1');
  const text = 'GET /healthz HTTP/1.1\r\nHost: x\r\nX-Slow: ' + 'a'.repeat(10_000);
  let at = 0;
  const timer = setInterval(() => {
    if (!socket.destroyed) socket.write(text[at++ % text.length]!);
  }, everyMs);
  let answer = '';
  socket.on('data', (c: Buffer) => (answer += c.toString()));
  socket.on('error', () => undefined);
  const closed = new Promise<string>((resolve) =>
    socket.on('close', () => {
      clearInterval(timer);
      resolve(answer);
    }),
  );
  return { closed, stop: () => socket.destroy() };
}

describe('slow clients', () => {
  it('a few hundred connections trickling their headers do not stop the others, and are closed at the headers timeout', async () => {
    const port = Number(new URL(app.url).port);
    const slow = Array.from({ length: SLOW }, () => slowloris(port, 200));
    try {
      await new Promise((r) => setTimeout(r, 500));
      // A normal query still answers (each of several, while the slow ones hold their connections).
      for (let k = 0; k < 5; k++) {
        const data = ok(await app.gql<{ sessions: { edges: unknown[] } }>('{ sessions(first: 1) { edges { node { id } } } }', {}, admin));
        expect(data.sessions.edges).toBeInstanceOf(Array);
      }
      // Each slow connection is answered 408 and closed (Node's own default would wait 60 s).
      const answers = await Promise.race([
        Promise.all(slow.map((s) => s.closed)),
        new Promise<string[]>((_, reject) => setTimeout(() => reject(new Error('slow connections were still open after 20 s')), 20_000)),
      ]);
      expect(answers.every((a) => a === '' || a.startsWith('HTTP/1.1 408'))).toBe(true);
    } finally {
      for (const s of slow) s.stop();
    }
  }, 60_000);

  it('never cuts a download that its client reads slowly, longer than every request timeout', async () => {
    const calls = Array.from({ length: 8 }, (_, k) => [ev(k, 'o', Buffer.alloc(1024 * 1024, 0x61 + k))]);
    const id = await ingest(app, admin, { connectionSubtype: null }, calls);
    const url = local(app, (await link(app, admin, id, { extension: 'txt' })).downloadUrl);
    const started = Date.now();
    const got = await new Promise<{ bytes: number; complete: boolean }>((resolve, reject) => {
      http
        .get(url, { agent: false }, (res) => {
          let bytes = 0;
          res.on('data', (c: Buffer) => {
            bytes += c.length;
            // About 1.6 MiB/s: the 8 MiB take ~5 s, more than the 2 s and 3 s timeouts.
            res.pause();
            setTimeout(() => res.resume(), 40);
          });
          res.on('end', () => resolve({ bytes, complete: res.complete }));
          res.on('error', reject);
        })
        .on('error', reject);
    });
    expect(got).toEqual({ bytes: 8 * 1024 * 1024, complete: true });
    expect(Date.now() - started).toBeGreaterThan(3000);
  }, 60_000);

  it('refuses timeouts and caps out of range at start', () => {
    for (const [name, value] of [
      ['REEL_HEADERS_TIMEOUT_SECONDS', '0'],
      ['REEL_REQUEST_TIMEOUT_SECONDS', '-1'],
      ['REEL_MAX_CONNECTIONS', 'many'],
    ]) {
      expect(() => loadConfig({ [name!]: value }), name).toThrow(new RegExp(name!));
    }
    // A request's limit is never below the headers' (Node refuses that), and 0 turns it off.
    expect(loadConfig({ REEL_HEADERS_TIMEOUT_SECONDS: '20', REEL_REQUEST_TIMEOUT_SECONDS: '5' }).requestTimeoutSeconds).toBe(20);
    expect(loadConfig({ REEL_REQUEST_TIMEOUT_SECONDS: '0' }).requestTimeoutSeconds).toBe(0);
  });
});
