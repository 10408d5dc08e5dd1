import { randomUUID } from 'node:crypto';
import http from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from '../support/app.ts';
import { codeOf, failed, ok } from '../support/graphql.ts';
import { APPEND, CLOSE, ev, OPEN, type AppendResult, type EventIn, type OpenResult } from '../support/ingest.ts';

/*
 * Spec §8: a call larger than the configured limit is rejected whole, and the HTTP layer refuses
 * bodies over the request limit. Its own app (own process): the limits are configuration.
 */

let app: TestApp;
let recorder: string;
let admin: string;

beforeAll(async () => {
  app = await startTestApp({ REEL_MAX_APPEND_BYTES: '1024', REEL_MAX_APPEND_EVENTS: '5' });
  const org = await app.org('acme');
  recorder = await app.key(org, 'RECORDER', 'gateway');
  admin = await app.key(org, 'ADMIN', 'root');
});

afterAll(async () => {
  await app?.close();
});

const bytes = (n: number, fill = 0x61) => new Uint8Array(n).fill(fill);

async function open(): Promise<string> {
  return ok(await app.gql<OpenResult>(OPEN, { input: { verb: 'CONNECT', type: 'application', roleName: 'ssh' } }, recorder)).openSession.id;
}

const append = (id: string, seq: number, events: EventIn[]) => app.gql<AppendResult>(APPEND, { id, seq, events }, recorder);

/** Posts a body of exactly the given text, with a Content-Length or chunked. */
function post(body: string, chunked: boolean, agent: http.Agent | false = false): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const req = http.request(
      `${app.url}/graphql`,
      {
        method: 'POST',
        agent, // by default a connection of its own
        headers: {
          'content-type': 'application/json',
          authorization: `Bearer ${recorder}`,
          ...(chunked ? { 'transfer-encoding': 'chunked' } : { 'content-length': Buffer.byteLength(body) }),
        },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8') }));
        res.on('error', reject);
      },
    );
    // The server may answer (and close) before reading everything: that is a valid refusal.
    req.on('error', (err: NodeJS.ErrnoException) => (err.code === 'EPIPE' || err.code === 'ECONNRESET' ? undefined : reject(err)));
    if (chunked) {
      for (let at = 0; at < body.length; at += 64 * 1024) req.write(body.slice(at, at + 64 * 1024));
      req.end();
    } else {
      req.end(body);
    }
  });
}

describe('append limits', () => {
  it('accepts a call of exactly the limit', async () => {
    const id = await open();
    const events = [ev(0, 'o', bytes(512)), ev(0.1, 'o', bytes(512))];
    expect(ok(await append(id, 0, events)).appendSessionEvents).toEqual({ sequence: 0, eventCount: 2, eventSize: 1024 });
  });

  it('rejects a call over the byte limit as a whole, naming the index, storing nothing', async () => {
    const id = await open();
    const over: [EventIn[], number][] = [
      [[ev(0, 'o', bytes(2048))], 0],
      [[ev(0, 'o', bytes(1024)), ev(0.1, 'o', bytes(1024))], 1],
      [[ev(0, 'i', bytes(10)), ev(0.1, 'o', bytes(1000)), ev(0.2, 'e', bytes(15))], 2],
    ];
    for (const [events, index] of over) {
      const res = await append(id, 0, events);
      expect(failed(res).extensions?.code).toBe('BAD_USER_INPUT');
      expect(failed(res).extensions?.index).toBe(index);
    }
    // Nothing stored: sequence 0 is still expected, totals start from zero.
    expect(ok(await append(id, 0, [ev(0, 'o', 'ok')])).appendSessionEvents).toEqual({ sequence: 0, eventCount: 1, eventSize: 2 });
    const closed = ok(await app.gql<{ closeSession: { metrics: { eventSize: number } } }>(CLOSE, { id }, admin)).closeSession;
    expect(closed.metrics.eventSize).toBe(2);
  });

  it('rejects a call with more events than the configured count', async () => {
    const id = await open();
    const events = Array.from({ length: 6 }, (_, i) => ev(i, 'o', 'x'));
    expect(codeOf(await append(id, 0, events))).toBe('BAD_USER_INPUT');
    expect(ok(await append(id, 0, events.slice(0, 5))).appendSessionEvents).toEqual({ sequence: 0, eventCount: 5, eventSize: 5 });
  });

  it('answers HTTP 413 for a body over the request limit, storing nothing', async () => {
    const id = await open();
    ok(await append(id, 0, [ev(0, 'o', 'a')]));
    const data = Buffer.from(bytes(app.config.maxRequestBytes)).toString('base64');
    const body = JSON.stringify({ query: APPEND, variables: { id, seq: 1, events: [{ time: 1, type: 'OUTPUT', data }] } });
    expect(body.length).toBeGreaterThan(app.config.maxRequestBytes);

    const sized = await post(body, false);
    expect(sized.status).toBe(413);
    expect(sized.text).not.toMatch(/\bat \S+:\d+/);

    const chunked = await post(body, true);
    expect(chunked.status).toBe(413);

    // A chunked body within the limit is read and served like any other.
    const small = JSON.stringify({ query: APPEND, variables: { id, seq: 1, events: [{ time: 1, type: 'OUTPUT', data: 'Yg==' }] } });
    const replayed = await post(small, true);
    expect(replayed.status).toBe(200);
    expect(JSON.parse(replayed.text)).toEqual({ data: { appendSessionEvents: { sequence: 1, eventCount: 2, eventSize: 2 } } });

    // Nothing else was stored (the same call again is a retry of it), and the server still serves.
    expect(ok(await append(id, 1, [ev(1, 'o', 'b')])).appendSessionEvents).toEqual({ sequence: 1, eventCount: 2, eventSize: 2 });
  });

  it('closes a connection whose body may be refused mid-way, so a keep-alive client goes on', async () => {
    const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
    try {
      const data = Buffer.from(bytes(app.config.maxRequestBytes)).toString('base64');
      const over = JSON.stringify({ query: APPEND, variables: { id: randomUUID(), seq: 0, events: [{ time: 0, type: 'OUTPUT', data }] } });
      expect((await post(over, true, agent)).status).toBe(413);
      // The agent's only socket was refused mid-body: the next request must get a fresh one.
      const next = await post(JSON.stringify({ query: '{ __typename }' }), true, agent);
      expect(next.status).toBe(200);
      expect(JSON.parse(next.text)).toEqual({ data: { __typename: 'Query' } });
    } finally {
      agent.destroy();
    }
  });
});
