import { issueDownloadLink } from '../downloads/service.ts';
import { badInput } from '../errors.ts';
import { requireViewer } from '../sessions/access.ts';
import { DEFAULT_EVENT_TYPES } from '../sessions/event.ts';
import { checkWindow } from '../sessions/time-window.ts';
import { builder } from './builder.ts';
import { windowArgs } from './session.ts';
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
      '…csv → CSV, …json → JSON, …cast → asciicast v2, anything else → raw bytes. `from` and `to` bind a time window ' +
      'into the link (EVENT_STREAM only).',
    args: {
      sessionId: t.arg.id({ required: true }),
      extension: t.arg.string({ required: true, description: '1–16 ASCII letters or digits.' }),
      newline: t.arg.boolean({ defaultValue: false }),
      eventTime: t.arg.boolean({ defaultValue: false }),
      events: t.arg({ type: [EventTypeEnum], defaultValue: [...DEFAULT_EVENT_TYPES] }),
      target: t.arg({ type: DownloadTargetEnum, defaultValue: 'EVENT_STREAM' }),
      ...windowArgs,
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
          window: checkWindow(args.from, args.to),
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

builder.mutationField('viewLink', (t) =>
  t.field({
    type: DownloadLinkRef,
    description:
      "Issues a link to the session's viewer page (its owner, admins and auditors): its attributes and its recording, " +
      'played in the browser (terminal sessions) or as the list of queries beside their output (Postgres sessions). ' +
      'The page needs no API key and expires with the link. `at` opens the recording at that time (seconds since ' +
      'startDate, e.g. a SearchHit.time), as the URL fragment `#t=`.',
    args: {
      sessionId: t.arg.id({ required: true }),
      at: t.arg.float({ required: false }),
    },
    resolve: async (_root, args, ctx) => {
      if (args.at != null && (!Number.isFinite(args.at) || args.at < 0)) throw badInput('at must be a finite number of seconds ≥ 0', { field: 'at' });
      const link = await issueDownloadLink(
        requireViewer(ctx.viewer),
        { sessionId: String(args.sessionId), extension: 'html', newline: false, eventTime: false, events: [], target: 'VIEW' },
        {
          publicUrl: ctx.config.publicUrl,
          ttlSeconds: ctx.config.downloadTtlSeconds,
          secret: ctx.downloadSecrets[0]!,
          now: ctx.now(),
        },
      );
      return args.at != null ? { ...link, downloadUrl: `${link.downloadUrl}#t=${args.at}` } : link;
    },
  }),
);
