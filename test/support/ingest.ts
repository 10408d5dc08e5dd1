import { expect } from 'vitest';
import type { TestApp } from './app.ts';
import { ok } from './graphql.ts';

/*
 * The ingest operations every GraphQL test shares (spec §2, §3, §8): the documents, the event
 * builders, and `ingest()`, which opens, appends and closes a session as a recorder would.
 */

export const OPEN = /* GraphQL */ `
  mutation Open($input: OpenSessionInput!) {
    openSession(input: $input) { id orgId status startDate }
  }`;

export const APPEND = /* GraphQL */ `
  mutation Append($id: ID!, $seq: Int!, $events: [SessionEventInput!]!) {
    appendSessionEvents(sessionId: $id, sequence: $seq, events: $events) { sequence eventCount eventSize }
  }`;

export const CLOSE = /* GraphQL */ `
  mutation Close($id: ID!, $input: CloseSessionInput) {
    closeSession(sessionId: $id, input: $input) {
      id status endDate exitCode
      metrics { eventSize truncated raw dataMasking { errCount infoTypes totalRedactCount transformedBytes } }
    }
  }`;

/** Every attribute of a session but its stream, as a fragment to spread into a `session` query. */
export const SESSION_ATTRIBUTES = /* GraphQL */ `
  fragment SessionAttributes on Session {
    id orgId status verb type connectionSubtype roleName connection resourceName connectionTags
    userId userEmail userName identityType machineIdentityId startDate endDate exitCode
    correlationId sessionBatchId metadata integrationsMetadata
    metrics { eventSize truncated raw dataMasking { errCount infoTypes totalRedactCount transformedBytes } }
    review {
      id type status accessDurationSec createdAt revokeAt timeWindow accessRequestRuleName minApprovals
      forceApprovalGroups rejectionReason
      groups { group status reviewedBy { id name email slackId } reviewDate forcedReview }
    }
    aiAnalysis {
      riskLevel title explanation action summary model
      steps { type thinking toolName toolInput toolOutput isError timestamp }
    }
    guardrailsInfo { ruleName rule { type words patternRegex } direction matchedWords message }
    script { data }
    scriptSize
  }`;

export const SESSION = /* GraphQL */ `
  query One($id: ID!) { session(id: $id) { id orgId userId status } }`;

export const SESSIONS = /* GraphQL */ `
  query Many($first: Int, $after: String, $filter: SessionFilter) {
    sessions(first: $first, after: $after, filter: $filter) {
      edges { cursor node { id startDate } }
      pageInfo { hasNextPage endCursor }
    }
  }`;

export interface OpenResult {
  openSession: { id: string; orgId: string; status: string; startDate: string };
}
export interface AppendResult {
  appendSessionEvents: { sequence: number; eventCount: number; eventSize: number };
}
export interface SessionsResult {
  sessions: {
    edges: { cursor: string; node: { id: string; startDate: string } }[];
    pageInfo: { hasNextPage: boolean; endCursor: string | null };
  };
}

/** An event kind as `eventStream` tuples spell it, and its `EventType` name. */
export type Kind = 'i' | 'o' | 'e';
export const KIND_TO_TYPE = { i: 'INPUT', o: 'OUTPUT', e: 'ERROR' } as const;
export type EventTypeName = (typeof KIND_TO_TYPE)[Kind];
export const TYPE_TO_KIND = { INPUT: 'i', OUTPUT: 'o', ERROR: 'e' } as const;

/** One event as `appendSessionEvents` takes it. */
export interface EventIn {
  time: number;
  type: EventTypeName;
  data: string;
}

/** An event as a test writes it: time, kind and payload (bytes, or text taken as UTF-8). */
export type EventSpec = readonly [number, Kind, Uint8Array | string];

