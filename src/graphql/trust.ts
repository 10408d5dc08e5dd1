import { assertMayReadAudit, AUDIT_ORDER, auditWhere } from '../audit/audit.ts';
import { prisma } from '../db/client.ts';
import { AuditAction } from '../generated/prisma/enums.ts';
import { requireViewer } from '../sessions/access.ts';
import { deleteSession } from '../sessions/deletion.ts';
import { builder } from './builder.ts';
import { checkPageSize, DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE } from './pagination.ts';

/* Trust (spec §15): the audit trail (ADMIN and AUDITOR keys read their org's events, newest first) and deletion. */

const AuditActionEnum = builder.enumType(AuditAction, {
  name: 'AuditAction',
  description:
    'KEY_CREATED, KEY_REVOKED, SESSION_OPENED, SESSION_CLOSED, STREAM_READ (a request that rendered, searched or subscribed to a ' +
    "session's stream), LINK_ISSUED, LINK_USED (a file or page served, with bytes sent), LINK_REFUSED (with the status), " +
    'SESSION_DELETED, SESSIONS_PURGED.',
});

builder.prismaObject('AuditEvent', {
  description: 'One thing someone did, recorded when it was done. Never changed or removed; deleting a session keeps its events.',
  fields: (t) => ({
    id: t.id({ resolve: (e) => String(e.id) }), // a bigint
    time: t.expose('time', { type: 'DateTime' }),
    action: t.expose('action', { type: AuditActionEnum }),
    sessionId: t.exposeID('sessionId', { nullable: true }),
    actorKeyId: t.exposeID('actorKeyId', { nullable: true, description: 'The API key that acted; null for the command line.' }),
    actorSubject: t.exposeString('actorSubject', { nullable: true, description: "The key's subject; `reel-cli` for the command line." }),
    actorRole: t.exposeString('actorRole', { nullable: true }),
    clientIp: t.exposeString('clientIp', {
      nullable: true,
      description: 'The peer address, or the client named by X-Forwarded-For when reel trusts the proxies in front of it (REEL_TRUSTED_PROXY_HOPS).',
    }),
    details: t.expose('details', { type: 'JSON', nullable: true }),
  }),
});

const AuditFilter = builder.inputType('AuditFilter', {
  fields: (t) => ({
    action: t.field({ type: AuditActionEnum, required: false }),
    sessionId: t.id({ required: false }),
    actorSubject: t.string({ required: false }),
    after: t.field({ type: 'DateTime', required: false, description: 'time > this instant.' }),
    before: t.field({ type: 'DateTime', required: false, description: 'time < this instant.' }),
  }),
});

builder.queryField('auditEvents', (t) =>
  t.prismaConnection({
    type: 'AuditEvent',
    cursor: 'id',
    description:
      `The audit trail of the caller's organisation, newest first (by time, then id), ${DEFAULT_PAGE_SIZE} per page unless \`first\` asks for ` +
      `another size (at most ${MAX_PAGE_SIZE}). ADMIN and AUDITOR keys only.`,
    args: { filter: t.arg({ type: AuditFilter, required: false }) },
    resolve: (query, _root, args, ctx) => {
      checkPageSize('auditEvents', args);
      const viewer = requireViewer(ctx.viewer);
      assertMayReadAudit(viewer);
      const where = auditWhere(viewer.orgId, { ...args.filter, sessionId: args.filter?.sessionId == null ? null : String(args.filter.sessionId) });
      return prisma().auditEvent.findMany({ ...query, where, orderBy: AUDIT_ORDER });
    },
  }),
);

builder.mutationField('deleteSession', (t) =>
  t.id({
    description:
      'Deletes a session: its row, events, searchable text and review (ADMIN keys only). Its links then answer 404, its live ' +
      'subscriptions end, a download still reading it ends with an error; its audit events stay. Returns the id.',
    args: { sessionId: t.arg.id({ required: true }) },
    resolve: (_root, args, ctx) => deleteSession(requireViewer(ctx.viewer), String(args.sessionId)),
  }),
);
