import { issueDownloadLink } from '../downloads/service.ts';
import { requireViewer } from '../sessions/access.ts';
import { DEFAULT_EVENT_TYPES } from '../sessions/event.ts';
import { builder } from './builder.ts';
import { EventTypeEnum } from './enums.ts';

const DownloadTargetEnum = builder.enumType('DownloadTarget', {
  description: "EVENT_STREAM: the rendered events; SCRIPT: the session's script as text.",
  values: ['EVENT_STREAM', 'SCRIPT'] as const,
});

const DownloadLinkRef = builder.objectRef<{ downloadUrl: string; expireAt: Date }>('DownloadLink').implement({
  description: 'A short-lived signed link; it can be fetched until it expires.',
  fields: (t) => ({
    downloadUrl: t.exposeString('downloadUrl'),
    expireAt: t.expose('expireAt', { type: 'DateTime' }),
  }),
});

builder.mutationField('downloadLink', (t) =>
  t.field({
    type: DownloadLinkRef,
    description:
      'Issues a download link for a session (its owner, admins and auditors). The extension picks the format: ' +
      '…csv → CSV, …json → JSON, anything else → raw bytes.',
    args: {
      sessionId: t.arg.id({ required: true }),
      extension: t.arg.string({ required: true, description: '1–16 ASCII letters or digits.' }),
      newline: t.arg.boolean({ defaultValue: false }),
      eventTime: t.arg.boolean({ defaultValue: false }),
      events: t.arg({ type: [EventTypeEnum], defaultValue: [...DEFAULT_EVENT_TYPES] }),
      target: t.arg({ type: DownloadTargetEnum, defaultValue: 'EVENT_STREAM' }),
    },
    resolve: (_root, args, ctx) =>
      issueDownloadLink(
        requireViewer(ctx.viewer),
        {
          sessionId: String(args.sessionId),
          extension: args.extension,
          newline: args.newline ?? false,
          eventTime: args.eventTime ?? false,
          events: args.events ?? DEFAULT_EVENT_TYPES,
          target: args.target ?? 'EVENT_STREAM',
        },
        {
          publicUrl: ctx.config.publicUrl,
          ttlSeconds: ctx.config.downloadTtlSeconds,
          secret: ctx.downloadSecrets[0]!,
          now: ctx.now(),
        },
      ),
  }),
);
