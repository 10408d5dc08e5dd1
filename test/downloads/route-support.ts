import { expect } from 'vitest';
import { createApiKey, revokeApiKey } from '../../src/auth/keys.ts';
import { startServer, type RunningServer } from '../../src/app.ts';
import { loadConfig, type Config } from '../../src/config.ts';
import { prisma } from '../../src/db/client.ts';
import type { Role } from '../../src/generated/prisma/enums.ts';
import { createLogger } from '../../src/logger.ts';
import { createOrg } from '../../src/orgs.ts';
import { ok, postGraphQL, type GraphQLResult } from '../support/graphql.ts';
import { createTestDatabase, type TestDatabase } from '../support/db.ts';

/*
 * Shared pieces of the download-route tests (spec §6): a real server whose clock the test moves
 * and which can be stopped and restarted on the same database (`startServer(config, logger,
 * { now, bootstrap: false })`), ingest over GraphQL, links issued by the mutation and fetched over
 * HTTP.
 */

export type Kind = 'i' | 'o' | 'e';

/** The public base URL links are built on: another host, with a path prefix (a reverse proxy strips it). */
export const PUBLIC_URL = 'https://reel.example.test/prefix';

export const UNAUTHORIZED = '{"message":"unauthorized","status":401}';
export const EXPIRED = '{"message":"session download link expired","status":410}';
export const NOT_FOUND = '{"message":"not found","status":404}';

export const KIND_TO_TYPE = { i: 'INPUT', o: 'OUTPUT', e: 'ERROR' } as const;
export type EventTypeName = (typeof KIND_TO_TYPE)[Kind];

/** A clock the server reads; tests move it instead of sleeping. */
export interface Clock {
  now: number;
}

export interface App {
  config: Config;
  running: RunningServer;
  database: TestDatabase;
  clock: Clock;
  gql<T = Record<string, unknown>>(
    query: string,
    variables?: Record<string, unknown>,
    key?: string,
    signal?: AbortSignal,
  ): Promise<GraphQLResult<T>>;
  /** Stops the server; the database stays (for restarts). */
  stop(): Promise<void>;
  /** Stops the server and drops the database. */
  close(): Promise<void>;
}

/**
 * A reel server on a loopback port with an injected clock. Pass `database` to reopen one a previous
 * server used (a restart); otherwise a fresh one is made.
 */
export async function startApp(
  env: Record<string, string> = {},
  options: { database?: TestDatabase; clock?: Clock } = {},
): Promise<App> {
  const database = options.database ?? (await createTestDatabase());
  const clock = options.clock ?? { now: Date.UTC(2024, 6, 25, 16, 0, 0, 0) };
  const config = loadConfig({
    PORT: '0',
    HOST: '127.0.0.1',
    REEL_DATA_DIR: database.dataDir,
    REEL_LOG_LEVEL: 'silent',
    REEL_PUBLIC_URL: PUBLIC_URL,
    ...(database.databaseUrl && { DATABASE_URL: database.databaseUrl }),
    ...env,
  });
  const running = await startServer(config, createLogger(config.logLevel), { now: () => clock.now, bootstrap: false });
  const gql: App['gql'] = (query, variables, key, signal) => postGraphQL(running.url, query, variables, key, signal);
  const stop = () => running.stop(1000);
  return {
    config,
    running,
    database,
    clock,
    gql,
    stop,
    async close() {
      await stop();
      await database.drop();
    },
  };
}

export async function newOrg(name: string): Promise<string> {
  return (await createOrg(name)).id;
}

export async function newKey(
  orgId: string,
  role: Role,
  subject: string,
  extra: { groups?: string[]; email?: string; name?: string } = {},
): Promise<string> {
  return (await createApiKey({ orgId, role, subject, ...extra })).key;
}

/** Revokes a key as `keys revoke` does. */
export async function revokeKey(key: string): Promise<void> {
  expect(await revokeApiKey(key)).not.toBeNull();
}

export async function deleteSession(id: string): Promise<void> {
  await prisma().session.delete({ where: { id } });
}

export { codeOf, ok } from '../support/graphql.ts';

const OPEN = /* GraphQL */ `
  mutation Open($input: OpenSessionInput!) { openSession(input: $input) { id } }`;
const APPEND = /* GraphQL */ `
  mutation Append($id: ID!, $seq: Int!, $events: [SessionEventInput!]!) {
    appendSessionEvents(sessionId: $id, sequence: $seq, events: $events) { sequence eventCount eventSize }
  }`;
const CLOSE = /* GraphQL */ `
  mutation Close($id: ID!) { closeSession(sessionId: $id) { id status } }`;

/** An event as ingested: time, kind and payload (bytes, or text taken as UTF-8). */
export type EventSpec = [number, Kind, Uint8Array | string];

