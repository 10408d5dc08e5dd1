import { createClient as createSseClient } from 'graphql-sse';
import { createClient as createWsClient } from 'graphql-ws';
import WebSocket from 'ws';

/*
 * Live subscriptions as a frontend makes them (spec §13): over Server-Sent Events with graphql-sse
 * (the distinct-connections mode graphql-yoga serves), or over WebSocket with graphql-ws.
 */

export type Transport = 'sse' | 'ws';
export const TRANSPORTS: Transport[] = ['sse', 'ws'];

export const SESSION_EVENTS = /* GraphQL */ `
  subscription Live($id: ID!, $from: Int, $events: [EventType!]) {
    sessionEvents(sessionId: $id, fromEvent: $from, events: $events) {
      next status events { index time type data }
    }
  }`;

export interface LiveEventOut {
  index: number;
  time: number;
  type: 'INPUT' | 'OUTPUT' | 'ERROR';
  data: string;
}
export interface LiveBatch {
  next: number;
  status: 'READY' | 'OPEN' | 'DONE';
  events: LiveEventOut[];
}
export interface LiveResult {
  data?: { sessionEvents: LiveBatch } | null;
  errors?: { message: string; extensions?: { code?: string; [k: string]: unknown } }[];
}

export interface LiveSubscription {
  /** Every result so far, in order of arrival. */
  results: LiveResult[];
  /** Resolves with how the subscription ended: completed, or a transport error. */
  ended: Promise<{ completed: boolean; error?: unknown }>;
  /** Resolves once a result satisfies `test` (rejects after `ms`). */
  until(test: (results: LiveResult[]) => boolean, ms?: number): Promise<LiveResult[]>;
  /** The events of all batches, in order. */
  events(): LiveEventOut[];
  /** Unsubscribes and closes the connection. */
  close(): void;
}

export interface SubscribeVariables {
  id: string;
  from?: number;
  events?: string[];
}

/** Subscribes to a session's events on the server at `baseUrl` with `key` (none: no Authorization). */
export function subscribe(baseUrl: string, key: string | undefined, variables: SubscribeVariables, transport: Transport): LiveSubscription {
  const results: LiveResult[] = [];
  const waiters = new Set<() => void>();
  const notify = () => waiters.forEach((w) => w());
  let settle: (outcome: { completed: boolean; error?: unknown }) => void = () => {};
  const ended = new Promise<{ completed: boolean; error?: unknown }>((resolve) => (settle = resolve));
  let finished = false;
  let failure: unknown;
  const sink = {
    next: (result: unknown) => {
      results.push(result as LiveResult);
      notify();
    },
    error: (error: unknown) => {
      finished = true;
      failure = error;
      settle({ completed: false, error });
      notify();
    },
    complete: () => {
      finished = true;
      settle({ completed: true });
      notify();
    },
  };
  const payload = { query: SESSION_EVENTS, variables: { ...variables } as Record<string, unknown> };
  let dispose: () => void;
  if (transport === 'sse') {
    const client = createSseClient({
      url: `${baseUrl}/graphql`,
      singleConnection: false,
      retryAttempts: 0,
      headers: key ? { Authorization: `Bearer ${key}` } : {},
    });
    const unsubscribe = client.subscribe(payload, sink);
    dispose = () => {
      unsubscribe();
      client.dispose();
    };
  } else {
    const client = createWsClient({
      url: `${baseUrl.replace(/^http/, 'ws')}/graphql`,
      webSocketImpl: WebSocket,
      retryAttempts: 0,
      lazy: true,
      connectionParams: key ? { Authorization: `Bearer ${key}` } : {},
    });
    const unsubscribe = client.subscribe(payload, sink);
    dispose = () => {
      unsubscribe();
      void client.dispose();
    };
  }
  return {
    results,
    ended,
    until(test, ms = 10_000) {
      return new Promise((resolve, reject) => {
        const check = () => {
          if (test(results)) {
            waiters.delete(check);
            clearTimeout(timer);
            resolve(results);
          } else if (finished) {
            waiters.delete(check);
            clearTimeout(timer);
            const why = failure === undefined ? 'completed' : `failed: ${describeFailure(failure)}`;
            reject(new Error(`subscription ${why} before the condition held: ${JSON.stringify(results).slice(0, 500)}`));
          }
        };
        const timer = setTimeout(() => {
          waiters.delete(check);
          reject(new Error(`condition not met within ${ms} ms: ${JSON.stringify(results).slice(0, 500)}`));
        }, ms);
        waiters.add(check);
        check();
      });
    },
    events: () => results.flatMap((r) => r.data?.sessionEvents.events ?? []),
    close: () => dispose(),
  };
}

/** Whether the last result is the final DONE batch. */
export const isDone = (results: LiveResult[]): boolean => results.at(-1)?.data?.sessionEvents.status === 'DONE';
/** The number of events received so far. */
export const received = (n: number) => (results: LiveResult[]) =>
  results.reduce((k, r) => k + (r.data?.sessionEvents.events.length ?? 0), 0) >= n;

/** What a transport's failure says: an Error's message, a WebSocket close's code and reason. */
function describeFailure(failure: unknown): string {
  if (failure instanceof Error) return failure.message;
  const { type, code, reason, message } = failure as { type?: string; code?: number; reason?: string; message?: string };
  return [type, code, reason, message].filter((x) => x !== undefined && x !== '').join(' ') || String(failure);
}

/** Polls `test` until it holds (throws after `ms`). */
export async function waitFor(test: () => boolean, ms = 20_000): Promise<void> {
  const until = Date.now() + ms;
  while (!test()) {
    if (Date.now() > until) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}
