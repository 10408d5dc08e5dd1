import type http from 'node:http';

/*
 * What the HTTP server and its routes share. It imports neither, so a route never reaches up
 * into the server that mounts it.
 */

/** A handler for some paths of the HTTP server; resolves to true when it handled the request. */
export interface Route {
  (req: http.IncomingMessage, res: http.ServerResponse, url: URL): Promise<boolean>;
}

/** Writes a JSON body, not cached, with its length; errors use `{ "message", "status" }`. */
export function sendJson(res: http.ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, {
    'Content-Type': 'application/json; charset=utf-8',
    'Content-Length': Buffer.byteLength(text),
    'Cache-Control': 'no-store',
    'X-Content-Type-Options': 'nosniff',
  });
  res.end(text);
}