export const bytesOf = (data: Uint8Array | string): Buffer =>
  typeof data === 'string' ? Buffer.from(data, 'utf8') : Buffer.from(data);

export interface SessionSpec {
  roleName?: string;
  startDate?: string;
  verb?: 'EXEC' | 'CONNECT';
  type?: string;
  connectionSubtype?: string | null;
  userId?: string;
  script?: string;
  reviewGroups?: string[];
  events: EventSpec[];
  /** Events per append call (default 1: every event its own call). */
  perCall?: number;
  /** Leave the session OPEN (no closeSession). */
  open?: boolean;
}

/** Opens, appends (over several calls) and closes a session through the GraphQL ingest API. */
export async function ingest(app: App, key: string, spec: SessionSpec): Promise<string> {
  const input: Record<string, unknown> = {
    roleName: spec.roleName ?? 'pg-prod',
    type: spec.type ?? 'database',
    verb: spec.verb ?? 'EXEC',
    startDate: spec.startDate ?? '2024-07-25T15:56:35.317Z',
    userId: spec.userId ?? 'alice',
  };
  if (spec.connectionSubtype !== null) input.connectionSubtype = spec.connectionSubtype ?? 'postgres';
  if (spec.script !== undefined) input.script = spec.script;
  if (spec.reviewGroups) {
    input.review = { type: 'ONETIME', status: 'APPROVED', groups: spec.reviewGroups.map((group) => ({ group, status: 'APPROVED' })) };
  }
  const { id } = ok(await app.gql<{ openSession: { id: string } }>(OPEN, { input }, key)).openSession;
  const perCall = Math.max(1, spec.perCall ?? 1);
  let seq = 0;
  for (let at = 0; at < spec.events.length; at += perCall) {
    const events = spec.events.slice(at, at + perCall).map(([time, kind, data]) => ({
      time,
      type: KIND_TO_TYPE[kind],
      data: bytesOf(data).toString('base64'),
    }));
    ok(await app.gql(APPEND, { id, seq, events }, key));
    seq++;
  }
  if (!spec.open) ok(await app.gql(CLOSE, { id }, key));
  return id;
}

const LINK = /* GraphQL */ `
  mutation Link($sessionId: ID!, $extension: String!, $newline: Boolean, $eventTime: Boolean, $events: [EventType!],
                $target: DownloadTarget) {
    downloadLink(sessionId: $sessionId, extension: $extension, newline: $newline, eventTime: $eventTime,
                 events: $events, target: $target) { downloadUrl expireAt }
  }`;

export interface LinkArgs {
  extension?: string;
  newline?: boolean;
  eventTime?: boolean;
  events?: EventTypeName[] | null;
  target?: 'EVENT_STREAM' | 'SCRIPT';
}

export interface Link {
  downloadUrl: string;
  expireAt: string;
}

/** Variables of the mutation; arguments left undefined are omitted (their defaults apply). */
export function linkVariables(sessionId: string, args: LinkArgs = {}): Record<string, unknown> {
  const vars: Record<string, unknown> = { sessionId, extension: args.extension ?? 'txt' };
  for (const name of ['newline', 'eventTime', 'events', 'target'] as const) {
    if (args[name] !== undefined) vars[name] = args[name];
  }
  return vars;
}

export function requestLink(app: App, key: string | undefined, sessionId: string, args: LinkArgs = {}) {
  return app.gql<{ downloadLink: Link }>(LINK, linkVariables(sessionId, args), key);
}

export async function link(app: App, key: string, sessionId: string, args: LinkArgs = {}): Promise<Link> {
  return ok(await requestLink(app, key, sessionId, args)).downloadLink;
}

/** The server's own address for a URL built on the public base (the proxy's job of stripping the prefix). */
export function local(app: App, downloadUrl: string): string {
  expect(downloadUrl.startsWith(`${app.config.publicUrl}/`), downloadUrl).toBe(true);
  return app.running.url + downloadUrl.slice(app.config.publicUrl.length);
}

/** Fetches a link (public URL) from the server. */
export function download(app: App, downloadUrl: string, init: RequestInit = {}): Promise<Response> {
  return fetch(local(app, downloadUrl), init);
}

/** The body as bytes. */
export async function body(res: Response): Promise<Buffer> {
  return Buffer.from(await res.arrayBuffer());
}

/** Fetches a path+query relative to the server (for hand-made URLs). */
export function fetchPath(app: App, pathAndQuery: string, init: RequestInit = {}): Promise<Response> {
  return fetch(app.running.url + pathAndQuery, init);
}

/** The path and query of a public link, without the base, e.g. `/api/sessions/…/download?token=…`. */
export function pathOf(app: App, downloadUrl: string): string {
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
