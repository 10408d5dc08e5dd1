/** One recorded event: `time` seconds after the session's startDate, a type, and its payload bytes. */
export type EventKind = 'i' | 'o' | 'e';

export interface SessionEvent {
  /** Non-negative seconds since the session's startDate, kept exactly as recorded. */
  time: number;
  type: EventKind;
  data: Uint8Array;
}

/** GraphQL's EventType names, in the order the spec lists them. */
export const EVENT_TYPE_TO_KIND = { INPUT: 'i', OUTPUT: 'o', ERROR: 'e' } as const satisfies Record<string, EventKind>;
export type EventTypeName = keyof typeof EVENT_TYPE_TO_KIND;

/** Every event type, in the spec's order. */
export const EVENT_KINDS: readonly EventKind[] = ['i', 'o', 'e'];

/**
 * The events read when a request names none (§4 UTF8 and BASE64, §6 download links): what the
 * session showed, not what was typed. RAW renderings read EVENT_KINDS instead.
 */
export const DEFAULT_EVENT_TYPES: readonly EventTypeName[] = ['OUTPUT', 'ERROR'];
export const DEFAULT_EVENT_KINDS: readonly EventKind[] = DEFAULT_EVENT_TYPES.map((t) => EVENT_TYPE_TO_KIND[t]);
