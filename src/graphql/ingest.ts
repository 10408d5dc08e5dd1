import { prisma } from '../db/client.ts';
import { requireViewer } from '../sessions/access.ts';
import { appendSessionEvents, closeSession, openSession } from '../sessions/ingest.ts';
import { builder } from './builder.ts';
import { EventTypeEnum, IdentityTypeEnum, ReviewStatusEnum, ReviewTypeEnum, SessionStatusEnum, SessionVerbEnum } from './enums.ts';

const ReviewerInput = builder.inputType('ReviewerInput', {
  fields: (t) => ({
    id: t.string({ required: false }),
    name: t.string({ required: false }),
    email: t.string({ required: false }),
    slackId: t.string({ required: false }),
  }),
});

const ReviewGroupInput = builder.inputType('ReviewGroupInput', {
  fields: (t) => ({
    group: t.string({ required: true }),
    status: t.field({ type: ReviewStatusEnum, required: true }),
    reviewedBy: t.field({ type: ReviewerInput, required: false }),
    reviewDate: t.field({ type: 'DateTime', required: false }),
    forcedReview: t.boolean({ required: false }),
  }),
});

const ReviewInput = builder.inputType('ReviewInput', {
  fields: (t) => ({
    id: t.id({ required: false }),
    type: t.field({ type: ReviewTypeEnum, required: true }),
    status: t.field({ type: ReviewStatusEnum, required: true }),
    accessDurationSec: t.int({ required: false }),
    createdAt: t.field({ type: 'DateTime', required: false }),
    revokeAt: t.field({ type: 'DateTime', required: false }),
    timeWindow: t.field({ type: 'JSON', required: false }),
    accessRequestRuleName: t.string({ required: false }),
    minApprovals: t.int({ required: false }),
    forceApprovalGroups: t.stringList({ required: false }),
    rejectionReason: t.string({ required: false }),
    groups: t.field({ type: [ReviewGroupInput], required: false }),
  }),
});

const AIAnalysisStepInput = builder.inputType('AIAnalysisStepInput', {
  fields: (t) => ({
    type: t.string({ required: true }),
    thinking: t.string({ required: false }),
    toolName: t.string({ required: false }),
    toolInput: t.field({ type: 'JSON', required: false }),
    toolOutput: t.field({ type: 'JSON', required: false }),
    isError: t.boolean({ required: false }),
    timestamp: t.string({ required: false }),
  }),
});

const AIAnalysisInput = builder.inputType('AIAnalysisInput', {
  fields: (t) => ({
    riskLevel: t.string({ required: true }),
    title: t.string({ required: true }),
    explanation: t.string({ required: true }),
    action: t.string({ required: true }),
    summary: t.string({ required: false }),
    model: t.string({ required: false }),
    steps: t.field({ type: [AIAnalysisStepInput], required: false }),
  }),
});

const GuardrailRuleInput = builder.inputType('GuardrailRuleInput', {
  fields: (t) => ({
    type: t.string({ required: true }),
    words: t.stringList({ required: false }),
    patternRegex: t.string({ required: false }),
  }),
});

const GuardrailsInfoInput = builder.inputType('GuardrailsInfoInput', {
  fields: (t) => ({
    ruleName: t.string({ required: true }),
    rule: t.field({ type: GuardrailRuleInput, required: true }),
    direction: t.string({ required: true }),
    matchedWords: t.stringList({ required: false }),
    message: t.string({ required: false }),
  }),
});

const OpenSessionInput = builder.inputType('OpenSessionInput', {
  fields: (t) => ({
    id: t.id({ required: false, description: 'UUID; generated when omitted. Re-opening the same id with the same input returns the session.' }),
    status: t.field({ type: SessionStatusEnum, required: false, description: 'Defaults to OPEN.' }),
    verb: t.field({ type: SessionVerbEnum, required: true }),
    type: t.string({ required: true }),
    connectionSubtype: t.string({ required: false }),
    roleName: t.string({ required: true }),
    resourceName: t.string({ required: false }),
    connectionTags: t.field({ type: 'JSON', required: false }),
    userId: t.string({ required: false }),
    userEmail: t.string({ required: false }),
    userName: t.string({ required: false }),
    identityType: t.field({ type: IdentityTypeEnum, required: false, description: 'Defaults to USER.' }),
    machineIdentityId: t.id({ required: false }),
    startDate: t.field({ type: 'DateTime', required: false, description: 'Defaults to now.' }),
    endDate: t.field({ type: 'DateTime', required: false }),
    exitCode: t.int({ required: false }),
    correlationId: t.string({ required: false }),
    sessionBatchId: t.string({ required: false }),
    metadata: t.field({ type: 'JSON', required: false }),
    integrationsMetadata: t.field({ type: 'JSON', required: false }),
    review: t.field({ type: ReviewInput, required: false }),
    aiAnalysis: t.field({ type: AIAnalysisInput, required: false }),
    guardrailsInfo: t.field({ type: [GuardrailsInfoInput], required: false }),
    script: t.string({ required: false, description: 'The input of an EXEC session.' }),
  }),
});

