import type http from 'node:http';
import { LRUCache } from 'lru-cache';
import type { Viewer } from '../auth/keys.ts';
import { viewerForKeyId } from '../auth/keys.ts';
import { recordAudit } from '../audit/log.ts';
import { prisma } from '../db/client.ts';
import { badInput, forbidden, notFound } from '../errors.ts';
import { assertMayReadStream, findVisibleSession, mayReadStream } from '../sessions/access.ts';
import { EVENT_TYPES, isEventType, type EventType } from '../sessions/event.ts';
import type { Verdict } from '../limits/rate-limit.ts';
import type { TimeWindow } from '../sessions/time-window.ts';
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
  /** §14: only the events in this window (EVENT_STREAM links). */
  window?: TimeWindow;
}

export interface LinkSettings {
  publicUrl: string;
  ttlSeconds: number;
  secret: string;
  now: number;
}

/** The parameters of a link, as signed and as put in its URL. */
interface LinkParams {
  extension: string;
  newline: boolean;
  eventTime: boolean;
  /** canonicalEvents. */
  events: string;
  window?: TimeWindow;
  /** Viewer segments only: where the output that rebuilds the screen at `window.from` starts. */
  since?: number;
}

/**
 * The viewer's parts (§14): its page and the data the page loads, each a VIEW link of its own
 * (named by the extension claim, so that a link to one part opens no other).
 */
export type ViewPart = 'html' | 'recording' | 'segment';

// Script and view links have no query parameters but the token: their claims are fixed.
const FIXED_CLAIMS = {
  SCRIPT: { extension: 'txt', newline: false, eventTime: false, events: '' },
  VIEW: { extension: 'html', newline: false, eventTime: false, events: '' },
} as const satisfies Partial<Record<DownloadTarget, LinkParams>>;

const PATHS: Record<DownloadTarget, (id: string, extension: string) => string> = {
  EVENT_STREAM: (id) => `/api/sessions/${id}/download`,
  SCRIPT: (id) => `/api/sessions/${id}/download/script`,
  VIEW: (id, part) => (part === 'html' ? `/sessions/${id}/view` : `/sessions/${id}/view/${part}`),
};

/** A window bound in a URL: the number's shortest round-trip decimal, the only spelling accepted back. */
const boundParam = (n: number | null | undefined): string | null => (n == null ? null : String(n));

/** The window as the token binds it: '' for none, so that links without one sign what they always did. */
function windowClaim(from: string | null, to: string | null, since: string | null = null): string {
  if (since !== null) return `${from ?? ''}~${to ?? ''}~${since}`;
  return from === null && to === null ? '' : `${from ?? ''}~${to ?? ''}`;
}

/** Everything a signed link binds; `expiresAt` in Unix milliseconds. */
export interface LinkClaims extends LinkParams {
  sessionId: string;
  orgId: string;
  issuerKeyId: string;
  target: DownloadTarget;
  expiresAt: number;
}

/** The URL of a signed link (§6, §14), on the public base URL. */
export function signedLinkUrl(claims: LinkClaims, publicUrl: string, secret: string): string {
  const from = boundParam(claims.window?.from);
  const to = boundParam(claims.window?.to);
  const since = boundParam(claims.since);
  const token = signDownloadToken({ ...claims, window: windowClaim(from, to, since) }, secret);
  const enc = (v: string) => encodeURIComponent(v).replace(/%2C/g, ',');
  const base = `${publicUrl}${PATHS[claims.target](encodeURIComponent(claims.sessionId), claims.extension)}?token=${enc(token)}`;
  // Encoded: a bound may be written with an exponent (`1e+21`), and `+` in a query means a space.
  const bounds = (from === null ? '' : `&from=${enc(from)}`) + (to === null ? '' : `&to=${enc(to)}`) + (since === null ? '' : `&since=${enc(since)}`);
  if (claims.target !== 'EVENT_STREAM') return base + bounds;
  return (
    `${base}&extension=${enc(claims.extension)}&newline=${claims.newline ? 1 : 0}` +
    `&event-time=${claims.eventTime ? 1 : 0}&events=${enc(claims.events)}` +
    bounds
  );
}

