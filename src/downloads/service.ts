import type { Viewer } from '../auth/keys.ts';
import { viewerForKeyId } from '../auth/keys.ts';
import { prisma } from '../db/client.ts';
import { badInput, forbidden, notFound } from '../errors.ts';
import { assertMayReadStream, findVisibleSession, mayReadStream } from '../sessions/access.ts';
import { EVENT_TYPES, isEventType, type EventType } from '../sessions/event.ts';
import { isUuid } from '../uuid.ts';
import { isValidExtension, signDownloadToken, verifyDownloadToken, type DownloadTarget } from './token.ts';

/*
 * Download links (spec §6): issued for a session the caller may read the stream of, signed and
 * stateless; every request re-checks the token, the session and the issuer.
 */

/** The canonical `events` value of a link: known types, deduplicated, in i,o,e order. */
export function canonicalEvents(types: readonly EventType[]): string {
  return EVENT_TYPES.filter((k) => types.includes(k)).join(',');
}

export interface LinkRequest {
  sessionId: string;
  extension: string;
  newline: boolean;
  eventTime: boolean;
  events: readonly EventType[];
  target: DownloadTarget;
}

export interface LinkSettings {
  publicUrl: string;
  ttlSeconds: number;
  secret: string;
  now: number;
}

// A script link has no query parameters: its claims are fixed.
const SCRIPT_CLAIMS = { extension: 'txt', newline: false, eventTime: false, events: '' } as const;

export async function issueDownloadLink(viewer: Viewer, request: LinkRequest, settings: LinkSettings) {
  if (viewer.role === 'RECORDER') throw forbidden('RECORDER keys cannot download sessions');
  if (!isValidExtension(request.extension)) {
    throw badInput('extension must be 1 to 16 ASCII letters or digits', { field: 'extension' });
  }
  if (request.target === 'EVENT_STREAM' && request.events.length === 0) {
    throw badInput('events must select at least one event type', { field: 'events' });
  }
  const session = await findVisibleSession(viewer, request.sessionId);
  if (!session) throw notFound('session not found');
  assertMayReadStream(viewer, session);
  const expiresAt = settings.now + settings.ttlSeconds * 1000;
  const params =
    request.target === 'SCRIPT'
      ? SCRIPT_CLAIMS
      : {
          extension: request.extension,
          newline: request.newline,
          eventTime: request.eventTime,
          events: canonicalEvents(request.events),
        };
  const token = signDownloadToken(
    { sessionId: session.id, orgId: session.orgId, issuerKeyId: viewer.keyId, target: request.target, expiresAt, ...params },
    settings.secret,
  );
  const base = `${settings.publicUrl}/api/sessions/${encodeURIComponent(session.id)}/download`;
  const enc = (v: string) => encodeURIComponent(v).replace(/%2C/g, ',');
  const downloadUrl =
    request.target === 'SCRIPT'
      ? `${base}/script?token=${enc(token)}`
      : `${base}?token=${enc(token)}&extension=${enc(params.extension)}&newline=${params.newline ? 1 : 0}` +
        `&event-time=${params.eventTime ? 1 : 0}&events=${enc(params.events)}`;
  return { downloadUrl, expireAt: new Date(expiresAt) };
}

/**
 * Why a download is refused: the link is not one reel signed for this request (`invalid`), it has
 * expired, its session is gone, or its issuer may no longer read the session (`forbidden`).
 */
export type DownloadRefusal = 'invalid' | 'expired' | 'gone' | 'forbidden';

export type DownloadCheck =
  | { ok: false; reason: DownloadRefusal }
  | {
      ok: true;
      session: { id: string; roleName: string; startDate: Date; script: string | null };
      params: { extension: string; newline: boolean; eventTime: boolean; types: Set<EventType> };
    };

const FLAG: Record<string, boolean> = { '0': false, '1': true };
const ALLOWED_PARAMS = {
  SCRIPT: ['token'],
  EVENT_STREAM: ['token', 'extension', 'newline', 'event-time', 'events'],
} as const satisfies Record<DownloadTarget, readonly string[]>;

/**
 * Checks a download request in the order of §6: token and parameters, expiry, the session, the
 * issuer. Nothing about the session is revealed before the token holds.
 */
export async function checkDownload(
  sessionId: string,
  target: DownloadTarget,
  query: URLSearchParams,
  secrets: string[],
  now: number,
): Promise<DownloadCheck> {
  const invalid = { ok: false, reason: 'invalid' } as const;
  const single = (name: string) => (query.getAll(name).length === 1 ? query.get(name) : null);
  const token = single('token');
  if (token === null) return invalid;
  // Every parameter is bound to the token: an unknown one is a changed link, not noise.
  if ([...query.keys()].some((k) => !(ALLOWED_PARAMS[target] as readonly string[]).includes(k))) return invalid;
  let supplied;
  if (target === 'SCRIPT') {
    supplied = { sessionId, target, ...SCRIPT_CLAIMS };
  } else {
    const extension = single('extension');
    const newline = FLAG[single('newline') ?? ''];
    const eventTime = FLAG[single('event-time') ?? ''];
    const events = single('events');
    if (extension === null || newline === undefined || eventTime === undefined || events === null) return invalid;
    supplied = { sessionId, target, extension, newline, eventTime, events };
  }
  const verdict = verifyDownloadToken(token, supplied, secrets, now);
  if (!verdict.ok) return verdict.reason === 'expired' ? { ok: false, reason: 'expired' } : invalid;
  const { claims } = verdict;
  const session = isUuid(sessionId)
    ? await prisma().session.findFirst({
        where: { id: sessionId, orgId: claims.orgId },
        select: { id: true, orgId: true, userId: true, roleName: true, startDate: true, script: true },
      })
    : null;
  if (!session) return { ok: false, reason: 'gone' };
  const issuer = await viewerForKeyId(claims.issuerKeyId);
  if (!issuer || issuer.orgId !== claims.orgId || !mayReadStream(issuer, session)) {
    return { ok: false, reason: 'forbidden' };
  }
  const types = new Set(claims.events.split(',').filter(isEventType));
  return {
    ok: true,
    session,
    params: { extension: claims.extension, newline: claims.newline, eventTime: claims.eventTime, types },
  };
}
