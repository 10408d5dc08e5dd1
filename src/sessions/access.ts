import type { Viewer } from '../auth/keys.ts';
import { prisma } from '../db/client.ts';
import { badInput, forbidden, unauthenticated } from '../errors.ts';
import type { Prisma } from '../generated/prisma/client.ts';
import type { SessionStatus, SessionVerb } from '../generated/prisma/enums.ts';
import { textWhere } from '../search/hits.ts';
import { needleOf } from '../search/needle.ts';
import { isUuid } from '../uuid.ts';

/*
 * The one place that decides who may see what (spec §7, §4.2). GraphQL resolvers, the download
 * route and the command line all ask here.
 */

export function requireViewer(viewer: Viewer | null): Viewer {
  if (!viewer) throw unauthenticated();
  return viewer;
}

/** The sessions whose metadata and script the viewer may read; null when the role reads nothing. */
export function visibleSessionsWhere(viewer: Viewer): Prisma.SessionWhereInput | null {
  switch (viewer.role) {
    case 'ADMIN':
    case 'AUDITOR':
      return { orgId: viewer.orgId };
    case 'STANDARD':
      return {
        orgId: viewer.orgId,
        OR: [
          { userId: viewer.subject },
          ...(viewer.groups.length > 0 ? [{ review: { groups: { some: { group: { in: viewer.groups } } } } }] : []),
        ],
      };
    case 'RECORDER':
      return null;
  }
}

/** The sessions whose event stream the viewer may read, among those it sees (mayReadStream as a filter). */
function streamReadersWhere(viewer: Viewer): Prisma.SessionWhereInput {
  return viewer.role === 'ADMIN' || viewer.role === 'AUDITOR' ? {} : { userId: viewer.subject };
}

/** Whether the viewer may read a visible session's event stream: its owner, admins and auditors. */
export function mayReadStream(viewer: Viewer, session: { orgId: string; userId: string | null }): boolean {
  if (session.orgId !== viewer.orgId) return false;
  if (viewer.role === 'ADMIN' || viewer.role === 'AUDITOR') return true;
  return viewer.role === 'STANDARD' && session.userId !== null && session.userId === viewer.subject;
}

export function assertMayReadStream(viewer: Viewer, session: { orgId: string; userId: string | null }): void {
  if (!mayReadStream(viewer, session)) {
    throw forbidden("only the session's owner, admins and auditors may read its event stream");
  }
}

/** Recorders and admins write sessions (spec §7). */
export function assertMayIngest(viewer: Viewer): void {
  if (viewer.role !== 'ADMIN' && viewer.role !== 'RECORDER') {
    throw forbidden('only RECORDER and ADMIN keys may ingest sessions');
  }
}

/** The filter for one session the viewer may see; null when none can match (missing and invisible look alike). */
export function visibleSessionWhere(viewer: Viewer, id: string): Prisma.SessionWhereInput | null {
  const visible = visibleSessionsWhere(viewer);
  return visible && isUuid(id) ? { AND: [visible, { id }] } : null;
}

/** Prisma's selection of a session's columns and relations, as a caller (e.g. a GraphQL query) needs them. */
export type SessionSelection = Pick<Prisma.SessionFindFirstArgs, 'select' | 'include'>;

/** A session the viewer may see, or null. */
export async function findVisibleSession(viewer: Viewer, id: string, selection: SessionSelection = {}) {
  const where = visibleSessionWhere(viewer, id);
  return where ? prisma().session.findFirst({ ...selection, where }) : null;
}

/** Which sessions a listing keeps; every attribute given must match. */
export interface SessionFilter {
  status?: SessionStatus | null;
  verb?: SessionVerb | null;
  userId?: string | null;
  roleName?: string | null;
  type?: string | null;
  connectionSubtype?: string | null;
  correlationId?: string | null;
  sessionBatchId?: string | null;
  /** startDate ≥ this instant. */
  startedAfter?: Date | null;
  /** startDate < this instant. */
  startedBefore?: Date | null;
  /** Searchable text holds this (spec §12); only sessions whose stream the viewer reads. */
  text?: string | null;
}

/** A page of a listing: Prisma's cursor, take and skip, and the selection. */
export type SessionPage = SessionSelection & Pick<Prisma.SessionFindManyArgs, 'cursor' | 'take' | 'skip'>;

/** The visible sessions that match the filter, newest first (ties broken by id), one page of them. */
export async function findVisibleSessions(viewer: Viewer, filter: SessionFilter | null | undefined, page: SessionPage) {
  const visible = visibleSessionsWhere(viewer);
  if (!visible) return [];
  // Prisma finds the cursor's row without the filter: a cursor must name a visible session, or
  // paging from it would reveal when an invisible one started.
  if (page.cursor) {
    const cursorId = String(page.cursor.id);
    if (!isUuid(cursorId)) throw badInput('invalid cursor');
    const seen = await prisma().session.count({ where: { AND: [visible, { id: cursorId }] } });
    if (seen === 0) return [];
  }
  // Search reads the stream: a session seen only as a reviewer is left out (validated before any read).
  const text = filter?.text != null ? [streamReadersWhere(viewer), await textWhere(needleOf(filter.text))] : [];
  return prisma().session.findMany({
    ...page,
    where: { AND: [visible, filterWhere(filter ?? {}), ...text] },
    orderBy: [{ startDate: 'desc' }, { id: 'desc' }],
  });
}

function filterWhere(f: SessionFilter): Prisma.SessionWhereInput {
  return {
    ...(f.status && { status: f.status }),
    ...(f.verb && { verb: f.verb }),
    ...(f.userId != null && { userId: f.userId }),
    ...(f.roleName != null && { roleName: f.roleName }),
    ...(f.type != null && { type: f.type }),
    ...(f.connectionSubtype != null && { connectionSubtype: f.connectionSubtype }),
    ...(f.correlationId != null && { correlationId: f.correlationId }),
    ...(f.sessionBatchId != null && { sessionBatchId: f.sessionBatchId }),
    ...((f.startedAfter || f.startedBefore) && {
      startDate: {
        ...(f.startedAfter && { gte: f.startedAfter }),
        ...(f.startedBefore && { lt: f.startedBefore }),
      },
    }),
  };
}
