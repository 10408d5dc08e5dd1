import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { searchPaths } from '../../src/search/hits.ts';
import { indexPendingSessions } from '../../src/search/indexer.ts';
import { codeOf, ok } from '../support/graphql.ts';
import { startAppWithKeys, startTestApp, type TestApp } from '../support/app.ts';
import { APPEND, ev, ingest, OPEN, SESSIONS, type SessionsResult } from '../support/ingest.ts';
import { ROOT } from '../support/processes.ts';
import { SEARCH_HITS as HITS, type Hit, type HitsResult } from '../support/search.ts';

/*
 * Search (spec §12) through the public API: the examples of the issue and the contract's corners.
 * The random-stream comparison with a plain scan is in api-properties.test.ts.
 */

let app: TestApp;
let recorder: string;
let admin: string;
let orgId: string;

beforeAll(async () => {
  ({ app, recorder, admin, orgId } = await startAppWithKeys());
});
afterAll(() => app?.close());

async function hits(id: string, text: string, key = admin, first?: number, after?: string): Promise<Hit[]> {
  const res = await app.gql<HitsResult>(HITS, { id, text, first, after }, key);
  return ok(res).session!.searchHits.edges.map((e) => e.node);
}

async function found(text: string, key = admin, filter: Record<string, unknown> = {}): Promise<string[]> {
  const res = await app.gql<SessionsResult>(SESSIONS, { first: 100, filter: { ...filter, text } }, key);
  return ok(res).sessions.edges.map((e) => e.node.id);
}

describe('what a user saw is what is found', () => {
  it('finds a word behind an escape sequence, with the time of the event that holds the match', async () => {
    const id = await ingest(app, recorder, {
      verb: 'CONNECT',
      type: 'custom',
      connectionSubtype: null,
      events: [
        [0.5, 'i', 'psql\r'],
        [1.25, 'o', 'mydb=# DR\x1b[1mOP TA'],
        [1.5, 'o', 'BLE users;\r\nDROP TABLE\r\n'],
      ],
    });
    await indexPendingSessions();
    expect(await hits(id, 'drop table')).toEqual([
      { time: 1.25, type: 'OUTPUT', source: 'OUTPUT', line: 'mydb=# DROP TABLE users;' },
      { time: 1.5, type: 'OUTPUT', source: 'OUTPUT', line: 'DROP TABLE' },
    ]);
    expect(await found('DROP TABLE')).toContain(id);
  });

  it('applies backspaces to typed input, and finds multi-byte characters split across events', async () => {
    const euro = Buffer.from('€');
    const id = await ingest(app, recorder, {
      verb: 'CONNECT',
      type: 'custom',
      connectionSubtype: null,
      events: [
        [1, 'i', 'lss\x7f -la\r'],
        [2, 'o', Buffer.concat([Buffer.from('price 5'), euro.subarray(0, 1)])],
        [3, 'o', Buffer.concat([euro.subarray(1), Buffer.from(' total\n')])],
      ],
    });
    await indexPendingSessions();
    expect(await hits(id, 'ls -la')).toEqual([{ time: 1, type: 'INPUT', source: 'INPUT', line: 'ls -la' }]);
    expect(await hits(id, 'lss')).toEqual([]);
    expect(await hits(id, '5€ TOTAL')).toEqual([{ time: 2, type: 'OUTPUT', source: 'OUTPUT', line: 'price 5€ total' }]);
    expect(await hits(id, '€')).toEqual([{ time: 2, type: 'OUTPUT', source: 'OUTPUT', line: 'price 5€ total' }]);
  });

  it('searches the SQL of a Postgres session, whitespace collapsed, and the script of an EXEC one', async () => {
    const query = (sql: string) => {
      const body = Buffer.from(`${sql}\0`);
      const head = Buffer.alloc(5);
      head.write('Q', 0);
      head.writeUInt32BE(body.length + 4, 1);
      return Buffer.concat([head, body]);
    };
    const frame = query('SELECT *\n  FROM   accounts\tWHERE id = 1');
    const pg = await ingest(app, recorder, {
      verb: 'CONNECT',
      type: 'database',
      connectionSubtype: 'postgres',
      events: [
        [0.1, 'i', frame.subarray(0, 7)],
        [0.2, 'i', frame.subarray(7)],
        [0.3, 'o', 'FROM accounts (server bytes are not searched)'],
      ],
    });
    const exec = await ingest(app, recorder, {
      verb: 'EXEC',
      type: 'custom',
      connectionSubtype: null,
      script: 'echo one\r\n\nrm -rf /tmp/FROM accounts\n',
      events: [
        [0, 'i', 'echo one\n'],
        [0.5, 'o', 'one\n'],
      ],
    });
    await indexPendingSessions();
    expect(await hits(pg, 'from accounts where')).toEqual([
      { time: 0.1, type: 'INPUT', source: 'QUERY', line: 'SELECT * FROM accounts WHERE id = 1' },
    ]);
    expect(await hits(exec, 'ONE')).toEqual([
      { time: 0, type: 'INPUT', source: 'SCRIPT', line: 'echo one' },
      { time: 0.5, type: 'OUTPUT', source: 'OUTPUT', line: 'one' },
    ]);
    expect(await found('from accounts')).toEqual(expect.arrayContaining([pg, exec]));
    expect(await found('server bytes')).toEqual([]);
  });

  it('matches %, _ and \\ literally', async () => {
    const id = await ingest(app, recorder, {
      verb: 'CONNECT',
      type: 'custom',
      connectionSubtype: null,
      events: [[1, 'o', 'grant 100% to a_b\\c\nabc\n']],
    });
    await indexPendingSessions();
    expect(await hits(id, '100%')).toHaveLength(1);
    expect(await hits(id, 'a_b\\c')).toHaveLength(1);
    expect(await hits(id, '0%t')).toEqual([]);
    expect(await hits(id, 'a%c')).toEqual([]);
    expect(await found('a_b\\')).toEqual([id]);
    expect(await found('a__')).toEqual([]);
  });
});

