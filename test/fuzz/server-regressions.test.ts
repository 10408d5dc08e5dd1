import net from 'node:net';
import { createClient } from 'graphql-ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { startTestApp, type TestApp } from '../support/app.ts';

/*
 * What the fuzz run (docs/fuzz.md) found in the HTTP server itself, each by its smallest request
 * against a real server: a request target that is no URL killed the process; a WebSocket operation
 * that did not parse closed the whole socket; an asset named like an Object property answered 500.
 */

let app: TestApp;
let key: string;
beforeAll(async () => {
  app = await startTestApp();
  key = await app.key(await app.org('acme'), 'ADMIN', 'root');
});
afterAll(async () => {
  await app?.close();
});

/** Sends raw bytes and resolves with what came back before the server closed (or 2 s passed). */
function raw(request: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(Number(new URL(app.url).port), '127.0.0.1');
    let got = '';
    socket.on('data', (d: Buffer) => (got += d.toString('latin1')));
    socket.on('error', reject);
    socket.on('close', () => resolve(got));
    socket.setTimeout(2000, () => socket.end());
    socket.write(request);
  });
}

describe('hostile input found by the fuzz run', () => {
  it('answers a request target that is no URL with 400, and keeps serving (plain and upgrade)', async () => {
    for (const target of ['http://x:99999/graphql', 'http://[', 'http://a b/x', '//[::1/graphql']) {
      expect(await raw(`GET ${target} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`)).toMatch(/^HTTP\/1\.1 400 /);
      const upgrade = await raw(`GET ${target} HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n`);
      expect(upgrade).toMatch(/^HTTP\/1\.1 400 /);
    }
    expect((await fetch(`${app.url}/healthz`)).status).toBe(200);
  });

  it('answers an asset named like an Object property 404', async () => {
    for (const name of ['constructor', 'tostring', '__proto__'.replace(/_/g, '')]) {
      expect((await fetch(`${app.url}/view/assets/${name}`)).status).toBe(404);
    }
  });

  it('ends a WebSocket operation that does not parse with its error, and keeps the socket for the next', async () => {
    const closes: number[] = [];
    const client = createClient({
      url: `${app.url.replace(/^http/, 'ws')}/graphql`,
      webSocketImpl: WebSocket,
      retryAttempts: 0,
      connectionParams: { Authorization: `Bearer ${key}` },
      on: { closed: (e) => closes.push((e as { code: number }).code) },
    });
    const run = (query: string) =>
      new Promise<unknown>((resolve) => {
        const results: unknown[] = [];
        client.subscribe({ query }, { next: (r) => results.push(r), error: (e) => resolve({ error: e }), complete: () => resolve(results) });
      });
    try {
      for (const query of ['{ sessions(', `{ ${Array.from({ length: 40 }, (_, i) => `a${i}: sessions(first: 1) { totalCount }`).join(' ')} }`, `query { s: session(id: ${'['.repeat(5000)}"x"${']'.repeat(5000)}) { id } }`]) {
        const outcome = (await run(query)) as { error?: unknown };
        expect(Array.isArray(outcome.error), JSON.stringify(outcome).slice(0, 300)).toBe(true);
      }
      expect(await run('{ __typename }')).toEqual([{ data: { __typename: 'Query' } }]);
      expect(closes).toEqual([]);
    } finally {
      await client.dispose();
    }
  });
});
