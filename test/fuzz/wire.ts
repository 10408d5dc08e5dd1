import net from 'node:net';
import WebSocket from 'ws';

/*
 * The fuzz run's clients. HTTP goes over raw sockets, byte for byte as the case wrote it (fetch and
 * node:http would refuse, normalise or repair most of what the cases send). Responses are read
 * with just enough of HTTP/1.1 to know when an answer is complete, so a kept-alive connection need
 * not wait for a timeout; whatever arrives is kept for the checks.
 */

export interface ParsedResponse {
  status: number;
  headers: Record<string, string>;
  body: Buffer;
}

export interface HttpExchange {
  /** Everything the server sent (up to KEEP_BYTES). */
  raw: Buffer;
  responses: ParsedResponse[];
  /**
   * How the exchange ended: the server closed, every expected answer came, time ran out, or the
   * connection failed with nothing received (`reset`: while we were still sending a large request).
   */
  end: 'closed' | 'complete' | 'timeout' | 'error' | 'reset';
  error?: string;
  ms: number;
}

export interface HttpOptions {
  /** Answers to wait for (pipelined requests), default 1. */
  responses?: number;
  /** Give up after this long. */
  timeoutMs: number;
  /** With nothing received this long after sending, close our side (a truncated request's end). */
  halfCloseAfterMs?: number;
  /** The request's method was HEAD: its answer has no body. */
  head?: boolean;
}

/** Most bytes kept of one exchange (a download may be longer; its start is enough to check). */
const KEEP_BYTES = 4 * 1024 * 1024;
const WRITE_SLICE = 256 * 1024;
/** An event stream (SSE, multipart) is read this long after its head, then closed. */
const STREAM_MS = 750;

/** Parses as many complete responses as `data` holds; `streaming` when one is an open-ended stream. */
export function parseResponses(data: Buffer, head = false): { responses: ParsedResponse[]; complete: number; streaming: boolean } {
  const responses: ParsedResponse[] = [];
  let at = 0;
  let streaming = false;
  for (;;) {
    const headEnd = data.indexOf('\r\n\r\n', at);
    if (headEnd < 0) break;
    const lines = data.subarray(at, headEnd).toString('latin1').split('\r\n');
    const m = /^HTTP\/\d\.\d (\d{3})/.exec(lines[0] ?? '');
    if (!m) break;
    const status = Number(m[1]);
    const headers: Record<string, string> = {};
    for (const line of lines.slice(1)) {
      const colon = line.indexOf(':');
      if (colon > 0) headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
    }
    let bodyStart = headEnd + 4;
    if (status >= 100 && status < 200 && status !== 101) {
      at = bodyStart;
      continue;
    }
    const type = headers['content-type'] ?? '';
    if (/text\/event-stream|multipart\/mixed/i.test(type)) streaming = true;
    let body: Buffer;
    if (head || status === 204 || status === 304 || status === 101) {
      body = Buffer.alloc(0);
    } else if (headers['transfer-encoding']?.toLowerCase().includes('chunked')) {
      const parts: Buffer[] = [];
      let ok = false;
      for (;;) {
        const lineEnd = data.indexOf('\r\n', bodyStart);
        if (lineEnd < 0) break;
        const size = parseInt(data.subarray(bodyStart, lineEnd).toString('latin1'), 16);
        if (!Number.isFinite(size)) break;
        if (size === 0) {
          const trailerEnd = data.indexOf('\r\n', lineEnd + 2);
          if (trailerEnd < 0) break;
          bodyStart = trailerEnd + 2;
          ok = true;
          break;
        }
        if (lineEnd + 2 + size + 2 > data.length) break;
        parts.push(data.subarray(lineEnd + 2, lineEnd + 2 + size));
        bodyStart = lineEnd + 2 + size + 2;
      }
      body = Buffer.concat(parts);
      if (!ok) {
        responses.push({ status, headers, body });
        break;
      }
    } else if (headers['content-length'] !== undefined) {
      const length = Number(headers['content-length']);
      body = data.subarray(bodyStart, bodyStart + length);
      if (body.length < length) {
        responses.push({ status, headers, body });
        break;
      }
      bodyStart += length;
    } else {
      // Until the connection closes.
      responses.push({ status, headers, body: data.subarray(bodyStart) });
      break;
    }
    responses.push({ status, headers, body });
    at = bodyStart;
    if (status === 101) break;
  }
  const complete = responses.filter((r, i) => i < responses.length - 1 || isComplete(data, r)).length;
  return { responses, complete, streaming };
}

function isComplete(data: Buffer, r: ParsedResponse): boolean {
  // Recomputed cheaply: a response counts as complete when its declared body is all there.
  if (r.status === 101 || r.status === 204 || r.status === 304) return true;
  if (r.headers['content-length'] !== undefined) return r.body.length >= Number(r.headers['content-length']);
  if (r.headers['transfer-encoding']?.toLowerCase().includes('chunked')) return data.subarray(-5).toString('latin1') === '0\r\n\r\n' || /\r\n0\r\n(.*\r\n)*\r\n$/.test(data.subarray(-512).toString('latin1'));
  return false;
}