const DataMaskingInput = builder.inputType('DataMaskingInput', {
  fields: (t) => ({
    errCount: t.field({ type: 'SafeInt', required: false }),
    infoTypes: t.field({ type: 'JSON', required: false }),
    totalRedactCount: t.field({ type: 'SafeInt', required: false }),
    transformedBytes: t.field({ type: 'SafeInt', required: false }),
  }),
});

const SessionMetricsInput = builder.inputType('SessionMetricsInput', {
  description: 'eventSize is computed by reel from the stored events.',
  fields: (t) => ({
    dataMasking: t.field({ type: DataMaskingInput, required: false }),
    truncated: t.boolean({ required: false }),
  }),
});

const CloseSessionInput = builder.inputType('CloseSessionInput', {
  fields: (t) => ({
    exitCode: t.int({ required: false }),
    endDate: t.field({ type: 'DateTime', required: false, description: 'Defaults to now.' }),
    metrics: t.field({ type: SessionMetricsInput, required: false }),
    aiAnalysis: t.field({ type: AIAnalysisInput, required: false }),
    guardrailsInfo: t.field({ type: [GuardrailsInfoInput], required: false, description: 'Appended to those already recorded.' }),
    status: t.field({ type: SessionStatusEnum, required: false, description: 'Defaults to DONE.' }),
  }),
});

const SessionEventInput = builder.inputType('SessionEventInput', {
  fields: (t) => ({
    time: t.float({ required: true, description: 'Seconds since the session startDate (≥ 0).' }),
    type: t.field({ type: EventTypeEnum, required: true }),
    data: t.string({ required: true, description: 'Payload bytes as strict standard base64 with padding.' }),
  }),
});

const AppendSessionEventsResult = builder
  .objectRef<{ sequence: number; eventCount: number; eventSize: number }>('AppendSessionEventsResult')
  .implement({
    description: 'Totals of the session so far, after this call.',
    fields: (t) => ({
      sequence: t.exposeInt('sequence'),
      eventCount: t.field({ type: 'SafeInt', resolve: (r) => r.eventCount }),
      eventSize: t.field({ type: 'SafeInt', resolve: (r) => r.eventSize }),
    }),
  });

builder.mutationField('openSession', (t) =>
  t.prismaField({
    type: 'Session',
    description: 'Creates a session (RECORDER or ADMIN).',
    args: { input: t.arg({ type: OpenSessionInput, required: true }) },
    resolve: async (query, _root, args, ctx) => {
      const session = await openSession(requireViewer(ctx.viewer), args.input);
      return prisma().session.findUniqueOrThrow({ ...query, where: { id: session.id } });
    },
  }),
);

builder.mutationField('appendSessionEvents', (t) =>
  t.field({
    type: AppendSessionEventsResult,
    description:
      'Appends one call of events. `sequence` numbers the calls of a session from 0; a retried call is acknowledged once.',
    args: {
      sessionId: t.arg.id({ required: true }),
      sequence: t.arg.int({ required: true }),
      events: t.arg({ type: [SessionEventInput], required: true }),
    },
    resolve: (_root, args, ctx) =>
      appendSessionEvents(
        requireViewer(ctx.viewer),
        String(args.sessionId),
        args.sequence,
        args.events,
        { maxAppendBytes: ctx.config.maxAppendBytes, maxAppendEvents: ctx.config.maxAppendEvents },
      ),
  }),
);

builder.mutationField('closeSession', (t) =>
  t.prismaField({
    type: 'Session',
    description: 'Closes a session; closing a closed session returns it unchanged.',
    args: {
      sessionId: t.arg.id({ required: true }),
      input: t.arg({ type: CloseSessionInput, required: false }),
    },
    resolve: async (query, _root, args, ctx) => {
      const session = await closeSession(requireViewer(ctx.viewer), String(args.sessionId), args.input);
      return prisma().session.findUniqueOrThrow({ ...query, where: { id: session.id } });
    },
  }),
);
