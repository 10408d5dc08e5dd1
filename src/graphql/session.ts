import { prisma } from '../db/client.ts';
import { requireViewer, visibleSessionWhere, visibleSessionsWhere } from '../sessions/access.ts';
import { isObject } from '../sessions/shapes.ts';
import type { Prisma } from '../generated/prisma/client.ts';
import { builder } from './builder.ts';
import { AIAnalysisRef, GuardrailsInfoRef, SessionMetricsRef, SessionScriptRef } from './details.ts';
import { IdentityTypeEnum, SessionStatusEnum, SessionVerbEnum } from './enums.ts';

export const SessionRef = builder.prismaObject('Session', {
  description: 'A recorded access session.',
  fields: (t) => ({
    id: t.exposeID('id'),
    orgId: t.exposeID('orgId'),
    status: t.expose('status', { type: SessionStatusEnum }),
    verb: t.expose('verb', { type: SessionVerbEnum }),
    type: t.exposeString('type', { description: 'Connection type, e.g. database, application, custom.' }),
    connectionSubtype: t.exposeString('connectionSubtype', { nullable: true }),
    roleName: t.exposeString('roleName', { description: 'Name of the connection (role) used.' }),
    connection: t.exposeString('roleName', { deprecationReason: 'Use roleName.' }),
    resourceName: t.exposeString('resourceName', { nullable: true }),
    connectionTags: t.expose('connectionTags', { type: 'JSON', nullable: true }),
    userId: t.exposeString('userId', { nullable: true }),
    userEmail: t.exposeString('userEmail', { nullable: true }),
    userName: t.exposeString('userName', { nullable: true }),
    identityType: t.expose('identityType', { type: IdentityTypeEnum }),
    machineIdentityId: t.exposeID('machineIdentityId', { nullable: true }),
    startDate: t.expose('startDate', { type: 'DateTime' }),
    endDate: t.expose('endDate', { type: 'DateTime', nullable: true }),
    exitCode: t.exposeInt('exitCode', { nullable: true }),
    correlationId: t.exposeString('correlationId', { nullable: true }),
    sessionBatchId: t.exposeString('sessionBatchId', { nullable: true }),
    metadata: t.expose('metadata', { type: 'JSON', nullable: true }),
    integrationsMetadata: t.expose('integrationsMetadata', {
      type: 'JSON',
      nullable: true,
      deprecationReason: 'Third-party integration attributes; kept for compatibility.',
    }),
    metrics: t.field({
      type: SessionMetricsRef,
      nullable: true,
      description: 'Null until known (set when the session is closed).',
      select: { metrics: true, inputBytes: true, outputBytes: true, errorBytes: true },
      resolve: (s) =>
        isObject(s.metrics)
          ? { stored: s.metrics, eventSize: Number(s.inputBytes + s.outputBytes + s.errorBytes) }
          : null,
    }),
    review: t.relation('review', { nullable: true }),
    aiAnalysis: t.field({
      type: AIAnalysisRef,
      nullable: true,
      select: { aiAnalysis: true },
      resolve: (s) => (isObject(s.aiAnalysis) ? s.aiAnalysis : null),
    }),
    guardrailsInfo: t.field({
      type: [GuardrailsInfoRef],
      description: 'Guardrail rules that matched; non-empty means a rule blocked the session.',
      select: { guardrailsInfo: true },
      resolve: (s) => (Array.isArray(s.guardrailsInfo) ? (s.guardrailsInfo as unknown[]).filter(isObject) : []),
    }),
    script: t.field({
      type: SessionScriptRef,
      nullable: true,
      description: 'The input of an EXEC session; null for CONNECT.',
      select: { script: true, verb: true },
      resolve: (s) => (s.script === null && s.verb === 'CONNECT' ? null : { data: s.script ?? '' }),
    }),
    scriptSize: t.field({
      type: 'SafeInt',
      description: 'Byte length (UTF-8) of the script; 0 when none.',
      select: { scriptSize: true },
      resolve: (s) => s.scriptSize,
    }),
  }),
});

const SessionFilter = builder.inputType('SessionFilter', {
  fields: (t) => ({
    status: t.field({ type: SessionStatusEnum, required: false }),
    verb: t.field({ type: SessionVerbEnum, required: false }),
    userId: t.string({ required: false }),
    roleName: t.string({ required: false }),
    type: t.string({ required: false }),
    connectionSubtype: t.string({ required: false }),
    correlationId: t.string({ required: false }),
    sessionBatchId: t.string({ required: false }),
    startedAfter: t.field({ type: 'DateTime', required: false, description: 'startDate ≥ this instant.' }),
    startedBefore: t.field({ type: 'DateTime', required: false, description: 'startDate < this instant.' }),
  }),
});

builder.queryField('session', (t) =>
  t.prismaField({
    type: 'Session',
    nullable: true,
    description: 'A session by id; null when it does not exist or is not visible to the caller.',
    args: { id: t.arg.id({ required: true }) },
    resolve: async (query, _root, args, ctx) => {
      const where = visibleSessionWhere(requireViewer(ctx.viewer), String(args.id));
      return where ? prisma().session.findFirst({ ...query, where }) : null;
    },
  }),
);

builder.queryField('sessions', (t) =>
  t.prismaConnection({
    type: 'Session',
    cursor: 'id',
    defaultSize: 20,
    maxSize: 100,
    description: "The caller's visible sessions, newest first.",
    args: { filter: t.arg({ type: SessionFilter, required: false }) },
    resolve: async (query, _root, args, ctx) => {
      const viewer = requireViewer(ctx.viewer);
      const visible = visibleSessionsWhere(viewer);
      if (!visible) return [];
      const f = args.filter;
      const where: Prisma.SessionWhereInput = {
        AND: [
          visible,
          {
            ...(f?.status && { status: f.status }),
            ...(f?.verb && { verb: f.verb }),
            ...(f?.userId != null && { userId: f.userId }),
            ...(f?.roleName != null && { roleName: f.roleName }),
            ...(f?.type != null && { type: f.type }),
            ...(f?.connectionSubtype != null && { connectionSubtype: f.connectionSubtype }),
            ...(f?.correlationId != null && { correlationId: f.correlationId }),
            ...(f?.sessionBatchId != null && { sessionBatchId: f.sessionBatchId }),
            ...((f?.startedAfter || f?.startedBefore) && {
              startDate: {
                ...(f.startedAfter && { gte: f.startedAfter }),
                ...(f.startedBefore && { lt: f.startedBefore }),
              },
            }),
          },
        ],
      };
      return prisma().session.findMany({ ...query, where, orderBy: [{ startDate: 'desc' }, { id: 'desc' }] });
    },
  }),
);
