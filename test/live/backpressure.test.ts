import http from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { startAppWithKeys, type TestApp } from '../support/app.ts';
import { ok } from '../support/graphql.ts';
import { APPEND, CLOSE, OPEN, ev, type EventIn, type OpenResult } from '../support/ingest.ts';
import { SESSION_EVENTS, waitFor, type LiveBatch } from '../support/live.ts';

/*
 * Spec §13: a subscriber that stops reading does not make the server's memory grow. Its client
 * stops reading its connection; the session grows by far more than the server holds for one
 * subscriber (LIVE_BACKLOG_BYTES, 4 MiB): the server lets go of it (it is no longer attached to the
 * session's feed). When the client reads again, it receives every event once, in order: read from
 * the database at its pace.
 */

let app: TestApp;
let recorder: string;
let admin: string;

beforeAll(async () => {
  ({ app, recorder, admin } = await startAppWithKeys({}, 'slow'));
});
afterAll(() => app?.close());

/** A client that can stop reading: the batches it has parsed, and pause/resume of its connection. */
interface StalledClient {
  batches: LiveBatch[];
  completed: Promise<void>;
  /** Whether the server answered (the response's head, or the WebSocket's acknowledgement). */
  ready(): boolean;
  pause(): void;
  resume(): void;
}

function sseClient(id: string): StalledClient {
  const batches: LiveBatch[] = [];
  let response: http.IncomingMessage | undefined;
  const completed = new Promise<void>((resolve, reject) => {
    const req = http.request(`${app.url}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'text/event-stream', authorization: `Bearer ${admin}` },
    });
    req.on('response', (res) => {
      response = res;
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (piece: string) => {
        text += piece;
        let end: number;
        while ((end = text.indexOf('\n\n')) >= 0) {
          const message = text.slice(0, end);
          text = text.slice(end + 2);
          const data = /^event: next\ndata: (.*)$/s.exec(message)?.[1];
          if (data) batches.push((JSON.parse(data) as { data: { sessionEvents: LiveBatch } }).data.sessionEvents);
          if (message.startsWith('event: complete')) resolve();
        }
      });
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(JSON.stringify({ query: SESSION_EVENTS, variables: { id } }));
  });
  return { batches, completed, ready: () => response !== undefined, pause: () => response!.pause(), resume: () => response!.resume() };
}

function wsClient(id: string): StalledClient {
  const batches: LiveBatch[] = [];
  const ws = new WebSocket(`${app.url.replace('http', 'ws')}/graphql`, 'graphql-transport-ws');
  let acknowledged = false;
  const completed = new Promise<void>((resolve, reject) => {
    ws.on('open', () => ws.send(JSON.stringify({ type: 'connection_init', payload: { Authorization: `Bearer ${admin}` } })));
    ws.on('message', (raw: Buffer) => {
      const message = JSON.parse(raw.toString()) as { type: string; payload?: { data: { sessionEvents: LiveBatch } } };
      if (message.type === 'connection_ack') {
        acknowledged = true;
        ws.send(JSON.stringify({ id: '1', type: 'subscribe', payload: { query: SESSION_EVENTS, variables: { id } } }));
      }
      if (message.type === 'next') batches.push(message.payload!.data.sessionEvents);
      if (message.type === 'complete') resolve();
      if (message.type === 'error') reject(new Error(raw.toString()));
    });
    ws.on('error', reject);
  });
  return { batches, completed, ready: () => acknowledged, pause: () => ws.pause(), resume: () => ws.resume() };
}


describe.each([
  ['sse', sseClient],
  ['ws', wsClient],
] as const)('a subscriber that stops reading (%s)', (_transport, connect) => {
  it('is let go by the feed instead of held in memory, and later gets every event once, in order', async () => {
    const input = { verb: 'CONNECT', type: 'custom', roleName: 'shell', userId: 'alice' };
    const id = ok(await app.gql<OpenResult>(OPEN, { input }, recorder)).openSession.id;
    const client = connect(id);
    await waitFor(() => client.ready() && app.running.live.following().subscriptions === 1);
    client.pause();

    // 12 MiB of output, 512 KiB a call: three times what the server holds for one subscriber. (A
    // paused WebSocket answers no ping, and the server drops it after 24–36 s: the appends must
    // take less than that, on a loaded machine too.)
    const calls: EventIn[][] = [];
    for (let seq = 0; seq < 24; seq++) {
      const call = [ev(seq, 'o', new Uint8Array(256 * 1024).fill(seq)), ev(seq + 0.5, 'o', new Uint8Array(256 * 1024).fill(255 - seq))];
      ok(await app.gql(APPEND, { id, seq, events: call }, recorder));
      calls.push(call);
    }
    await waitFor(() => app.running.live.following().subscriptions === 0);
    expect(app.running.live.subscriptions()).toBe(1); // let go by the feed, not ended

    client.resume();
    ok(await app.gql(CLOSE, { id }, recorder));
    await client.completed;
    const events = client.batches.flatMap((b) => b.events);
    const want = calls.flat();
    expect(events.map((e) => e.index)).toEqual(want.map((_, k) => k));
    events.forEach((e, k) => expect(e.data === want[k]!.data, `event ${k}`).toBe(true));
    expect(client.batches.at(-1)!.status).toBe('DONE');
  }, 120_000);
});
