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