describe('the README', () => {
  it("answers the README's search query", async () => {
    const readme = fs.readFileSync(path.join(ROOT, 'README.md'), 'utf8');
    const query = /Search every session[\s\S]*?```graphql\n([\s\S]*?)```/.exec(readme)?.[1];
    expect(query).toBeDefined();
    const id = await ingest(app, recorder, {
      verb: 'CONNECT',
      type: 'custom',
      connectionSubtype: null,
      startDate: new Date().toISOString(),
      userId: 'carol',
      events: [[7.5, 'i', 'drop table audit_log;\r']],
    });
    await indexPendingSessions();
    const data = ok(await app.gql<{ sessions: { edges: { node: { id: string; searchHits: { edges: { node: Hit }[] } } }[] } }>(query!, {}, admin));
    const mine = data.sessions.edges.find((e) => e.node.id === id);
    expect(mine?.node.searchHits.edges.map((e) => e.node)).toEqual([{ time: 7.5, source: 'INPUT', line: 'drop table audit_log;' }]);
  });
});

describe.each([
  ['through the index', 200],
  ['by walking the blocks (common needles)', 0],
])('pages, %s', (_path, commonBlocks) => {
  beforeAll(() => {
    searchPaths.commonBlocks = commonBlocks;
  });
  afterAll(() => {
    searchPaths.commonBlocks = 200;
  });

  it('pages through thousands of hits in time order, each once', async () => {
    const lines = Array.from({ length: 3000 }, (_, k) => `row ${k} needle\n`);
    const events = lines.map((line, k) => [k / 10, 'o', line] as const);
    const id = await ingest(app, recorder, { verb: 'EXEC', type: 'custom',
      connectionSubtype: null, events, perCall: 500 });
    await indexPendingSessions();
    const seen: Hit[] = [];
    let after: string | undefined;
    for (;;) {
      const res = ok(await app.gql<HitsResult>(HITS, { id, text: 'NEEDLE', first: 100, after }, admin)).session!.searchHits;
      seen.push(...res.edges.map((e) => e.node));
      if (!res.pageInfo.hasNextPage) break;
      after = res.pageInfo.endCursor!;
    }
    expect(seen.map((h) => h.line)).toEqual(lines.map((l) => l.trimEnd()));
    expect(seen.map((h) => h.time)).toEqual(events.map((e) => e[0]));
    expect(await found('row 2999 NEEDLE')).toContain(id);
    expect(await found('row 3000 needle')).toEqual([]);
  });
});

