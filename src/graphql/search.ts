import { assertMayReadStream, requireViewer } from '../sessions/access.ts';
import { badInput } from '../errors.ts';
import { SOURCES } from '../search/blocks.ts';
import { findHits, type SearchHit } from '../search/hits.ts';
import { needleOf } from '../search/needle.ts';
import { builder } from './builder.ts';
import { EventTypeEnum } from './enums.ts';
import { checkPageSize, DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE } from './pagination.ts';

const SearchSourceEnum = builder.enumType('SearchSource', {
  description:
    "Where a hit's text comes from: SCRIPT (the session's script), INPUT (what was typed), QUERY (the SQL of a " +
    'Postgres session), OUTPUT (what the terminal showed, errors included).',
  values: SOURCES,
});

const SearchHitRef = builder.objectRef<SearchHit>('SearchHit').implement({
  description: 'A unit of searchable text (a line, a query) that holds the needle.',
  fields: (t) => ({
    time: t.exposeFloat('time', {
      description: 'The recorded time of the event that holds the first character of the first match (0 for SCRIPT).',
    }),
    type: t.expose('type', { type: EventTypeEnum, description: "That event's type." }),
    source: t.expose('source', { type: SearchSourceEnum }),
    line: t.exposeString('line', {
      description: 'The unit as cleaned; when longer than 500 characters, the 500 of them around its first match.',
    }),
  }),
});

const SearchHitConnection = builder.connectionObject(
  { type: SearchHitRef, name: 'SearchHitConnection', description: 'A page of hits (Relay cursor connection).' },
  { name: 'SearchHitEdge' },
);

builder.prismaObjectField('Session', 'searchHits', (t) =>
  t.field({
    type: SearchHitConnection,
    description:
      "Where `text` occurs in the session's searchable text, in order of time, one hit per line or query, for the " +
      "session's owner, admins and auditors. Case-insensitive and literal (no wildcards). Appends become searchable " +
      `within seconds. ${DEFAULT_PAGE_SIZE} hits per page unless \`first\` says otherwise (at most ${MAX_PAGE_SIZE}).`,
    args: {
      text: t.arg.string({ required: true }),
      first: t.arg.int({ defaultValue: DEFAULT_PAGE_SIZE }),
      after: t.arg.string({ required: false }),
    },
    select: { id: true, orgId: true, userId: true },
    resolve: async (session, args, ctx) => {
      assertMayReadStream(requireViewer(ctx.viewer), session);
      const needle = needleOf(args.text);
      const first = args.first ?? DEFAULT_PAGE_SIZE;
      checkPageSize('searchHits', { first });
      if (first < 0) throw badInput('first must not be negative');
      const page = await findHits(session.id, needle, first, args.after);
      ctx.auditRead(session.id, 'searchHits');
      const edges = page.hits.map((hit) => ({ cursor: hit.cursor, node: hit }));
      return {
        edges,
        pageInfo: {
          hasNextPage: page.hasNextPage,
          hasPreviousPage: Boolean(args.after),
          startCursor: edges[0]?.cursor ?? null,
          endCursor: edges.at(-1)?.cursor ?? null,
        },
      };
    },
  }),
);
