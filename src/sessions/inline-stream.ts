import type { Viewer } from '../auth/keys.ts';
import { rawQueriesNeedPostgres } from '../errors.ts';
import type { SessionVerb } from '../generated/prisma/enums.ts';
import { queriesFromEvents, type QueryMode } from '../pgwire/index.ts';
import { base64Length } from '../render/common.ts';
import { computeEventSize, computeRawQueriesSize, defaultInlineTypes, renderInline, renderRawQueries } from '../render/inline.ts';
import { assertMayReadStream } from './access.ts';
import { EVENT_TYPES, type EventType } from './event.ts';
import { readEvents } from './read-events.ts';

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

function selection(format: Exclude<StreamFormat, 'RAW_QUERIES'>, events: readonly EventType[] | null | undefined) {
  return new Set(events ?? defaultInlineTypes(format));
}

export async function renderSessionStream(
  viewer: Viewer,
  session: StreamSession,
  format: StreamFormat,
  events: readonly EventType[] | null | undefined,
  maxBytes: number,
): Promise<unknown[]> {
  assertMayReadStream(viewer, session);
  if (format === 'RAW_QUERIES') {
    const mode = queryModeFor(session);
    return renderRawQueries(queriesFromEvents(readEvents(session.id, new Set(['i'])), mode), { maxBytes });
  }
  const types = selection(format, events);
  if (types.size === 0) return format === 'RAW' ? [] : [''];
  return renderInline(format, readEvents(session.id, types), { types, maxBytes });
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
): Promise<number> {
  if (format == null && events == null) return storedBytes(session, new Set(EVENT_TYPES));
  assertMayReadStream(viewer, session);
  const fmt = format ?? 'RAW';
  if (fmt === 'RAW_QUERIES') {
    return computeRawQueriesSize(queriesFromEvents(readEvents(session.id, new Set(['i'])), queryModeFor(session)));
  }
  const types = selection(fmt, events);
  switch (fmt) {
    case 'RAW':
      return storedBytes(session, types);
    case 'BASE64':
      return base64Length(storedBytes(session, types));
    case 'UTF8':
      return types.size === 0 ? 0 : computeEventSize('UTF8', readEvents(session.id, types), types);
  }
}
