import fc from 'fast-check';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { searchPaths } from '../../src/search/hits.ts';
import { indexPendingSessions } from '../../src/search/indexer.ts';
import type { SessionEvent } from '../../src/sessions/event.ts';
import { startTestApp, type TestApp } from '../support/app.ts';
import { codeOf, ok } from '../support/graphql.ts';
import { APPEND, CLOSE, ev, KIND_TO_TYPE, OPEN, SESSIONS, type OpenResult, type SessionsResult } from '../support/ingest.ts';
import { bytes, parse, query } from '../pgwire/frames.ts';
import { checkNeedle, hitsInUnits, oracleUnits, type OracleUnit } from './oracle.ts';
import { needleFor, randomSession, type RandomSession } from './random-sessions.ts';
import { SEARCH_HITS, type HitsResult } from '../support/search.ts';

/*
 * Spec §12 through the public API, against the oracle: random sessions (escapes, broken UTF-8,
 * deletions, line breaks, Postgres frames, all cut into events at random byte positions) are
 * ingested in append calls split at random event boundaries, some left open; once indexed,
 * `sessions(filter: { text })` and every page of `searchHits` must say exactly what the oracle
 * says of the stored events. Then the open sessions get more events (which may finish a
 * character, an escape or a line begun before, or delete what was typed) and the answers must
 * again be those of a scan of the whole: indexing in steps is invisible.
 *
 * The seed is fixed so a run is repeatable; fast-check prints it, with the shrunk counterexample,
 * on failure.
 */

const SEED = 20240725;
const NUM_RUNS = 25;

let app: TestApp;
let runNumber = 0;

/** What the runs compared, so that a generator that stopped producing hits cannot pass quietly. */
const seen = { units: 0, needles: 0, refused: 0, hits: 0, sessionsWithHits: 0, sessionsWithout: 0, longLines: 0, sources: new Set<string>(), types: new Set<string>() };

beforeAll(async () => {
  // The server's own indexer runs too: passes of the two may race on a session, as replicas' do.
  app = await startTestApp();
});
afterAll(async () => {
  searchPaths.commonBlocks = 200;
  await app?.close();
});

/** When a session is closed: before the first indexing, after the second appends, or never. */
type CloseAt = 'first' | 'second' | 'never';

interface Plan {
  session: RandomSession;
  closeAt: CloseAt;
  /** Events appended before the first indexing (the rest after it), unless closed at first. */
  phaseCut: number;
  /** Where each phase's events are split into append calls. */
  callCuts: number[];
  /** Seconds after a base instant; distinct per session so that "newest first" is unambiguous. */
  startOffset: number;
}

const plan: fc.Arbitrary<Omit<Plan, 'startOffset'>> = fc.record({
  session: randomSession,
  closeAt: fc.constantFrom<CloseAt>('first', 'second', 'never', 'never'),
  phaseCut: fc.nat(),
  callCuts: fc.array(fc.nat(), { maxLength: 5 }),
});

const scenario = fc
  .array(plan, { minLength: 1, maxLength: 4 })
  .chain((plans) =>
    fc.record({
      plans: fc
        .array(fc.nat(10_000), { minLength: plans.length, maxLength: plans.length })
        .map((offsets) => plans.map((p, k): Plan => ({ ...p, startOffset: offsets[k]! * 10 + k }))),
      needles: fc.array(needleFor(plans.map((p) => p.session)), { minLength: 1, maxLength: 3 }),
      pageSizes: fc.array(fc.constantFrom(1, 2, 3, 7, 100), { minLength: 1, maxLength: 3 }),
      // Sometimes combined with another filter (§12: `text` combines with the others).
      verbFilter: fc.constantFrom<'EXEC' | 'CONNECT' | null>(null, null, null, 'EXEC', 'CONNECT'),
    }),
  );

/** `items` cut into runs at the given offsets (modulo its length), empty runs left out. */
function cutInto<T>(items: readonly T[], seeds: readonly number[]): T[][] {
  const points = [...new Set(seeds.map((s) => s % (items.length + 1)))].sort((a, b) => a - b);
  const out: T[][] = [];
  let from = 0;
  for (const p of [...points, items.length]) {
    if (p > from) out.push(items.slice(from, p));
    from = Math.max(from, p);
  }
  return out;
}

const toInput = (events: readonly SessionEvent[]) => events.map((e) => ev(e.time, e.type, e.data));

/** A session being recorded: what is stored so far, and the calls still to make. */
interface Recording {
  id: string;
  plan: Plan;
  stored: SessionEvent[];
  sequence: number;
}

