import type { SessionStatus } from '../generated/prisma/enums.ts';
import { decodeEvents } from '../sessions/codec.ts';
import type { EventType, SessionEvent } from '../sessions/event.ts';
import type { IndexedChunk } from '../sessions/tails.ts';

/** Most payload bytes in one batch; one event larger than this travels alone (spec §13). */
export const BATCH_PAYLOAD_BYTES = 1024 * 1024;

/** One event as a subscriber receives it: its index among all of the session's events. */
export interface IndexedEvent {
  index: number;
  time: number;
  type: EventType;
  data: Uint8Array;
}

/** What a subscription sends: events, where to resume after them, and the session's status. */
export interface EventBatch {
  events: IndexedEvent[];
  /** The fromEvent that resumes right after this batch: one past the last event it covers. */
  next: number;
  status: SessionStatus;
}

/** Most events in one batch: a batch of one-byte keystrokes stays a message of a few MiB. */
export const BATCH_EVENTS = 10_000;

/**
 * The chunks a subscriber has been handed but not yet sent, cut into batches as they are taken:
 * decoded an event at a time, so that only one batch's events exist as objects. Events before the
 * subscriber's position and of types it did not select are skipped.
 */
export class PendingEvents {
  private readonly chunks: IndexedChunk[] = [];
  /** The chunk being decoded: its events, and the index of the next one. */
  private current: { chunk: IndexedChunk; events: Generator<SessionEvent>; index: number } | undefined;
  /** The next event to send, once decoded. */
  private peeked: IndexedEvent | undefined;
  /** One past the last event of the chunks added. */
  private covered: number;
  /** Bytes of the chunks held, not yet decoded to the end (what a slow subscriber makes grow). */
  bytes = 0;

  constructor(
    /** The next event the subscriber wants. */
    private position: number,
    private readonly types: ReadonlySet<EventType> | undefined,
    covered = position,
  ) {
    this.covered = covered;
  }

  get empty(): boolean {
    return this.peek() === undefined;
  }

  /** Where a subscriber resumes: the next event to send, or past every chunk added. */
  get next(): number {
    return this.peek()?.index ?? Math.max(this.position, this.covered);
  }

  add(chunk: IndexedChunk): void {
    this.chunks.push(chunk);
    this.covered = Math.max(this.covered, chunk.firstEvent + chunk.eventCount);
    this.bytes += chunk.data.length;
  }

  /** The next batch's events: up to BATCH_PAYLOAD_BYTES of payload and BATCH_EVENTS, or one bigger event. */
  take(): { events: IndexedEvent[]; next: number } {
    const events: IndexedEvent[] = [];
    let payload = 0;
    for (let event = this.peek(); event; event = this.peek()) {
      if (events.length > 0 && (payload + event.data.length > BATCH_PAYLOAD_BYTES || events.length >= BATCH_EVENTS)) break;
      events.push(event);
      payload += event.data.length;
      this.peeked = undefined;
    }
    const next = this.next;
    this.position = next;
    return { events, next };
  }

  private peek(): IndexedEvent | undefined {
    while (!this.peeked) {
      if (!this.current) {
        const chunk = this.chunks.shift();
        if (!chunk) return undefined;
        this.current = { chunk, events: decodeEvents(chunk.data), index: chunk.firstEvent };
      }
      const decoded = this.current.events.next();
      if (decoded.done) {
        this.bytes -= this.current.chunk.data.length;
        this.current = undefined;
        continue;
      }
      const index = this.current.index++;
      const event = decoded.value;
      if (index >= this.position && (!this.types || this.types.has(event.type))) this.peeked = { index, ...event };
    }
    return this.peeked;
  }
}
