/**
 * An event's type: `i` input (stdin, client → server), `o` output, `e` error output. GraphQL names
 * them INPUT, OUTPUT and ERROR (the EventType enum maps its names to these values).
 */
export type EventType = 'i' | 'o' | 'e';

/** One recorded event: `time` seconds after the session's startDate, a type, and its payload bytes. */
export interface SessionEvent {
  /** Non-negative seconds since the session's startDate, kept exactly as recorded. */
  time: number;
  type: EventType;
  data: Uint8Array;
}

/** Every event type, in the order the contract lists them (also a link's canonical order). */
export const EVENT_TYPES: readonly EventType[] = ['i', 'o', 'e'];

export const isEventType = (value: unknown): value is EventType => (EVENT_TYPES as readonly unknown[]).includes(value);

/**
 * The events read when a request names none (§4 UTF8 and BASE64, §6 download links): what the
 * session showed, not what was typed. RAW renderings read EVENT_TYPES instead.
 */
export const DEFAULT_EVENT_TYPES: readonly EventType[] = ['o', 'e'];
