import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { prisma } from '../../src/db/client.ts';
import { backfillEventTimes } from '../../src/sessions/time-backfill.ts';
import type { TestApp } from '../support/app.ts';
import { ok } from '../support/graphql.ts';
import { ev, ingest } from '../support/ingest.ts';
import { startDownloadApp } from '../downloads/helpers.ts';

/*
 * Sessions stored before chunks recorded their event times (what the chunk_time_range migration
 * leaves: null until_time, not time_ordered): windows still read them correctly, and the backfill
 * gives them the times appends would have, after which a window skips what is before it.
 */

let app: TestApp;
let admin: string;

beforeAll(async () => {
  app = await startDownloadApp();
  admin = await app.key(await app.org('acme'), 'ADMIN', 'root');
});

afterAll(async () => {
  await app?.close();
});

const UTF8 = /* GraphQL */ `
  query ($id: ID!, $from: Float, $to: Float) { session(id: $id) { eventStream(format: UTF8, from: $from, to: $to) } }`;

const text = async (id: string, from?: number, to?: number) =>
  ok(await app.gql<{ session: { eventStream: string[] } }>(UTF8, { id, from, to }, admin)).session.eventStream[0];

/** What the migration leaves for a session stored before it. */
async function asBeforeTheMigration(id: string): Promise<void> {
  await prisma().$executeRawUnsafe('UPDATE session_event_chunks SET until_time = NULL WHERE session_id = $1::uuid', id);
  await prisma().$executeRawUnsafe('UPDATE sessions SET until_time = NULL, time_ordered = false WHERE id = $1::uuid', id);
}

const stored = async (id: string) => ({
  chunks: (
    await prisma().$queryRawUnsafe<{ until_time: number | null }[]>(
      'SELECT until_time FROM session_event_chunks WHERE session_id = $1::uuid ORDER BY sequence, part',
      id,
    )
  ).map((r) => r.until_time),
  session: await prisma().session.findUniqueOrThrow({ where: { id }, select: { untilTime: true, timeOrdered: true } }),
});

describe('event times of sessions stored before time windows', () => {
  it('are read whole until filled in, then filled in as appends would have (appends made since included)', async () => {
    const ordered = await ingest(app, admin, { open: true, connectionSubtype: null }, [[ev(1, 'o', 'a')], [], [ev(2, 'o', 'b'), ev(3, 'o', 'c')]]);
    const unordered = await ingest(app, admin, { connectionSubtype: null }, [[ev(5, 'o', 'x')], [ev(2, 'o', 'y')], [ev(4, 'o', 'z')]]);
    const want = { ordered: await stored(ordered), unordered: await stored(unordered) };
    expect(want.ordered).toEqual({ chunks: [1, 1, 3], session: { untilTime: 3, timeOrdered: true } });
    expect(want.unordered).toEqual({ chunks: [5, 5, 5], session: { untilTime: 5, timeOrdered: false } });
    await asBeforeTheMigration(ordered);
    await asBeforeTheMigration(unordered);
    expect(await text(ordered, 2)).toBe('bc');
    expect(await text(unordered, 3, 5)).toBe('z');

    // An append after the upgrade, before the backfill: its chunk's time knows nothing of the older ones.
    ok(await app.gql(`mutation ($id: ID!) { appendSessionEvents(sessionId: $id, sequence: 3, events: [{ time: 4, type: OUTPUT, data: "ZA==" }]) { eventCount } }`, { id: ordered }, admin));
    expect(await text(ordered, 2)).toBe('bcd');

    expect(await backfillEventTimes()).toBe(2);
    expect(await stored(ordered)).toEqual({ chunks: [1, 1, 3, 4], session: { untilTime: 4, timeOrdered: true } });
    expect(await stored(unordered)).toEqual(want.unordered);
    expect(await backfillEventTimes()).toBe(0);

    // Now a window skips the chunks before it: make them unreadable, and it is still served.
    await prisma().$executeRawUnsafe(`UPDATE session_event_chunks SET data = '\\xffffffff'::bytea WHERE session_id = $1::uuid AND sequence < 2`, ordered);
    expect(await text(ordered, 2.5)).toBe('cd');
    expect(await text(unordered, 3, 5)).toBe('z');
  });
});
