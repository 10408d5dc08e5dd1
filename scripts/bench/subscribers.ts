import http from 'node:http';
import { performance } from 'node:perf_hooks';
import { createClient } from 'graphql-ws';
import WebSocket from 'ws';

/*
 * Live subscribers for the benchmark: `sessionEvents` as a client follows a session, cheap enough
 * for hundreds of them to share the load generator's core with the recorders. Over Server-Sent
 * Events, a POST with `Accept: text/event-stream` on node:http whose event stream is parsed here
 * (yoga's distinct-connections mode: `:` pings, `event: next` with the result as `data:`, then
 * `event: complete`); over WebSocket, the graphql-ws client on ws. One connection per subscription
 * either way.
 */

export type LiveTransport = 'sse' | 'ws';
export const LIVE_TRANSPORTS: readonly LiveTransport[] = ['sse', 'ws'];
export const TRANSPORT_NAME: Record<LiveTransport, string> = { sse: 'SSE', ws: 'WebSocket' };

export const SESSION_EVENTS =
  'subscription ($id: ID!, $from: Int) { sessionEvents(sessionId: $id, fromEvent: $from) { next status events { index time type data } } }';

export interface LiveEvent {
  index: number;
  time: number;
  type: string;
  data: string;
}

export interface LiveBatch {
  next: number;
  status: string;
  events: LiveEvent[];
}

export interface LiveHandlers {
  /** A batch, and when its message arrived (performance.now(), before parsing). */
  batch(batch: LiveBatch, at: number): void;
  /** A result with errors instead of a batch (the subscription's last). */
  error(message: string): void;
  /** The subscription is over: completed by the server, or its connection failed or ended without completing. */
  end(completed: boolean, why?: string): void;
}

export interface LiveClient {
  /** Unsubscribes and closes the connection (no `end` follows). */
  close(): void;
}

interface Result {
  data?: { sessionEvents?: LiveBatch } | null;
  errors?: { message: string; extensions?: { code?: string } }[];
}

const describeErrors = (errors: NonNullable<Result['errors']>) =>
  errors.map((e) => `${e.extensions?.code ?? 'ERROR'}: ${e.message}`).join('; ');

function deliver(result: Result, at: number, handlers: LiveHandlers): void {
  const batch = result.data?.sessionEvents;
  if (result.errors?.length || !batch) handlers.error(result.errors?.length ? describeErrors(result.errors) : `no batch: ${JSON.stringify(result).slice(0, 200)}`);
  else handlers.batch(batch, at);
}

export function subscribe(transport: LiveTransport, baseUrl: string, key: string, sessionId: string, fromEvent: number, handlers: LiveHandlers): LiveClient {
  return transport === 'sse' ? subscribeSse(baseUrl, key, sessionId, fromEvent, handlers) : subscribeWs(baseUrl, key, sessionId, fromEvent, handlers);
}

/** Over Server-Sent Events, parsing the stream as it comes. */
export function subscribeSse(baseUrl: string, key: string, sessionId: string, fromEvent: number, handlers: LiveHandlers): LiveClient {
  const body = Buffer.from(JSON.stringify({ query: SESSION_EVENTS, variables: { id: sessionId, from: fromEvent } }));
  let over = false;
  const finish = (completed: boolean, why?: string) => {
    if (over) return;
    over = true;
    handlers.end(completed, why);
  };
  /** One message: its fields (a message of comments only is a ping). */
  const message = (text: string, at: number) => {
    let event = 'message';
    let data: string | undefined;
    for (const line of text.split('\n')) {
      if (line === '' || line.charCodeAt(0) === 58 /* : */) continue;
      const colon = line.indexOf(':');
      const field = colon < 0 ? line : line.slice(0, colon);
      const value = colon < 0 ? '' : line.slice(line.charCodeAt(colon + 1) === 32 ? colon + 2 : colon + 1);
      if (field === 'event') event = value;
      else if (field === 'data') data = data === undefined ? value : `${data}\n${value}`;
    }
    if (data === undefined && event === 'message') return; // a ping
    if (event === 'next') {
      let result: Result;
      try {
        result = JSON.parse(data ?? '') as Result;
      } catch {
        handlers.error(`not JSON: ${(data ?? '').slice(0, 200)}`);
        return;
      }
      deliver(result, at, handlers);
    } else if (event === 'complete') {
      finish(true);
      req.destroy();
    } else handlers.error(`unexpected SSE event ${event}`);
  };
  const req = http.request(
    `${baseUrl}/graphql`,
    {
      method: 'POST',
      agent: false,
      headers: {
        'content-type': 'application/json',
        accept: 'text/event-stream',
        authorization: `Bearer ${key}`,
        'content-length': String(body.length),
      },
    },
    (res) => {
      res.setEncoding('utf8');
      if (res.statusCode !== 200 || !String(res.headers['content-type']).startsWith('text/event-stream')) {
        let text = '';
        res.on('data', (t: string) => (text += t));
        res.on('end', () => finish(false, `HTTP ${res.statusCode}: ${text.slice(0, 200)}`));
        return;
      }
      let buffer = '';
      res.on('data', (text: string) => {
        const at = performance.now();
        // Look for the end of a message only in what may hold it (a big batch comes in many pieces).
        let from = Math.max(0, buffer.length - 1);
        buffer += text;
        let end: number;
        let start = 0;
        while ((end = buffer.indexOf('\n\n', from)) >= 0) {
          message(buffer.slice(start, end), at);
          start = from = end + 2;
        }
        if (start > 0) buffer = buffer.slice(start);
      });
      res.on('end', () => finish(false, 'the event stream ended without `complete`'));
      res.on('error', (err) => finish(false, String(err)));
    },
  );
  req.on('error', (err) => finish(false, String(err)));
  req.end(body);
  return {
    close() {
      over = true;
      req.destroy();
    },
  };
}

/** Over WebSocket with the graphql-ws client, one connection per subscription. */
export function subscribeWs(baseUrl: string, key: string, sessionId: string, fromEvent: number, handlers: LiveHandlers): LiveClient {
  let over = false;
  const finish = (completed: boolean, why?: string) => {
    if (over) return;
    over = true;
    handlers.end(completed, why);
  };
  const client = createClient({
    url: `${baseUrl.replace(/^http/, 'ws')}/graphql`,
    webSocketImpl: WebSocket,
    retryAttempts: 0,
    lazy: true,
    connectionParams: { Authorization: `Bearer ${key}` },
  });
  const unsubscribe = client.subscribe<NonNullable<Result['data']>>(
    { query: SESSION_EVENTS, variables: { id: sessionId, from: fromEvent } },
    {
      next: (result) => deliver(result as Result, performance.now(), handlers),
      error: (err: unknown) => {
        const close = err as { code?: number; reason?: string };
        finish(false, err instanceof Error ? err.message : Array.isArray(err) ? JSON.stringify(err).slice(0, 200) : `closed ${close.code ?? '?'} ${close.reason ?? ''}`);
      },
      complete: () => finish(true),
    },
  );
  return {
    close() {
      over = true;
      unsubscribe();
      void client.dispose();
    },
  };
}
