/* Shared operations and assertions for the API tests (spec §2, §7, §8, §9). */

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

export type EventTypeName = 'INPUT' | 'OUTPUT' | 'ERROR';
export interface EventIn {
  time: number;
  type: EventTypeName;
  data: string;
}

export const b64 = (s: string | Uint8Array) => Buffer.from(s).toString('base64');
export const ev = (time: number, type: EventTypeName, text: string | Uint8Array): EventIn => ({ time, type, data: b64(text) });
export const bytesOf = (events: readonly EventIn[]) => events.reduce((n, e) => n + Buffer.from(e.data, 'base64').length, 0);

export { codeOf, failed, ok } from '../support/graphql.ts';