/** The searchable text of what is stored now, by the oracle. */
const unitsOf = (r: Recording): OracleUnit[] =>
  oracleUnits({ verb: r.plan.session.verb, postgres: r.plan.session.postgres, script: r.plan.session.script, events: r.stored });

async function appendAll(r: Recording, events: readonly SessionEvent[], recorder: string) {
  for (const call of cutInto(events, r.plan.callCuts)) {
    ok(await app.gql(APPEND, { id: r.id, seq: r.sequence, events: toInput(call) }, recorder));
    r.sequence++;
    r.stored.push(...call);
  }
}

const close = async (r: Recording, recorder: string) => ok(await app.gql(CLOSE, { id: r.id }, recorder));

/** Every page of a `sessions` listing, ids in order. */
async function listAll(admin: string, filter: Record<string, unknown>, first: number): Promise<string[]> {
  const ids: string[] = [];
  let after: string | null = null;
  for (let page = 0; ; page++) {
    expect(page, 'sessions: pages never end').toBeLessThan(100);
    const res: SessionsResult['sessions'] = ok(await app.gql<SessionsResult>(SESSIONS, { first, after, filter }, admin)).sessions;
    expect(res.edges.length).toBeLessThanOrEqual(first);
    ids.push(...res.edges.map((e) => e.node.id));
    if (!res.pageInfo.hasNextPage) break;
    after = res.pageInfo.endCursor;
  }
  return ids;
}

/** Every page of a session's `searchHits`, concatenated. */
async function allHits(admin: string, id: string, text: string, first: number) {
  const hits: { time: number; type: string; source: string; line: string }[] = [];
  const cursors = new Set<string>();
  let after: string | null = null;
  for (let page = 0; ; page++) {
    expect(page, 'searchHits: pages never end').toBeLessThan(1000);
    const res: HitsResult = ok(await app.gql<HitsResult>(SEARCH_HITS, { id, text, first, after }, admin));
    const connection = res.session!.searchHits;
    expect(connection.edges.length).toBeLessThanOrEqual(first);
    for (const edge of connection.edges) {
      expect(cursors.has(edge.cursor), 'cursors are unique').toBe(false);
      cursors.add(edge.cursor);
      hits.push(edge.node);
    }
    if (!connection.pageInfo.hasNextPage) break;
    after = connection.pageInfo.endCursor;
  }
  return hits;
}

/** What the API must answer for `text` over these recordings, checked against the oracle. */
async function compare(
  admin: string,
  recordings: readonly Recording[],
  units: ReadonlyMap<string, OracleUnit[]>,
  text: string,
  pageSize: number,
  verb: 'EXEC' | 'CONNECT' | null,
  when: string,
) {
  const label = (what: string) => `${when}, needle ${JSON.stringify(text)}: ${what}`;
  let valid = true;
  try {
    checkNeedle(text);
  } catch {
    valid = false;
  }
  if (!valid) {
    expect(codeOf(await app.gql(SESSIONS, { first: 10, filter: { text } }, admin)), label('sessions')).toBe('BAD_USER_INPUT');
    expect(codeOf(await app.gql(SEARCH_HITS, { id: recordings[0]!.id, text, first: 10 }, admin)), label('searchHits')).toBe('BAD_USER_INPUT');
    seen.refused++;
    return;
  }
  seen.needles++;

  const other = verb === null ? {} : { verb };
  const listing = await listAll(admin, other, 100);
  expect(new Set(listing), label('the org holds exactly these sessions')).toEqual(
    new Set(recordings.filter((r) => verb === null || r.plan.session.verb === verb).map((r) => r.id)),
  );
  const expectedIds = listing.filter((id) => hitsInUnits(units.get(id)!, text).length > 0);
  // Compared as indexes of the run's sessions, which a failure message can name.
  const indexes = (ids: string[]) => ids.map((id) => recordings.findIndex((r) => r.id === id));
  expect(indexes(await listAll(admin, { ...other, text }, pageSize)), label('sessions(filter: { text }), as session indexes')).toEqual(indexes(expectedIds));

  for (const [k, r] of recordings.entries()) {
    const expected = hitsInUnits(units.get(r.id)!, text).map((h) => ({ time: h.time, type: KIND_TO_TYPE[h.type], source: h.source, line: h.line }));
    seen.hits += expected.length;
    if (expected.length > 0) seen.sessionsWithHits++;
    else seen.sessionsWithout++;
    for (const h of expected) {
      seen.sources.add(h.source);
      seen.types.add(h.type);
      if (Array.from(h.line).length === 500) seen.longLines++;
    }
    expect(await allHits(admin, r.id, text, pageSize), label(`searchHits of session ${k} (${r.plan.session.verb}, ${r.plan.session.type}/${r.plan.session.connectionSubtype})`)).toEqual(expected);
  }
}

