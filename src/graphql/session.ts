import { findVisibleSession, findVisibleSessions, requireViewer } from '../sessions/access.ts';
import { readStored, StoredAIAnalysis, StoredGuardrails } from '../sessions/stored-shapes.ts';
import { builder } from './builder.ts';
import { AIAnalysisRef, GuardrailsInfoRef, SessionMetricsRef, SessionScriptRef, sessionMetrics } from './session-attributes.ts';
import { renderSessionStream, sessionEventSize } from '../sessions/inline-stream.ts';
import { checkWindow } from '../sessions/time-window.ts';
import { queryRows } from '../sessions/chunk-storage.ts';
import { CHAIN_ALGORITHM } from '../integrity/chain.ts';
import { sessionChain } from '../integrity/session-chain.ts';
import { checkPageSize, DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE } from './pagination.ts';
import { EventTypeEnum, IdentityTypeEnum, SessionStatusEnum, SessionVerbEnum } from './enums.ts';

export const EventStreamFormatEnum = builder.enumType('EventStreamFormat', {
  description:
    'RAW: [time, type, base64] tuples; UTF8: the payloads as one text; BASE64: the payloads as one base64 string; ' +
    'RAW_QUERIES: the SQL a Postgres client sent.',
  values: ['RAW', 'UTF8', 'BASE64', 'RAW_QUERIES'] as const,
});

/** `from` and `to` (spec §14): a time window of the stream. */
export const windowArgs = builder.args((t) => ({
  from: t.float({
    required: false,
    description: 'Only events at or after this time (seconds since startDate). A window is read from its first chunk, not from the start.',
  }),
  to: t.float({
    required: false,
    description: 'Only events before this time (seconds since startDate). RAW_QUERIES keeps the queries sent within the window.',
  }),
}));

const STREAM_SELECT = {
  id: true,
  orgId: true,
  userId: true,
  type: true,
  connectionSubtype: true,
  verb: true,
  inputBytes: true,
  outputBytes: true,
  errorBytes: true,
} as const;

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
      resolve: (s) => sessionMetrics(s.metrics, Number(s.inputBytes + s.outputBytes + s.errorBytes)),
    }),
    review: t.relation('review', { nullable: true }),
    aiAnalysis: t.field({
      type: AIAnalysisRef,
      nullable: true,
      select: { aiAnalysis: true },
      resolve: (s) => readStored(StoredAIAnalysis, s.aiAnalysis),
    }),
    guardrailsInfo: t.field({
      type: [GuardrailsInfoRef],
      description: 'Guardrail rules that matched; non-empty means a rule blocked the session.',
      select: { guardrailsInfo: true },
      resolve: (s) => readStored(StoredGuardrails, s.guardrailsInfo) ?? [],
    }),
    script: t.field({
      type: SessionScriptRef,
      nullable: true,
      description: 'The input of an EXEC session; null for CONNECT.',
      select: { script: true, verb: true },
      resolve: (s) => (s.script === null && s.verb === 'CONNECT' ? null : { data: s.script ?? '' }),
    }),
    eventSize: t.field({
      type: 'SafeInt',
      description:
        'Size of the stream as `eventStream` would render it with the same arguments: payload bytes for RAW, ' +
        'code points for UTF8, base64 length for BASE64, query bytes for RAW_QUERIES. Without arguments: payload ' +
        'bytes of the whole stream, readable by anyone who sees the session; with any, only by those who may read ' +
        'the stream.',
      args: {
        format: t.arg({ type: EventStreamFormatEnum, defaultValue: 'RAW' }),
        events: t.arg({ type: [EventTypeEnum], required: false }),
        ...windowArgs,
      },
      select: STREAM_SELECT,
      resolve: async (s, args, ctx, info) => {
        // Asked without arguments it is a plain attribute; with any, it describes the stream and is gated like it.
        const plain = (info.fieldNodes[0]?.arguments?.length ?? 0) === 0;
        const size = await sessionEventSize(
          requireViewer(ctx.viewer),
          s,
          plain ? null : args.format,
          plain ? null : args.events,
          checkWindow(args.from, args.to),
        );
        if (!plain) ctx.auditRead(s.id, 'eventSize');
        return size;
      },
    }),
    eventStream: t.field({
      type: 'JSON',
      nullable: true,
      description:
        "The rendered stream, for the session's owner, admins and auditors. RAW: [time, type, base64] per event; " +
        'UTF8: [text]; BASE64: [base64]; RAW_QUERIES (Postgres sessions only): [time, "i", base64 of the SQL] per query. A rendering ' +
        'larger than the server\'s inline cap (REEL_MAX_INLINE_STREAM_BYTES, 8 MiB by default) fails with ' +
        'EVENT_STREAM_TOO_LARGE: fetch it with downloadLink instead.',
      args: {
        format: t.arg({ type: EventStreamFormatEnum, defaultValue: 'RAW' }),
        events: t.arg({
          type: [EventTypeEnum],
          required: false,
          description: 'Default: all for RAW; OUTPUT and ERROR for UTF8 and BASE64. RAW_QUERIES always reads INPUT.',
        }),
        ...windowArgs,
      },
      select: STREAM_SELECT,
      resolve: async (s, args, ctx) => {
        const stream = await renderSessionStream(
          requireViewer(ctx.viewer),
          s,
          args.format ?? 'RAW',
          args.events,
          ctx.config.maxInlineStreamBytes,
          checkWindow(args.from, args.to),
        );
        ctx.auditRead(s.id, 'eventStream');
        return stream;
      },
    }),
    integrity: t.field({
      type: SessionIntegrityRef,
      description:
        "The hash chain of the session's stored appends (docs/integrity.md), and its Ed25519 signature once the session is " +
        'closed: what `reel verify` checks an export against.',
      select: { id: true, nextSequence: true, chainDigest: true, chainCount: true, signature: true, signingKeyId: true },
      resolve: async (s) => {
        const chain = await sessionChain(queryRows, s);
        return {
          algorithm: CHAIN_ALGORITHM,
          digest: chain.digest.toString('hex'),
          appendCount: chain.appendCount,
          signature: s.signature ? Buffer.from(s.signature).toString('base64') : null,
          keyId: s.signature ? s.signingKeyId : null,
        };
      },
    }),
    scriptSize: t.field({
      type: 'SafeInt',
      description: 'Byte length (UTF-8) of the script; 0 when none.',
      select: { scriptSize: true },
      resolve: (s) => s.scriptSize,
    }),
  }),
});

