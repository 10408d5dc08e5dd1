import type { SessionStatus } from '../generated/prisma/enums.ts';
import { decodeEvents } from '../sessions/codec.ts';
import type { EventType } from '../sessions/event.ts';
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

/**
 * The events a subscriber has been handed but not yet sent, cut into batches. Events before the
 * subscriber's position and of types it did not select are dropped as chunks come in; `covered`
 * is one past the last event of the chunks added, selected or not.
 */
export class PendingEvents {
  private events: IndexedEvent[] = [];
  private head = 0;
  /** Chunk bytes held (what a slow subscriber makes grow). */
  bytes = 0;

  constructor(
    /** The next event the subscriber wants. */
    private position: number,
    private readonly types: ReadonlySet<EventType> | undefined,
    /** One past the last event of the chunks added. */
    private covered = position,
  ) {}

  get empty(): boolean {
    return this.head === this.events.length;
  }

  /** Where a subscriber resumes: the first event not sent, or past every chunk added. */
  get next(): number {
    return this.empty ? Math.max(this.position, this.covered) : this.events[this.head]!.index;
  }

  add(chunk: IndexedChunk): void {
    let index = chunk.firstEvent;
    for (const event of decodeEvents(chunk.data)) {
      if (index >= this.position && (!this.types || this.types.has(event.type))) {
        this.events.push({ index, time: event.time, type: event.type, data: event.data });
      }
      index++;
    }
    this.covered = Math.max(this.covered, index);
    this.bytes += chunk.data.length;
  }

  /** The next batch's events: up to BATCH_PAYLOAD_BYTES of payload, or one bigger event. */
  take(): { events: IndexedEvent[]; next: number } {
    const events: IndexedEvent[] = [];
    let payload = 0;
    while (!this.empty) {
      const event = this.events[this.head]!;
      if (events.length > 0 && payload + event.data.length > BATCH_PAYLOAD_BYTES) break;
      events.push(event);
      payload += event.data.length;
      this.head++;
    }
    const next = this.next;
    this.position = next;
    if (this.empty) {
      // Let go of the chunks sent.
      this.events = [];
      this.head = 0;
      this.bytes = 0;
    }
    return { events, next };
  }
}