export async function issueDownloadLink(viewer: Viewer, request: LinkRequest, settings: LinkSettings) {
  if (viewer.role === 'RECORDER') throw forbidden('RECORDER keys cannot download sessions');
  if (!isValidExtension(request.extension)) {
    throw badInput('extension must be 1 to 16 ASCII letters or digits', { field: 'extension' });
  }
  if (request.target === 'EVENT_STREAM' && request.events.length === 0) {
    throw badInput('events must select at least one event type', { field: 'events' });
  }
  if (request.window && request.target !== 'EVENT_STREAM') {
    throw badInput('from and to apply to EVENT_STREAM links only', { field: request.window.from != null ? 'from' : 'to' });
  }
  const session = await findVisibleSession(viewer, request.sessionId);
  if (!session) throw notFound('session not found');
  assertMayReadStream(viewer, session);
  const expiresAt = settings.now + settings.ttlSeconds * 1000;
  const params: LinkParams =
    request.target === 'EVENT_STREAM'
      ? {
          extension: request.extension,
          newline: request.newline,
          eventTime: request.eventTime,
          events: canonicalEvents(request.events),
          window: request.window,
        }
      : FIXED_CLAIMS[request.target];
  const claims = { sessionId: session.id, orgId: session.orgId, issuerKeyId: viewer.keyId, target: request.target, expiresAt, ...params };
  const expireAt = new Date(expiresAt);
  recordAudit({
    orgId: session.orgId,
    action: 'LINK_ISSUED',
    actor: viewer,
    sessionId: session.id,
    details: { target: request.target, extension: params.extension, ...(params.events && { events: params.events }), ...request.window, expireAt },
  });
  return { downloadUrl: signedLinkUrl(claims, settings.publicUrl, settings.secret), expireAt };
}

/**
 * Why a download is refused: the link is not one reel signed for this request (`invalid`), it has
 * expired, its session is gone, or its issuer may no longer read the session (`forbidden`).
 */
export type DownloadRefusal = 'invalid' | 'expired' | 'gone' | 'forbidden' | 'limited';

export type DownloadCheck =
  | { ok: false; reason: DownloadRefusal; retryAfterSeconds?: number }
  | {
      ok: true;
      session: { id: string; roleName: string; startDate: Date; script: string | null; metadata: unknown };
      params: { extension: string; newline: boolean; eventTime: boolean; types: Set<EventType>; window?: TimeWindow; since?: number };
      /** Who issued the link, and until when it holds (the viewer page signs its data links with both). */
      link: { orgId: string; issuerKeyId: string; expiresAt: number; issuer: Viewer };
    };

const FLAG: Record<string, boolean> = { '0': false, '1': true };
const ALLOWED_PARAMS = {
  SCRIPT: ['token'],
  VIEW: ['token'],
  EVENT_STREAM: ['token', 'extension', 'newline', 'event-time', 'events', 'from', 'to'],
} as const satisfies Record<DownloadTarget, readonly string[]>;

/** A viewer segment's parameters (recording.ts). */
const SEGMENT_PARAMS = ['token', 'from', 'to', 'since'];

/** A window bound from a URL: its canonical spelling of a finite number ≥ 0, or undefined when not. */
function parseBound(value: string): number | undefined {
  const n = Number(value);
  return value !== '' && Number.isFinite(n) && n >= 0 && String(n) === value ? n : undefined;
}

/** Whether a request through a link (its verified token) is within the link's rate limit (§16). */
export type AdmitLink = (token: string) => Promise<Verdict>;

/**
 * Checks a download request in the order of §6: token and parameters, expiry, the session, the
 * issuer. Nothing about the session is revealed before the token holds. A valid link over its rate
 * limit (`admit`) is refused before the session is read.
 */