export const b64 = (data: string | Uint8Array): string => Buffer.from(data).toString('base64');
export const bytesOf = (data: Uint8Array | string): Buffer => Buffer.from(data);
export const ev = (time: number, kind: Kind, data: string | Uint8Array): EventIn => ({ time, type: KIND_TO_TYPE[kind], data: b64(data) });
/** A `[time, kind, base64]` tuple of vectors.json as an event. */
export const fromVector = ([time, kind, data]: readonly [number, Kind, string]): EventIn => ({ time, type: KIND_TO_TYPE[kind], data });
/** The payloads of events, concatenated. */
export const concat = (events: readonly EventIn[]): Buffer => Buffer.concat(events.map((e) => Buffer.from(e.data, 'base64')));
/** The payload bytes of events: what reel counts as `eventSize`. */
export const sizeOf = (events: readonly EventIn[]): number => concat(events).length;
/** Events as `eventStream(format: RAW)` gives them back. */
export const rawTuples = (events: readonly EventIn[]) => events.map((e) => [e.time, TYPE_TO_KIND[e.type], e.data]);

/** Splits items into append calls of the given sizes (the last size repeats). */
export function chunked<T>(items: readonly T[], sizes: readonly number[] = [1, 2]): T[][] {
  const out: T[][] = [];
  let at = 0;
  for (let k = 0; at < items.length; k++) {
    const n = Math.max(1, sizes[Math.min(k, sizes.length - 1)]!);
    out.push(items.slice(at, at + n));
    at += n;
  }
  return out;
}

/** A session to ingest; attributes left out take the defaults below (null leaves one unset). */
export interface SessionSpec {
  verb?: 'EXEC' | 'CONNECT';
  type?: string;
  connectionSubtype?: string | null;
  roleName?: string;
  startDate?: string;
  userId?: string | null;
  script?: string;
  review?: unknown;
  metadata?: unknown;
  /** The events, appended `perCall` at a time (default 1) unless `ingest` is given the calls. */
  events?: readonly EventSpec[];
  perCall?: number;
  /** Leave the session OPEN (no closeSession). */
  open?: boolean;
}

/**
 * Opens a session, appends `calls` (one appendSessionEvents per element, sequences from 0; by default
 * `spec.events` split by `spec.perCall`), asserting the running totals, and closes it (DONE), all
 * over GraphQL with an ingest key. Returns the session id.
 */
export async function ingest(
  app: Pick<TestApp, 'gql'>,
  key: string,
  spec: SessionSpec,
  calls: readonly (readonly EventIn[])[] = chunked((spec.events ?? []).map(([t, k, d]) => ev(t, k, d)), [spec.perCall ?? 1]),
): Promise<string> {
  const input = {
    verb: spec.verb ?? 'EXEC',
    type: spec.type ?? 'database',
    roleName: spec.roleName ?? 'pg-prod',
    ...(spec.connectionSubtype !== null && { connectionSubtype: spec.connectionSubtype ?? 'postgres' }),
    startDate: spec.startDate ?? '2024-07-25T15:56:35.317Z',
    ...(spec.userId !== null && { userId: spec.userId ?? 'alice' }),
    ...(spec.script !== undefined && { script: spec.script }),
    ...(spec.review !== undefined && { review: spec.review }),
    ...(spec.metadata !== undefined && { metadata: spec.metadata }),
  };
  const { id } = ok(await app.gql<OpenResult>(OPEN, { input }, key)).openSession;
  let count = 0;
  let bytes = 0;
  for (const [seq, events] of calls.entries()) {
    const res = ok(await app.gql<AppendResult>(APPEND, { id, seq, events }, key));
    count += events.length;
    bytes += sizeOf(events);
    expect(res.appendSessionEvents).toEqual({ sequence: seq, eventCount: count, eventSize: bytes });
  }
  if (!spec.open) {
    const closed = ok(await app.gql<{ closeSession: { status: string } }>(CLOSE, { id }, key));
    expect(closed.closeSession.status).toBe('DONE');
  }
  return id;
}
