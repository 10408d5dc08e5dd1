import fs from 'node:fs';
import type http from 'node:http';
import { createRequire } from 'node:module';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { prisma } from '../db/client.ts';
import { auditLinkRefusal, auditLinkUse, checkDownload, signedLinkUrl, type DownloadCheck, type DownloadRefusal, type LinkHooks, type LinkClaims, type ViewPart } from '../downloads/service.ts';
import { sendJson, type Route } from '../http.ts';
import { countedBytes } from '../metrics.ts';
import { castHeader } from '../render/files.ts';
import { isPostgresSession, refusalPage, renderViewPage, type PageLinks, type ViewedSession } from './page.ts';
import { planSegments, recordingIndex, renderSegment } from './recording.ts';

/*
 * The viewer (spec §14): GET /sessions/:id/view?token=… is the page of a session, and the page's
 * data (a terminal session's segmented recording) is behind links the page was given, signed with
 * its own expiry and issuer. Every part is checked like a download (§6, in its order), and refused
 * with a small HTML page (the page) or JSON (its data). Links inside the page are relative, so it
 * works behind any public base URL.
 */

const PATH = /^\/sessions\/([^/]+)\/view(?:\/(recording|segment))?$/;
const ASSET_PATH = /^\/view\/assets\/([a-z.-]+)$/;

/**
 * Everything the page may load: its own origin, and WebAssembly compiled by the player (its terminal
 * emulator is inlined wasm). No inline script or style runs.
 */
