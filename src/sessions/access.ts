import type { Viewer } from '../auth/keys.ts';
import { prisma } from '../db/client.ts';
import { forbidden, unauthenticated } from '../errors.ts';
import type { Prisma } from '../generated/prisma/client.ts';
import { isUuid } from '../util.ts';

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

/** A session the viewer may see, or null. */
export async function findVisibleSession(viewer: Viewer, id: string) {
  const where = visibleSessionWhere(viewer, id);
  return where ? prisma().session.findFirst({ where }) : null;
}
