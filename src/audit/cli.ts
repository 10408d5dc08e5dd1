import { prisma } from '../db/client.ts';
import { AUDIT_ORDER, auditWhere, type AuditFilter } from './audit.ts';

const PAGE = 1000;

/**
 * `reel audit`: an org's events under a filter, newest first, a line each — tab-separated (time,
 * action, session, actor subject, actor role, client IP, details as JSON; `-` for none) or, with
 * --json, one JSON object per line. Read in keyset pages, so any number of events is printed in
 * bounded memory.
 */
export async function printAudit(orgId: string, filter: AuditFilter, json: boolean, out: (text: string) => void): Promise<number> {
  const where = auditWhere(orgId, filter);
  let last: { id: bigint } | undefined;
  let count = 0;
  for (;;) {
    const rows = await prisma().auditEvent.findMany({
      where,
      orderBy: AUDIT_ORDER,
      take: PAGE,
      ...(last && { cursor: { id: last.id }, skip: 1 }),
    });
    for (const e of rows) {
      if (json) {
        out(`${JSON.stringify({ ...e, id: String(e.id) })}\n`);
      } else {
        const cells = [e.time.toISOString(), e.action, e.sessionId, e.actorSubject, e.actorRole, e.clientIp, e.details == null ? null : JSON.stringify(e.details)];
        out(`${cells.map((c) => c ?? '-').join('\t')}\n`);
      }
    }
    count += rows.length;
    if (rows.length < PAGE) return count;
    last = rows.at(-1)!;
  }
}