export const VIEW_POLICY = [
  "default-src 'none'",
  "script-src 'self' 'wasm-unsafe-eval'",
  "style-src 'self'",
  "connect-src 'self'",
  "img-src 'self'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join('; ');

const require = createRequire(import.meta.url);
const own = (name: string) => new URL(`./assets/${name}`, import.meta.url);
const ASSETS: Record<string, { file: URL | string; type: string }> = {
  'view.js': { file: own('view.js'), type: 'text/javascript; charset=utf-8' },
  'view.css': { file: own('view.css'), type: 'text/css; charset=utf-8' },
  'asciinema-player.min.js': {
    file: require.resolve('asciinema-player/dist/bundle/asciinema-player.min.js'),
    type: 'text/javascript; charset=utf-8',
  },
  'asciinema-player.css': { file: require.resolve('asciinema-player/dist/bundle/asciinema-player.css'), type: 'text/css; charset=utf-8' },
};

const REFUSED: Record<DownloadRefusal, { status: number; message: string }> = {
  invalid: { status: 401, message: 'This link is not valid.' },
  expired: { status: 410, message: 'This link has expired: ask for a new one.' },
  gone: { status: 404, message: 'This session does not exist.' },
  forbidden: { status: 403, message: 'Whoever issued this link may no longer see this session.' },
  limited: { status: 429, message: 'Too many requests through this link: try again in a moment.' },
};

const PAGE_HEADERS = {
  'Content-Security-Policy': VIEW_POLICY,
  'Cache-Control': 'no-store',
  'X-Content-Type-Options': 'nosniff',
  'Referrer-Policy': 'no-referrer',
};

function sendPage(res: http.ServerResponse, status: number, html: string): void {
  res.writeHead(status, { ...PAGE_HEADERS, 'Content-Type': 'text/html; charset=utf-8', 'Content-Length': Buffer.byteLength(html) });
  res.end(html);
}

/** Streams `body`, its bytes told to `sent` (and counted under `format` in the metrics, when given). */
async function stream(
  req: http.IncomingMessage,
  res: http.ServerResponse,
  type: string,
  body: AsyncGenerator<string | Uint8Array>,
  sent: (bytes: number) => void,
  format?: string,
) {
  res.writeHead(200, { ...PAGE_HEADERS, 'Content-Type': type });
  if (req.method === 'HEAD') {
    await body.return(undefined);
    res.end();
    return;
  }
  try {
    await pipeline(Readable.from(countedBytes(format, body, sent), { objectMode: false }), res);
  } catch (err) {
    if (!res.destroyed && !res.writableEnded) res.destroy(err as Error);
  }
}

async function viewedSession(id: string): Promise<ViewedSession | null> {
  const s = await prisma().session.findUnique({
    where: { id },
    select: {
      id: true,
      roleName: true,
      type: true,
      connectionSubtype: true,
      verb: true,
      status: true,
      userId: true,
      userName: true,
      userEmail: true,
      resourceName: true,
      startDate: true,
      endDate: true,
      exitCode: true,
      script: true,
      guardrailsInfo: true,
      review: { select: { type: true, status: true, groups: { select: { group: true, status: true } } } },
    },
  });
  return s;
}

/** GET/HEAD /sessions/:id/view (+ /recording, /segment) and the page's assets. */
export function viewRoute(secrets: string[], now: () => number, hooks: LinkHooks = {}): Route {
  return async (req, res, url) => {
    const asset = ASSET_PATH.exec(url.pathname);
    const match = asset ? null : PATH.exec(url.pathname);
    if (!asset && !match) return false;
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.setHeader('Allow', 'GET, HEAD');
      sendJson(res, 405, { message: 'method not allowed', status: 405 });
      return true;
    }
    if (asset) {
      const file = Object.hasOwn(ASSETS, asset[1]!) ? ASSETS[asset[1]!] : undefined; // not `constructor` and the like
      if (!file) return false;
      const body = await fs.promises.readFile(file.file);
      res.writeHead(200, { 'Content-Type': file.type, 'Content-Length': body.length, 'Cache-Control': 'public, max-age=3600', 'X-Content-Type-Options': 'nosniff' });
      res.end(req.method === 'HEAD' ? undefined : body);
      return true;
    }
    const part: ViewPart = (match![2] as ViewPart | undefined) ?? 'html';
    let sessionId: string;
    try {
      sessionId = decodeURIComponent(match![1]!);
    } catch {
      sessionId = '';
    }
    const check: DownloadCheck = sessionId
      ? await checkDownload(sessionId, 'VIEW', url.searchParams, secrets, now(), part, hooks.admit)
      : { ok: false, reason: 'invalid' };
    const clientIp = hooks.clientIp?.(req) ?? null;
    if (!check.ok) {
      const { status, message } = REFUSED[check.reason];
      if (check.retryAfterSeconds !== undefined) res.setHeader('Retry-After', String(check.retryAfterSeconds));
      if (part === 'html') sendPage(res, status, refusalPage(status, message));
      else sendJson(res, status, { message, status });
      await auditLinkRefusal(sessionId, status, check.reason, { clientIp, part: `view-${part}` });
      return true;
    }
    let sent = 0;
    const count = (n: number) => (sent += n);
    auditLinkUse(res, check.session.id, check.link, { clientIp, part: `view-${part}` }, () => sent);
    const { session, link, params } = check;
    // The page's own links: signed now, with the page's expiry and issuer.
    const sign = (claims: Omit<LinkClaims, 'sessionId' | 'orgId' | 'issuerKeyId' | 'expiresAt'>, base: string) =>
      signedLinkUrl({ ...claims, sessionId: session.id, orgId: link.orgId, issuerKeyId: link.issuerKeyId, expiresAt: link.expiresAt }, base, secrets[0]!);
    const view = (extension: ViewPart, rest: Partial<LinkClaims> = {}) => ({ target: 'VIEW' as const, extension, newline: false, eventTime: false, events: '', ...rest });
    const size = castHeader(session);

    if (part === 'segment') {
      const { window, since } = params;
      if (window?.from == null || window.to == null || since === undefined) {
        sendJson(res, 401, { message: 'unauthorized', status: 401 });
        return true;
      }
      await stream(req, res, 'application/json; charset=utf-8', renderSegment(session.id, { from: window.from, to: window.to, since }, size), count, 'segment');
      return true;
    }
    if (part === 'recording') {
      const plan = await planSegments(session.id);
      // Relative to this index (/sessions/:id/view/recording), as the player resolves them.
      const urls = plan.segments.map((s, k) =>
        sign(view('segment', { window: { from: s.from, to: s.to }, since: plan.segments[k - 1]?.from ?? s.from }), '../../..'),
      );
      const body = recordingIndex(plan, size, urls);
      res.writeHead(200, { ...PAGE_HEADERS, 'Content-Type': 'application/json; charset=utf-8', 'Content-Length': Buffer.byteLength(body) });
      res.end(req.method === 'HEAD' ? undefined : body);
      if (req.method !== 'HEAD') count(Buffer.byteLength(body));
      return true;
    }
    const viewed = await viewedSession(session.id);
    if (!viewed) {
      sendPage(res, 404, refusalPage(404, REFUSED.gone.message));
      return true;
    }
    // Relative to the page (/sessions/:id/view).
    const download = (label: string, extension: string, events: string) => ({
      label,
      url: sign({ target: 'EVENT_STREAM', extension, newline: false, eventTime: false, events }, '../..'),
    });
    const terminal = !isPostgresSession(viewed);
    const links: PageLinks = {
      recording: terminal ? sign(view('recording'), '../..') : undefined,
      downloads: terminal
        ? [download('asciicast', 'cast', 'o,e'), download('output', 'txt', 'o,e'), download('JSON', 'json', 'i,o,e')]
        : [download('JSON', 'json', 'i,o,e'), download('CSV output', 'csv', 'o,e')],
      expiresAt: new Date(link.expiresAt),
    };
    await stream(req, res, 'text/html; charset=utf-8', renderViewPage(viewed, links), count);
    return true;
  };
}