interface Scenario {
  plans: Plan[];
  needles: string[];
  pageSizes: number[];
  verbFilter: 'EXEC' | 'CONNECT' | null;
}

/**
 * Records the sessions of a scenario in a new organisation: the first appends (all of them for
 * sessions closed at first), indexing, every needle compared; then the remaining appends,
 * indexing, every needle compared again.
 */
async function play({ plans, needles, pageSizes, verbFilter }: Scenario): Promise<void> {
  // An organisation per run: its sessions are all this run sees.
  const orgId = await app.org(`search-${++runNumber}`);
  // Every other run takes the paths meant for common needles (walks instead of the index).
  searchPaths.commonBlocks = runNumber % 2 === 0 ? 0 : 200;
  const recorder = await app.key(orgId, 'RECORDER', 'recorder');
  const admin = await app.key(orgId, 'ADMIN', 'admin');

  const recordings: Recording[] = [];
  for (const p of plans) {
    const s = p.session;
    const input = {
      verb: s.verb,
      type: s.type,
      ...(s.connectionSubtype !== null && { connectionSubtype: s.connectionSubtype }),
      roleName: 'role',
      userId: 'alice',
      startDate: new Date(Date.UTC(2024, 0, 1) + p.startOffset * 1000).toISOString(),
      ...(s.script !== null && { script: s.script }),
    };
    const id = ok(await app.gql<OpenResult>(OPEN, { input }, recorder)).openSession.id;
    recordings.push({ id, plan: p, stored: [], sequence: 0 });
  }

  const phaseOne = (r: Recording) =>
    r.plan.closeAt === 'first' ? r.plan.session.events.length : r.plan.phaseCut % (r.plan.session.events.length + 1);
  await Promise.all(
    recordings.map(async (r) => {
      await appendAll(r, r.plan.session.events.slice(0, phaseOne(r)), recorder);
      if (r.plan.closeAt === 'first') await close(r, recorder);
    }),
  );
  await indexPendingSessions();
  let units = new Map(recordings.map((r) => [r.id, unitsOf(r)]));
  for (const [k, text] of needles.entries()) {
    await compare(admin, recordings, units, text, pageSizes[k % pageSizes.length]!, verbFilter, 'after the first appends');
  }

  await Promise.all(
    recordings.map(async (r) => {
      await appendAll(r, r.plan.session.events.slice(r.stored.length), recorder);
      if (r.plan.closeAt === 'second') await close(r, recorder);
    }),
  );
  await indexPendingSessions();
  units = new Map(recordings.map((r) => [r.id, unitsOf(r)]));
  for (const u of units.values()) seen.units += u.length;
  for (const [k, text] of needles.entries()) {
    await compare(admin, recordings, units, text, pageSizes[(k + 1) % pageSizes.length]!, verbFilter, 'after every append');
  }
}

it(
  'finds what the oracle finds: sessions(filter: { text }) and every page of searchHits, before and after more appends',
  async () => {
    await fc.assert(fc.asyncProperty(scenario, play), {
      numRuns: NUM_RUNS,
      seed: SEED,
      // Each run talks to a real server: bound the time spent shrinking a failure (the failure
      // found so far is still reported), and fail rather than pass quietly if runs are this slow.
      interruptAfterTimeLimit: 150_000,
      markInterruptAsFailure: true,
    });
    // The runs must have compared something worth comparing.
    expect(seen.units).toBeGreaterThan(150);
    expect(seen.hits).toBeGreaterThan(100);
    expect(seen.sessionsWithHits).toBeGreaterThan(20);
    expect(seen.sessionsWithout).toBeGreaterThan(5);
    expect(seen.longLines).toBeGreaterThan(0);
    expect([...seen.sources].sort()).toEqual(['INPUT', 'OUTPUT', 'QUERY', 'SCRIPT']);
    expect([...seen.types].sort()).toEqual(['ERROR', 'INPUT', 'OUTPUT']);
  },
  240_000,
);

