import { badInput } from '../errors.ts';

/** A time window in seconds since the session's start (spec §14): from ≤ time < to; a bound left out is open. */
export interface TimeWindow {
  from?: number | null;
  to?: number | null;
}

/**
 * A window as asked for (`from`/`to` arguments), checked: BAD_USER_INPUT for a negative or
 * non-finite bound or from > to. Undefined when neither bound is given (the whole stream).
 */
export function checkWindow(from: number | null | undefined, to: number | null | undefined): TimeWindow | undefined {
  for (const [name, value] of [['from', from], ['to', to]] as const) {
    if (value != null && (!Number.isFinite(value) || value < 0)) {
      throw badInput(`${name} must be a finite number of seconds ≥ 0`, { field: name });
    }
  }
  if (from != null && to != null && from > to) throw badInput('from must not be after to', { field: 'from' });
  return from == null && to == null ? undefined : { from, to };
}

/** Whether a window selects nothing (from == to). */
export const isEmptyWindow = (window: TimeWindow | undefined): boolean =>
  window?.from != null && window.from === window.to;

/** Whether an event time lies in the window. */
export const inTimeWindow = (window: TimeWindow | undefined, time: number): boolean =>
  !window || ((window.from == null || time >= window.from) && (window.to == null || time < window.to));