const SessionIntegrityRef = builder
  .objectRef<{ algorithm: string; digest: string; appendCount: number; signature: string | null; keyId: string | null }>('SessionIntegrity')
  .implement({
    description: 'A session\'s hash chain and signature (spec §15; docs/integrity.md says how to check them).',
    fields: (t) => ({
      algorithm: t.exposeString('algorithm', { description: '`sha256-chain`.' }),
      digest: t.exposeString('digest', { description: 'The chain after the last append, hex.' }),
      appendCount: t.exposeInt('appendCount', { description: 'Appends the chain covers.' }),
      signature: t.exposeString('signature', { nullable: true, description: 'Ed25519 signature of the digest\'s 32 bytes, base64; null while open.' }),
      keyId: t.exposeString('keyId', { nullable: true, description: 'The signing key: its public key is at /.well-known/reel-signing-key.pem.' }),
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
    text: t.string({
      required: false,
      description:
        'Sessions whose searchable text (script, typed input, SQL, terminal output) holds this, case-insensitively and ' +
        "literally; see Session.searchHits. Only sessions whose stream the caller may read.",
    }),
  }),
});

builder.queryField('session', (t) =>
  t.prismaField({
    type: 'Session',
    nullable: true,
    description: 'A session by id; null when it does not exist or is not visible to the caller.',
    args: { id: t.arg.id({ required: true }) },
    resolve: (query, _root, args, ctx) => findVisibleSession(requireViewer(ctx.viewer), String(args.id), query),
  }),
);

const SessionConnection = builder.connectionObject(
  {
    type: SessionRef,
    name: 'SessionConnection',
    description: 'A page of sessions (Relay cursor connection).',
  },
  { name: 'SessionEdge' },
);

builder.queryField('sessions', (t) =>
  t.prismaConnection(
    {
      type: 'Session',
      cursor: 'id',
      description:
        `The caller's visible sessions, newest first, ${DEFAULT_PAGE_SIZE} per page unless \`first\` or \`last\` ` +
        `asks for another size (at most ${MAX_PAGE_SIZE}).`,
      args: { filter: t.arg({ type: SessionFilter, required: false }) },
      resolve: async (query, _root, args, ctx) => {
        checkPageSize('sessions', args);
        const found = await findVisibleSessions(requireViewer(ctx.viewer), args.filter, query);
        // A listing by text searched each session it returns (Pothos asks for one more row than the
        // page, to tell whether there is a next: that one is not returned).
        if (args.filter?.text != null) {
          const page = args.last != null ? found.slice(-args.last) : found.slice(0, args.first ?? DEFAULT_PAGE_SIZE);
          for (const session of page) ctx.auditRead(session.id, 'search');
        }
        return found;
      },
    },
    SessionConnection,
  ),
);