const enc = (s: string) => new TextEncoder().encode(s);
const event = (time: number, type: 'i' | 'o' | 'e', data: string | number[]): SessionEvent => ({
  time,
  type,
  data: typeof data === 'string' ? enc(data) : Uint8Array.from(data),
});
const planOf = (
  session: Omit<RandomSession, 'type' | 'connectionSubtype'> & Partial<Pick<RandomSession, 'type' | 'connectionSubtype'>>,
  closeAt: CloseAt,
  phaseCut: number,
  startOffset: number,
): Plan => ({
  session: {
    type: session.postgres ? 'database' : 'custom',
    connectionSubtype: session.postgres ? 'postgres' : 'ssh',
    ...session,
  },
  closeAt,
  phaseCut,
  callCuts: [1],
  startOffset,
});

it('agrees with the oracle on the worked cases, and on the points the oracle had to interpret', async () => {
  const plans = [
    // §12's example: an escape inside the words, and the script of an EXEC session.
    planOf(
      { verb: 'EXEC', postgres: false, script: 'DROP TABLE users;\r\nselect 1', events: [event(0.1, 'i', 'DROP TABLE users;'), event(0.5, 'o', 'psql> DR\x1b[1mOP TABLE\n')] },
      'first',
      0,
      1,
    ),
    // An open session whose stream ends inside a character: decoded as stored (U+FFFD), then
    // completed by the next append.
    planOf({ verb: 'CONNECT', postgres: false, script: null, events: [event(1, 'o', [0x64, 0x72, 0x6f, 0x70, 0xc3]), event(2, 'o', [0xa9, 0x0a])] }, 'never', 1, 2),
    // A CSI parameter after an intermediate interrupts it; ESC before a non-ASCII character;
    // an OSC ended by an ESC that starts a CSI; CR at the end of one append, LF and BS in the next.
    planOf(
      {
        verb: 'CONNECT',
        postgres: false,
        script: null,
        events: [event(3, 'o', 'a\x1b[ 1mb drop\nx\x1bé drop\r'), event(4, 'o', '\n\bdr\x1b]0;t\x1b[1mop\n'), event(5, 'i', 'İSTANBUL \u212Aelvin\r')],
      },
      'second',
      1,
      3,
    ),
    // Postgres CONNECT: whitespace collapsed, server output never searched.
    planOf(
      {
        verb: 'CONNECT',
        postgres: true,
        script: null,
        events: [event(6, 'i', Array.from(bytes(query('select\n\t *  from drop_log\v'), parse('', ' DROP  TABLE\r\nx ')))), event(7, 'o', 'drop output')],
      },
      'first',
      0,
      4,
    ),
  ];
  await play({
    plans,
    needles: ['drop table', 'drop', 'DROP', '\uFFFD', 'é', '1mb', 'xé', '\vdrop\v', '\fdrop', 'istanbul', 'kelvin', 'İ', 'drop_log', 'drop%', 'dr_p', 'select * from', '\t*'],
    pageSizes: [1, 2, 100],
    verbFilter: null,
  });
});

it('keeps U+FEFF as a character first in a stream, a line or a script; drops it first in a query (TextDecoder)', async () => {
  // PGlite drops a U+FEFF that begins any text value it returns (SELECT E'\uFEFFabc' gives
  // "abc"), so text stored in rows and read back can lose it; the contract's text cannot.
  const bom = [0xef, 0xbb, 0xbf];
  const plans = [
    planOf({ verb: 'CONNECT', postgres: false, script: null, events: [event(1, 'o', [...bom, ...enc('drop')])] }, 'first', 0, 1),
    planOf({ verb: 'CONNECT', postgres: false, script: null, events: [event(1, 'o', 'x\uFEFFy\n\uFEFFdrop\n')] }, 'first', 0, 2),
    planOf({ verb: 'EXEC', postgres: false, script: '\uFEFFscript\n\uFEFFdrop', events: [] }, 'first', 0, 3),
    planOf({ verb: 'CONNECT', postgres: true, script: null, events: [event(1, 'i', Array.from(bytes(query('\uFEFFselect 1'), query('select \uFEFF2'))))] }, 'first', 0, 4),
  ];
  await play({ plans, needles: ['\uFEFF', '\uFEFFd', 'drop', 'script', 'select'], pageSizes: [100], verbFilter: null });
});

it('refuses bad needles in both fields with BAD_USER_INPUT', async () => {
  const session = planOf({ verb: 'CONNECT', postgres: false, script: null, events: [event(0, 'o', 'drop table\n')] }, 'first', 0, 0);
  await play({
    plans: [session],
    needles: ['', '   ', '\t\v\f\r\n', 'drop\ntable', 'drop\rtable', 'a'.repeat(257), '😀'.repeat(257), ` ${'a'.repeat(256)} `],
    pageSizes: [10],
    verbFilter: null,
  });
});
