import { expect } from 'vitest';
import { revokeApiKey } from '../../src/auth/keys.ts';
import { prisma } from '../../src/db/client.ts';
import { startTestApp, type Clock, type TestApp } from '../support/app.ts';
import { ok } from '../support/graphql.ts';
import type { EventTypeName } from '../support/ingest.ts';

/*
 * Shared pieces of the download-route tests (spec §6): links issued by the mutation and fetched
 * over HTTP from a server whose clock the test moves, and the answers the route gives.
 */

/** The public base URL links are built on: another host, with a path prefix (a reverse proxy strips it). */
export const PUBLIC_URL = 'https://reel.example.test/prefix';

export const UNAUTHORIZED = '{"message":"unauthorized","status":401}';
export const EXPIRED = '{"message":"session download link expired","status":410}';
export const NOT_FOUND = '{"message":"not found","status":404}';

/**
 * A test app serving links on PUBLIC_URL, its clock at 2024-07-25 16:00 UTC unless given one; pass
 * the database (and clock) of a stopped app to restart on the same data.
 */
export function startDownloadApp(env: Record<string, string> = {}, options: { clock?: Clock; database?: TestApp['database'] } = {}) {
  return startTestApp({ REEL_PUBLIC_URL: PUBLIC_URL, ...env }, { ...options, clock: options.clock ?? { now: Date.UTC(2024, 6, 25, 16, 0, 0, 0) } });
}

/** Revokes a key as `keys revoke` does. */
export async function revokeKey(key: string): Promise<void> {
  expect(await revokeApiKey(key)).not.toBeNull();
}

export async function deleteSession(id: string): Promise<void> {
  await prisma().session.delete({ where: { id } });
}

const LINK = /* GraphQL */ `
  mutation Link($sessionId: ID!, $extension: String!, $newline: Boolean, $eventTime: Boolean, $events: [EventType!],
                $target: DownloadTarget, $from: Float, $to: Float) {
    downloadLink(sessionId: $sessionId, extension: $extension, newline: $newline, eventTime: $eventTime,
                 events: $events, target: $target, from: $from, to: $to) { downloadUrl expireAt }
  }`;

export interface LinkArgs {
  extension?: string;
  newline?: boolean;
  eventTime?: boolean;
  events?: EventTypeName[] | null;
  target?: 'EVENT_STREAM' | 'SCRIPT';
  from?: number;
  to?: number;
}

export interface Link {
  downloadUrl: string;
  expireAt: string;
}

/** Variables of the mutation; arguments left undefined are omitted (their defaults apply). */
export function linkVariables(sessionId: string, args: LinkArgs = {}): Record<string, unknown> {
  const vars: Record<string, unknown> = { sessionId, extension: args.extension ?? 'txt' };
  for (const name of ['newline', 'eventTime', 'events', 'target', 'from', 'to'] as const) {
    if (args[name] !== undefined) vars[name] = args[name];
  }
  return vars;
}

export function requestLink(app: TestApp, key: string | undefined, sessionId: string, args: LinkArgs = {}) {
  return app.gql<{ downloadLink: Link }>(LINK, linkVariables(sessionId, args), key);
}

export async function link(app: TestApp, key: string, sessionId: string, args: LinkArgs = {}): Promise<Link> {
  return ok(await requestLink(app, key, sessionId, args)).downloadLink;
}

/** The server's own address for a URL built on the public base (the proxy's job of stripping the prefix). */
export function local(app: TestApp, downloadUrl: string): string {
  expect(downloadUrl.startsWith(`${app.config.publicUrl}/`), downloadUrl).toBe(true);
  return app.running.url + downloadUrl.slice(app.config.publicUrl.length);
}

/** Fetches a link (public URL) from the server. */
export function download(app: TestApp, downloadUrl: string, init: RequestInit = {}): Promise<Response> {
  return fetch(local(app, downloadUrl), init);
}

/** The body as bytes. */
export async function body(res: Response): Promise<Buffer> {
  return Buffer.from(await res.arrayBuffer());
}

/** Fetches a path+query relative to the server (for hand-made URLs). */
export function fetchPath(app: TestApp, pathAndQuery: string, init: RequestInit = {}): Promise<Response> {
  return fetch(app.running.url + pathAndQuery, init);
}

/** The path and query of a public link, without the base, e.g. `/api/sessions/…/download?token=…`. */
export function pathOf(app: TestApp, downloadUrl: string): string {
  return local(app, downloadUrl).slice(app.running.url.length);
}

/** Asserts a JSON error answer, byte for byte. */
export async function expectError(res: Response, status: number, text: string): Promise<void> {
  const got = await res.text();
  expect({ status: res.status, body: got }).toEqual({ status, body: text });
  expect(res.headers.get('content-type')).toBe('application/json; charset=utf-8');
}

/** `YYYYMMDD-HHMMSS` in UTC, as in the file name. */
export function stamp(ms: number): string {
  return new Date(ms).toISOString().replace(/\.\d{3}Z$/, '').replaceAll('-', '').replaceAll(':', '').replace('T', '-');
}
