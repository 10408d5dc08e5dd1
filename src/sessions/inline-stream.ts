import type { Viewer } from '../auth/keys.ts';
import { rawQueriesNeedPostgres } from '../errors.ts';
import type { SessionVerb } from '../generated/prisma/enums.ts';
import { queriesFromEvents, type QueryMode } from '../pgwire/index.ts';
import { base64Length } from '../render/common.ts';
import { computeEventSize, computeRawQueriesSize, defaultInlineTypes, renderInline, renderRawQueries, type QueryRecord } from '../render/inline.ts';
import { assertMayReadStream } from './access.ts';
import { EVENT_TYPES, type EventType } from './event.ts';
import { readEvents } from './read-events.ts';
import { inTimeWindow, isEmptyWindow, type TimeWindow } from './time-window.ts';

/*
 * The inline renderings of a session's stream (spec §4): who may read them, which events they
 * read, and which sizes come from the stored totals instead of a pass over the events.
 */

export type StreamFormat = 'RAW' | 'UTF8' | 'BASE64' | 'RAW_QUERIES';

/** What the stream functions need to know about a session. */
export interface StreamSession {
  id: string;
  orgId: string;
  userId: string | null;
  type: string;
  connectionSubtype: string | null;
  verb: SessionVerb;
  inputBytes: bigint;
  outputBytes: bigint;
  errorBytes: bigint;
}

/** Whether a session is a Postgres one (§4.3). */
export const isPostgres = (session: Pick<StreamSession, 'type' | 'connectionSubtype'>): boolean =>
  session.connectionSubtype === 'postgres' || session.type === 'postgres';

/** §4.3: the SQL of Postgres sessions only; CONNECT streams are wire protocol, EXEC streams the script. */
export function queryModeFor(session: Pick<StreamSession, 'type' | 'connectionSubtype' | 'verb'>): QueryMode {
  if (!isPostgres(session)) throw rawQueriesNeedPostgres();
  return session.verb === 'CONNECT' ? 'wire' : 'script';
}

/**
 * The queries of a Postgres session within a window (§14): a CONNECT stream is parsed from its start
 * (a message may span events), an EXEC one is read from the window's first event.
 */
export async function* sessionQueries(session: StreamSession, window?: TimeWindow): AsyncGenerator<QueryRecord> {
  const mode = queryModeFor(session);
  const queries = queriesFromEvents(readEvents(session.id, INPUT, mode === 'script' ? window : undefined), mode);
  for await (const q of queries) {
    if (inTimeWindow(window, q.time)) yield q;
  }
}

const INPUT: ReadonlySet<EventType> = new Set(['i']);

function selection(format: Exclude<StreamFormat, 'RAW_QUERIES'>, events: readonly EventType[] | null | undefined) {
  return new Set(events ?? defaultInlineTypes(format));
}

export async function renderSessionStream(
  viewer: Viewer,
  session: StreamSession,
  format: StreamFormat,
  events: readonly EventType[] | null | undefined,
  maxBytes: number,
  window?: TimeWindow,
): Promise<unknown[]> {
  assertMayReadStream(viewer, session);
  if (format === 'RAW_QUERIES') {
    queryModeFor(session);
    return isEmptyWindow(window) ? [] : renderRawQueries(sessionQueries(session, window), { maxBytes });
  }
  const types = selection(format, events);
  if (types.size === 0 || isEmptyWindow(window)) return format === 'RAW' ? [] : [''];
  return renderInline(format, readEvents(session.id, types, window), { types, maxBytes });
}

/** Payload bytes of the selected types, from the totals kept at append time. */
function storedBytes(session: StreamSession, types: ReadonlySet<EventType>): number {
  let bytes = 0n;
  if (types.has('i')) bytes += session.inputBytes;
  if (types.has('o')) bytes += session.outputBytes;
  if (types.has('e')) bytes += session.errorBytes;
  return Number(bytes);
}

/**
 * `eventSize` (§4). Without arguments it is the payload bytes of the whole stream, visible to
 * whoever sees the session; with a format or a selection it describes the stream and is gated like it.
 */
export async function sessionEventSize(
  viewer: Viewer,
  session: StreamSession,
  format: StreamFormat | null | undefined,
  events: readonly EventType[] | null | undefined,
  window?: TimeWindow,
): Promise<number> {
  if (format == null && events == null && !window) return storedBytes(session, new Set(EVENT_TYPES));
  assertMayReadStream(viewer, session);
  const fmt = format ?? 'RAW';
  if (fmt === 'RAW_QUERIES') {
    queryModeFor(session);
    return isEmptyWindow(window) ? 0 : computeRawQueriesSize(sessionQueries(session, window));
  }
  const types = selection(fmt, events);
  if (isEmptyWindow(window)) return 0;
  // Within a window the stored totals do not apply: the window's events are read.
  if (window) return types.size === 0 ? 0 : computeEventSize(fmt, readEvents(session.id, types, window), types);
  switch (fmt) {
    case 'RAW':
      return storedBytes(session, types);
    case 'BASE64':
      return base64Length(storedBytes(session, types));
    case 'UTF8':
      return types.size === 0 ? 0 : computeEventSize('UTF8', readEvents(session.id, types), types);
  }
}
