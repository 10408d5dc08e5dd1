import { Repeater } from 'graphql-yoga';
import type { Viewer } from '../auth/keys.ts';
import { badInput, notFound, type ReelError } from '../errors.ts';
import type { SessionStatus } from '../generated/prisma/enums.ts';
import { assertMayReadStream, findVisibleSession } from '../sessions/access.ts';
import type { ChunkKey } from '../sessions/chunk-storage.ts';
import type { EventType } from '../sessions/event.ts';
import { locateEvent, readTails, type IndexedChunk, type SessionTail } from '../sessions/tails.ts';
import { PendingEvents, type EventBatch } from './batches.ts';
import { isAfter, LIVE_BACKLOG_BYTES, READ_LIMIT, type LiveHub, type LiveSubscriber } from './hub.ts';

/** What a subscription yields: a batch, or the error that ends it (sent as its last result). */
export type LiveResult = EventBatch | { error: ReelError };

/**
 * One subscription to a session's events: reads what is stored from `fromEvent` on, a page per
 * batch its client takes, then follows the session's feed until the session is done.
 */
class Subscriber implements LiveSubscriber {
  readonly keyId: string;
  after: ChunkKey | undefined;
  /** One past the last event of the chunks read. */
  private events: number;
  private readonly pending: PendingEvents;
  /** What batches before the last say: READY or OPEN (DONE is the last batch's alone). */
  private status: Exclude<SessionStatus, 'DONE'> = 'OPEN';
  private done = false;
  private attached = false;
  private failure: ReelError | undefined;
  private ended = false;
  private wake: (() => void) | undefined;

  constructor(
    private readonly hub: LiveHub,
    viewer: Viewer,
    readonly sessionId: string,
    start: { after: ChunkKey | undefined; firstEvent: number },
    fromEvent: number,
    types: ReadonlySet<EventType> | undefined,
  ) {
    this.keyId = viewer.keyId;
    this.after = start.after;
    this.events = start.firstEvent;
    this.pending = new PendingEvents(fromEvent, types, start.firstEvent);
  }

  offer(tail: SessionTail, done: boolean): boolean {
    if (this.pending.bytes > 0 && this.pending.bytes + tail.bytes > LIVE_BACKLOG_BYTES) {
      this.attached = false;
      this.signal();
      return false;
    }
    this.take(tail.chunks);
    this.setStatus(tail.status);
    if (done) this.done = true;
    this.signal();
    return true;
  }

  fail(error: ReelError): void {
    this.failure ??= error;
    this.signal();
  }

  end(): void {
    this.ended = true;
    this.signal();
  }

  private setStatus(status: SessionStatus): void {
    this.status = status === 'DONE' ? 'OPEN' : status;
  }

  private signal(): void {
    const wake = this.wake;
    this.wake = undefined;
    wake?.();
  }

  /** Adds the chunks it does not hold yet. */
  private take(chunks: readonly IndexedChunk[]): void {
    for (const chunk of chunks) {
      if (!isAfter(chunk, this.after)) continue;
      this.pending.add(chunk);
      this.after = { sequence: chunk.sequence, part: chunk.part };
      this.events = chunk.firstEvent + chunk.eventCount;
    }
  }

  /** The next result; undefined when the subscription is over (completed or cancelled). */
  async next(): Promise<LiveResult | undefined> {
    for (;;) {
      if (this.failure) return { error: this.failure };
      if (this.ended) return undefined;
      if (!this.pending.empty) {
        const { events, next } = this.pending.take();
        const last = this.done && this.pending.empty;
        if (events.length > 0 || last) return { events, next, status: last ? 'DONE' : this.status };
        continue;
      }
      if (this.done) return { events: [], next: this.pending.next, status: 'DONE' };
      if (this.attached) {
        await new Promise<void>((resolve) => (this.wake = resolve));
        continue;
      }
      await this.readPage();
    }
  }

  /** Catch-up: the next page of stored chunks; attaches to the feed when there are no more. */
  private async readPage(): Promise<void> {
    const [tail] = await readTails([{ sessionId: this.sessionId, after: this.after }], READ_LIMIT);
    if (!tail) {
      this.failure = notFound('session not found');
      return;
    }
    this.take(tail.chunks);
    this.setStatus(tail.status);
    if (tail.cut) return;
    if (tail.status === 'DONE' && this.events >= tail.eventCount) this.done = true;
    else this.attached = this.hub.attach(this, this.events);
  }
}

export interface SubscribeInput {
  sessionId: string;
  fromEvent: number;
  types: ReadonlySet<EventType> | undefined;
}

/**
 * Starts a subscription: checks access and the key's limit first (their errors are the
 * subscription's only result), then yields batches until the session is done, the client goes
 * away, or the server stops.
 */
export async function subscribeToSession(hub: LiveHub, viewer: Viewer, input: SubscribeInput): Promise<AsyncIterable<LiveResult>> {
  if (!Number.isSafeInteger(input.fromEvent) || input.fromEvent < 0) {
    throw badInput('fromEvent must be an integer ≥ 0', { field: 'fromEvent' });
  }
  const session = await findVisibleSession(viewer, input.sessionId, { select: { id: true, orgId: true, userId: true } });
  if (!session) throw notFound('session not found');
  assertMayReadStream(viewer, session);
  const start = await locateEvent(session.id, input.fromEvent);
  const subscriber = new Subscriber(hub, viewer, session.id, start, input.fromEvent, input.types);
  // A server that is stopping completes a new subscription at once, as it does those it holds.
  if (!hub.register(subscriber)) subscriber.end();
  return new Repeater<LiveResult>(async (push, stop) => {
    void stop.then(() => subscriber.end());
    try {
      for (;;) {
        const result = await subscriber.next();
        if (!result) break;
        await push(result);
        if ('error' in result || result.status === 'DONE') break;
      }
    } finally {
      hub.unregister(subscriber);
      stop();
    }
  });
}
