import { requireViewer } from '../sessions/access.ts';
import type { EventBatch, IndexedEvent } from '../live/batches.ts';
import { subscribeToSession, type LiveResult } from '../live/subscription.ts';
import { builder } from './builder.ts';
import { EventTypeEnum, SessionStatusEnum } from './enums.ts';

const SessionEventRef = builder.objectRef<IndexedEvent>('SessionEvent').implement({
  description: 'One recorded event of a live subscription.',
  fields: (t) => ({
    index: t.exposeInt('index', { description: "Position among all of the session's events, from 0, in recorded order." }),
    time: t.exposeFloat('time', { description: "Seconds since the session's startDate, as recorded." }),
    type: t.field({ type: EventTypeEnum, resolve: (e) => e.type }),
    data: t.string({
      description: 'Payload bytes, base64.',
      resolve: (e) => Buffer.from(e.data.buffer, e.data.byteOffset, e.data.byteLength).toString('base64'),
    }),
  }),
});

const SessionEventBatchRef = builder.objectRef<EventBatch>('SessionEventBatch').implement({
  description:
    'Events of a live subscription, at most 1 MiB of payload (one larger event travels alone). `next` resumes right ' +
    'after the batch; `status` is DONE on the last batch only.',
  fields: (t) => ({
    events: t.field({ type: [SessionEventRef], resolve: (b) => b.events }),
    next: t.exposeInt('next', {
      description: 'The fromEvent that resumes right after this batch: one past the last event it covers, selected or not.',
    }),
    status: t.field({ type: SessionStatusEnum, resolve: (b) => b.status }),
  }),
});

builder.subscriptionType({});

builder.subscriptionField('sessionEvents', (t) =>
  t.field({
    type: SessionEventBatchRef,
    description:
      "A session's events from `fromEvent` on: those stored first, then each append as it is acknowledged, on any " +
      'server sharing the database; completes after a last batch with status DONE once the session is closed. For ' +
      "the session's owner, admins and auditors. Over Server-Sent Events (Accept: text/event-stream) or WebSocket " +
      '(graphql-ws; the key as {"Authorization": "Bearer <key>"} in connection_init) at /graphql.',
    args: {
      sessionId: t.arg.id({ required: true }),
      fromEvent: t.arg.int({ defaultValue: 0, description: 'Index of the first event wanted; past the end, waits for it.' }),
      events: t.arg({ type: [EventTypeEnum], required: false, description: 'Event types to send (default: all).' }),
    },
    subscribe: async (_root, args, ctx) => {
      if (!ctx.live) throw new Error('live sessions are not running');
      const subscription = await subscribeToSession(ctx.live, requireViewer(ctx.viewer), {
        sessionId: String(args.sessionId),
        fromEvent: args.fromEvent ?? 0,
        types: args.events ? new Set(args.events) : undefined,
      });
      ctx.auditRead(String(args.sessionId), 'sessionEvents');
      return subscription;
    },
    // An error that ends a subscription (a revoked key) is its last result.
    resolve: (result: LiveResult) => {
      if ('error' in result) throw result.error;
      return result;
    },
  }),
);