/** Sends `request` (written in pieces when given several) and reads the answer. */
export function httpExchange(port: number, request: Buffer | Buffer[], options: HttpOptions): Promise<HttpExchange> {
  const started = Date.now();
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let kept = 0;
    let settled = false;
    let error: string | undefined;
    let streamTimer: NodeJS.Timeout | undefined;
    let halfTimer: NodeJS.Timeout | undefined;
    const socket = net.connect({ port, host: '127.0.0.1' });
    const total = (Array.isArray(request) ? request : [request]).reduce((n, b) => n + b.length, 0);
    let written = 0;
    const finish = (end: HttpExchange['end']) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      clearTimeout(streamTimer);
      clearTimeout(halfTimer);
      socket.destroy();
      const raw = Buffer.concat(chunks);
      resolve({ raw, responses: parseResponses(raw, options.head).responses, end, error, ms: Date.now() - started });
    };
    const timer = setTimeout(() => finish('timeout'), options.timeoutMs);
    socket.on('data', (chunk: Buffer) => {
      clearTimeout(halfTimer);
      if (kept < KEEP_BYTES) {
        chunks.push(chunk);
        kept += chunk.length;
      }
      const raw = Buffer.concat(chunks);
      const parsed = parseResponses(raw, options.head);
      if (parsed.complete >= (options.responses ?? 1)) finish('complete');
      else if (parsed.streaming && !streamTimer) streamTimer = setTimeout(() => finish('complete'), STREAM_MS);
      else if (kept >= KEEP_BYTES) finish('complete');
    });
    socket.on('error', (err) => {
      error = (err as NodeJS.ErrnoException).code ?? err.message;
      // A server that answers early (413, 400) and closes may reset the rest of our write: keep reading what came.
    });
    socket.on('close', () => finish(error && chunks.length === 0 ? (written < total ? 'reset' : 'error') : 'closed'));
    socket.on('connect', async () => {
      const pieces = Array.isArray(request) ? request : [request];
      for (const [i, piece] of pieces.entries()) {
        // Large bodies go in slices, and stop once an answer starts: a server that refuses early
        // (413, 415) closes, and a write still in flight would reset the connection and lose the answer.
        for (let at = 0; at < piece.length || (at === 0 && piece.length === 0); at += WRITE_SLICE) {
          if (settled || socket.destroyed || chunks.length > 0) return;
          const slice = piece.subarray(at, at + WRITE_SLICE);
          const flushed = socket.write(slice, () => (written += slice.length));
          if (!flushed) await new Promise((r) => socket.once('drain', r).once('close', r));
          if (piece.length === 0) break;
        }
        if (i < pieces.length - 1) await new Promise((r) => setTimeout(r, 5));
      }
      if (options.halfCloseAfterMs !== undefined) {
        halfTimer = setTimeout(() => {
          if (!socket.destroyed) socket.end();
        }, options.halfCloseAfterMs);
      }
    });
  });
}

export interface WsExchange {
  opened: boolean;
  /** The handshake's refusal, when it was refused. */
  rejected?: number;
  received: string[];
  closeCode?: number;
  closeReason?: string;
  error?: string;
  ms: number;
}

/** Opens a WebSocket, sends `messages` one by one and collects what comes back until closed or `waitMs` after the last. */
export function wsExchange(url: string, protocol: string | undefined, messages: (string | Buffer)[], waitMs: number, timeoutMs: number): Promise<WsExchange> {
  const started = Date.now();
  return new Promise((resolve) => {
    const out: WsExchange = { opened: false, received: [], ms: 0 };
    let settled = false;
    const ws = new WebSocket(url, protocol === undefined ? [] : [protocol], { handshakeTimeout: timeoutMs, maxPayload: 64 * 1024 * 1024 });
    const finish = () => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      out.ms = Date.now() - started;
      ws.terminate();
      resolve(out);
    };
    const timer = setTimeout(finish, timeoutMs);
    ws.on('unexpected-response', (_req, res) => {
      out.rejected = res.statusCode;
      res.resume();
      finish();
    });
    ws.on('error', (err) => {
      out.error = err.message;
      finish();
    });
    ws.on('message', (data: Buffer) => {
      if (out.received.length < 100) out.received.push(data.toString('utf8').slice(0, 100_000));
    });
    ws.on('close', (code, reason) => {
      out.closeCode = code;
      out.closeReason = reason.toString('utf8');
      finish();
    });
    ws.on('open', async () => {
      out.opened = true;
      for (const m of messages) {
        if (ws.readyState !== WebSocket.OPEN) break;
        ws.send(m, { binary: Buffer.isBuffer(m) });
        await new Promise((r) => setTimeout(r, 10));
      }
      setTimeout(finish, waitMs);
    });
  });
}
