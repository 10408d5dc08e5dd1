import type http from 'node:http';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { sendJson, type Route } from '../http.ts';
import { countedBytes, downloadBytes } from '../metrics.ts';
import { castHeader, downloadFormatFor, renderDownload } from '../render/files.ts';
import { readEventBatches } from '../sessions/read-events.ts';
import { isEmptyWindow } from '../sessions/time-window.ts';
import { contentDisposition } from './filename.ts';
import { auditLinkRefusal, auditLinkUse, checkDownload, type DownloadRefusal, type LinkHooks } from './service.ts';

// A window of no time holds no events.
async function* emptyBatches(): AsyncGenerator<never> {}

const PATH = /^\/api\/sessions\/([^/]+)\/download(\/script)?$/;

/** §6: what the client is told for each refusal. */
const REFUSED: Record<DownloadRefusal, { status: number; message: string }> = {
  invalid: { status: 401, message: 'unauthorized' },
  expired: { status: 410, message: 'session download link expired' },
  gone: { status: 404, message: 'not found' },
  forbidden: { status: 403, message: 'user is not allowed to download this session' },
  limited: { status: 429, message: 'too many requests through this link' },
};

function refuse(res: http.ServerResponse, reason: DownloadRefusal, retryAfterSeconds?: number): void {
  const { status, message } = REFUSED[reason];
  if (retryAfterSeconds !== undefined) res.setHeader('Retry-After', String(retryAfterSeconds));
  sendJson(res, status, { message, status, ...(retryAfterSeconds !== undefined && { retryAfter: retryAfterSeconds }) });
}

/** GET/HEAD /api/sessions/:id/download and /download/script: the file behind a signed link, streamed. */
export function downloadRoute(secrets: string[], now: () => number, hooks: LinkHooks = {}): Route {
  return async (req: http.IncomingMessage, res: http.ServerResponse, url: URL) => {
    const match = PATH.exec(url.pathname);
    if (!match) return false;
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.setHeader('Allow', 'GET, HEAD');
      sendJson(res, 405, { message: 'method not allowed', status: 405 });
      return true;
    }
    let sessionId: string;
    try {
      sessionId = decodeURIComponent(match[1]!);
    } catch {
      refuse(res, 'invalid');
      return true;
    }
    const target = match[2] ? 'SCRIPT' : 'EVENT_STREAM';
    const check = await checkDownload(sessionId, target, url.searchParams, secrets, now(), 'html', hooks.admit);
    const clientIp = hooks.clientIp?.(req) ?? null;
    if (!check.ok) {
      refuse(res, check.reason, check.retryAfterSeconds);
      await auditLinkRefusal(sessionId, res.statusCode, check.reason, { clientIp, part: target === 'SCRIPT' ? 'script' : 'download' });
      return true;
    }
    const { session, params } = check;
    let sent = 0;
    auditLinkUse(res, session.id, check.link, { clientIp, part: target === 'SCRIPT' ? 'script' : downloadFormatFor(params.extension) }, () => sent);
    const headers = {
      'Cache-Control': 'no-store',
      'X-Content-Type-Options': 'nosniff',
    };
    if (target === 'SCRIPT') {
      const body = Buffer.from(session.script ?? '', 'utf8');
      res.writeHead(200, {
        ...headers,
        'Content-Type': 'text/plain; charset=utf-8',
        'Content-Length': body.length,
        'Content-Disposition': contentDisposition(session.roleName, session.id, 'txt', new Date(now())),
      });
      res.end(req.method === 'HEAD' ? undefined : body);
      if (req.method !== 'HEAD') {
        downloadBytes.labels({ format: 'script' }).inc(body.length);
        sent = body.length;
      }
      return true;
    }
    const events = isEmptyWindow(params.window) ? emptyBatches() : readEventBatches(session.id, params.types, { reusePages: true, window: params.window });
    const file = renderDownload(params.extension, events, session.startDate, {
      types: params.types,
      newline: params.newline,
      eventTime: params.eventTime,
      castHeader: castHeader(session),
    });
    res.writeHead(200, {
      ...headers,
      'Content-Type': file.contentType,
      'Content-Disposition': contentDisposition(session.roleName, session.id, params.extension, new Date(now())),
    });
    if (req.method === 'HEAD') {
      await file.body.return(undefined);
      res.end();
      return true;
    }
    // Backpressure end to end: the generator is pulled only as fast as the socket drains, and a
    // client that goes away destroys the pipeline, which ends the generator and its database reads.
    try {
      await pipeline(Readable.from(countedBytes(downloadFormatFor(params.extension), file.body, (n) => (sent += n)), { objectMode: false }), res);
    } catch (err) {
      if (!res.destroyed && !res.writableEnded) res.destroy(err as Error);
    }
    return true;
  };
}