describe('bad input and access', () => {
  it('refuses needles §12 does not allow, changing nothing', async () => {
    const id = await ingest(app, recorder, { verb: 'CONNECT', type: 'custom',
      connectionSubtype: null, events: [[1, 'o', 'x\n']] });
    for (const text of ['', '  \t ', 'a\nb', 'a\rb', 'x'.repeat(257)]) {
      expect(codeOf(await app.gql(HITS, { id, text }, admin))).toBe('BAD_USER_INPUT');
      expect(codeOf(await app.gql(SESSIONS, { filter: { text } }, admin))).toBe('BAD_USER_INPUT');
    }
    expect(await hits(id, ` ${'x'.repeat(256)} `)).toEqual([]);
    expect(codeOf(await app.gql(HITS, { id, text: 'x', after: 'nonsense' }, admin))).toBe('BAD_USER_INPUT');
    expect(codeOf(await app.gql(HITS, { id, text: 'x', first: 101 }, admin))).toBe('BAD_USER_INPUT');
    expect(codeOf(await app.gql(HITS, { id, text: 'x', first: -1 }, admin))).toBe('BAD_USER_INPUT');
  });

  it('searches only streams the caller may read: reviewers get FORBIDDEN and are left out of listings', async () => {
    const mine = await ingest(app, recorder, { verb: 'CONNECT', type: 'custom',
      connectionSubtype: null, userId: 'ann', events: [[1, 'o', 'secret plan\n']] });
    const reviewed = await ingest(app, recorder, {
      verb: 'CONNECT',
      type: 'custom',
      connectionSubtype: null,
      userId: 'bob',
      review: { type: 'JIT', status: 'APPROVED', groups: [{ group: 'ops', status: 'APPROVED' }] },
      events: [[1, 'o', 'secret plan\n']],
    });
    await indexPendingSessions();
    const ann = await app.key(orgId, 'STANDARD', 'ann', { groups: ['ops'] });
    expect(await found('secret plan', ann)).toEqual([mine]);
    expect(await found('secret plan', admin)).toEqual(expect.arrayContaining([mine, reviewed]));
    const res = await app.gql<HitsResult>(HITS, { id: reviewed, text: 'secret' }, ann);
    expect(codeOf(res)).toBe('FORBIDDEN');
    // The reviewer still sees the session itself.
    expect(ok(await app.gql<SessionsResult>(SESSIONS, { filter: { userId: 'bob' } }, ann)).sessions.edges.map((e) => e.node.id)).toContain(reviewed);
  });
});

describe('the indexer of a running server', () => {
  it('makes an acknowledged append searchable within 5 seconds, and the grown last line too', async () => {
    const opened = ok(
      await app.gql<{ openSession: { id: string } }>(OPEN, { input: { verb: 'CONNECT', type: 'custom',
      connectionSubtype: null, roleName: 'r' } }, recorder),
    ).openSession.id;
    const append = async (sequence: number, data: string, time: number) =>
      ok(await app.gql(APPEND, { id: opened, seq: sequence, events: [ev(time, 'o', data)] }, recorder));
    const eventually = async (text: string, want: Hit[]) => {
      const deadline = Date.now() + 5000;
      for (;;) {
        const got = await hits(opened, text);
        if (JSON.stringify(got) === JSON.stringify(want) || Date.now() > deadline) return expect(got).toEqual(want);
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
    };
    await append(0, 'deploy sta', 1);
    await eventually('deploy sta', [{ time: 1, type: 'OUTPUT', source: 'OUTPUT', line: 'deploy sta' }]);
    await append(1, 'rted\r\nok', 2);
    await eventually('deploy started', [{ time: 1, type: 'OUTPUT', source: 'OUTPUT', line: 'deploy started' }]);
    await eventually('ok', [{ time: 2, type: 'OUTPUT', source: 'OUTPUT', line: 'ok' }]);
  });
});

describe('nothing acknowledged is left unsearchable', () => {
  it('indexes at start what was stored while no indexer ran (a crash after the acknowledgement, or sessions older than search)', async () => {
    const first = await startAppWithKeys({ REEL_SEARCH_INDEXER: 'off' });
    let second: TestApp | undefined;
    try {
      const id = await ingest(first.app, first.recorder, {
        verb: 'CONNECT',
        type: 'custom',
        connectionSubtype: null,
        script: 'kubectl delete ns prod',
        events: [[3, 'o', 'namespace "prod" deleted\n']],
      });
      const listed = async (app: TestApp) =>
        ok(await app.gql<SessionsResult>(SESSIONS, { filter: { text: 'PROD' } }, first.admin)).sessions.edges.map((e) => e.node.id);
      expect(await listed(first.app)).toEqual([]);
      await first.app.stop();

      second = await startTestApp({}, { database: first.app.database });
      const deadline = Date.now() + 5000;
      while ((await listed(second)).length === 0 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 50));
      expect(await listed(second)).toEqual([id]);
      const res = await second.gql<HitsResult>(HITS, { id, text: 'prod' }, first.admin);
      expect(ok(res).session!.searchHits.edges.map((e) => [e.node.source, e.node.time])).toEqual([
        ['SCRIPT', 0],
        ['OUTPUT', 3],
      ]);
    } finally {
      await (second ?? first.app).close();
    }
  });
});