export async function checkDownload(
  sessionId: string,
  target: DownloadTarget,
  query: URLSearchParams,
  secrets: string[],
  now: number,
  part: ViewPart = 'html',
  admit?: AdmitLink,
): Promise<DownloadCheck> {
  const invalid = { ok: false, reason: 'invalid' } as const;
  const single = (name: string) => (query.getAll(name).length === 1 ? query.get(name) : null);
  const token = single('token');
  if (token === null) return invalid;
  // Every parameter is bound to the token: an unknown one is a changed link, not noise.
  const allowed: readonly string[] = target === 'VIEW' && part === 'segment' ? SEGMENT_PARAMS : ALLOWED_PARAMS[target];
  if ([...query.keys()].some((k) => !allowed.includes(k))) return invalid;
  const bound = (name: string) => {
    const values = query.getAll(name);
    return values.length === 0 ? null : values.length === 1 ? parseBound(values[0]!) : undefined;
  };
  const from = bound('from');
  const to = bound('to');
  const since = bound('since');
  if (from === undefined || to === undefined || since === undefined) return invalid;
  const window = from === null && to === null ? undefined : { from, to };
  const claim = windowClaim(boundParam(from), boundParam(to), boundParam(since));
  let supplied;
  if (target === 'SCRIPT') {
    supplied = { sessionId, target, ...FIXED_CLAIMS.SCRIPT };
  } else if (target === 'VIEW') {
    supplied = { sessionId, target, ...FIXED_CLAIMS.VIEW, extension: part, window: claim };
  } else {
    const extension = single('extension');
    const newline = FLAG[single('newline') ?? ''];
    const eventTime = FLAG[single('event-time') ?? ''];
    const events = single('events');
    if (extension === null || newline === undefined || eventTime === undefined || events === null) return invalid;
    supplied = { sessionId, target, extension, newline, eventTime, events, window: claim };
  }
  const verdict = verifyDownloadToken(token, supplied, secrets, now);
  if (!verdict.ok) return verdict.reason === 'expired' ? { ok: false, reason: 'expired' } : invalid;
  const { claims } = verdict;
  const admitted = admit ? await admit(token) : undefined;
  if (admitted && !admitted.ok) return { ok: false, reason: 'limited', retryAfterSeconds: admitted.retryAfterSeconds };
  const session = isUuid(sessionId)
    ? await prisma().session.findFirst({
        where: { id: sessionId, orgId: claims.orgId },
        select: { id: true, orgId: true, userId: true, roleName: true, startDate: true, script: true, metadata: true },
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
    params: { extension: claims.extension, newline: claims.newline, eventTime: claims.eventTime, types, window, since: since ?? undefined },
    link: { orgId: claims.orgId, issuerKeyId: claims.issuerKeyId, expiresAt: claims.expiresAt, issuer },
  };
}

/** What the link routes are given by the server: the rate limit, and how to name a client. */
export interface LinkHooks {
  admit?: AdmitLink;
  clientIp?: (req: http.IncomingMessage) => string | null;
}

/** A link's use for the audit trail (spec §15): what was served through it, to whom. */
export interface LinkUse {
  /** The address of whoever fetched it. */
  clientIp: string | null;
  /** What was served: a download's format, or the viewer's part. */
  part: string;
}

/**
 * Records LINK_USED when the response ends: the bytes actually sent and whether the client stayed
 * to the end. The actor is the link's issuer, with the fetching client's address.
 */
export function auditLinkUse(res: http.ServerResponse, sessionId: string, link: { orgId: string; issuer: Viewer }, use: LinkUse, bytes: () => number): void {
  res.once('close', () =>
    recordAudit({
      orgId: link.orgId,
      action: 'LINK_USED',
      actor: { ...link.issuer, clientIp: use.clientIp },
      sessionId,
      details: { part: use.part, bytes: bytes(), complete: res.writableFinished, status: res.statusCode },
    }),
  );
}

/** How often a session's refusals to one client address are recorded (spec §15), at most. */
const REFUSAL_EVERY_MS = 60_000;
const refusals = new LRUCache<string, { until: number; suppressed: number }>({ max: 10_000 });

/**
 * Records LINK_REFUSED in the organisation of the session the URL names (refusals for sessions that
 * do not exist are only logged by the request log). Session ids are not secret, so anyone may be
 * refused as often as they like: for one session and one client address, one event a minute at
 * most, with `suppressed` counting the refusals since the previous one — the trail shows the
 * attempts without growing (or its queue filling) with every request of a flood.
 */
export async function auditLinkRefusal(sessionId: string, status: number, reason: DownloadRefusal, use: LinkUse, now = Date.now()): Promise<void> {
  if (!isUuid(sessionId)) return;
  const key = `${sessionId.toLowerCase()} ${use.clientIp ?? ''}`;
  const seen = refusals.get(key);
  if (seen && now < seen.until) {
    seen.suppressed++;
    return;
  }
  refusals.set(key, { until: now + REFUSAL_EVERY_MS, suppressed: 0 });
  const session = await prisma().session.findUnique({ where: { id: sessionId }, select: { orgId: true } });
  if (!session) return;
  recordAudit({
    orgId: session.orgId,
    action: 'LINK_REFUSED',
    actor: { anonymous: true, clientIp: use.clientIp },
    sessionId,
    details: { part: use.part, status, reason, suppressed: seen?.suppressed ?? 0 },
  });
}
