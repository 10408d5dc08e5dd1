import type { EncodedChunk } from './codec.ts';

/*
 * What a session's row and chunks record of its event times, so that a time window (spec §14) is
 * served without reading the stream from its start:
 *  - each chunk's until_time: the latest event time in it and in every chunk before it (0 while
 *    there is none; times are ≥ 0), so it never decreases from chunk to chunk and the first chunk
 *    that can hold an event at or after T is found through an index (chunk-storage.ts windowStart);
 *  - the session's until_time (the latest time stored, null before any event) and time_ordered
 *    (each event's time ≥ the one before it), so a window's reading stops at its end when the
 *    times are in order, and reads on to the end when they are not.
 * Chunks stored before this existed have a null until_time and are read like any other.
 */

export interface EventTimes {
  until: number | null;
  ordered: boolean;
}

/** A session before its first event. */
export const NO_EVENTS: EventTimes = { until: null, ordered: true };

type TimedChunk = Pick<EncodedChunk, 'firstTime' | 'maxTime' | 'ordered'>;

/** The times after appending `chunks` in order to a session whose times were `before`, and each chunk's until_time. */
export function appendTimes(before: EventTimes, chunks: readonly TimedChunk[]): { after: EventTimes; untilTimes: number[] } {
  let { until, ordered } = before;
  const untilTimes = chunks.map((c) => {
    if (c.firstTime !== null && c.maxTime !== null) {
      if (!c.ordered || (until !== null && c.firstTime < until)) ordered = false;
      if (until === null || c.maxTime > until) until = c.maxTime;
    }
    return until ?? 0;
  });
  return { after: { until, ordered }, untilTimes };
}

/** The first event time of consecutive chunks, null when none holds an event. */
export function firstTime(chunks: readonly TimedChunk[]): number | null {
  return chunks.find((c) => c.firstTime !== null)?.firstTime ?? null;
}
