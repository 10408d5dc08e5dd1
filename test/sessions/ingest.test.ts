import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from '../support/app.ts';
import { codeOf, failed, ok } from '../support/graphql.ts';
import {
  APPEND,
  b64,
  CLOSE,
  ev,
  OPEN,
  rawTuples,
  SESSION_ATTRIBUTES,
  sizeOf,
  type AppendResult,
  type EventIn,
  type OpenResult,
} from '../support/ingest.ts';

/* Spec §2 (attributes), §3 (events) and §8 (ingest) through the real HTTP surface. */

let app: TestApp;
let orgId: string;
let recorder: string;
let admin: string;

const FULL_SESSION = /* GraphQL */ `
  query Full($id: ID!) {
    session(id: $id) { ...SessionAttributes }
  }
  ${SESSION_ATTRIBUTES}`;

type Full = Record<string, unknown> & { id: string; startDate: string; endDate: string | null; status: string };

async function read(id: string): Promise<Full> {
  const data = ok(await app.gql<{ session: Full | null }>(FULL_SESSION, { id }, admin));
  expect(data.session).not.toBeNull();
  return data.session!;
}

async function open(input: Record<string, unknown>, key = recorder): Promise<string> {
  return ok(await app.gql<OpenResult>(OPEN, { input }, key)).openSession.id;
}

async function append(id: string, seq: number, events: EventIn[], key = recorder) {
  return app.gql<AppendResult>(APPEND, { id, seq, events }, key);
}

async function totals(id: string, seq: number, events: EventIn[]) {
  return ok(await append(id, seq, events)).appendSessionEvents;
}

/** Posts a raw JSON body (for values JSON.stringify cannot write, such as 1e309). */
async function rawPost(body: string, key = recorder) {
  const res = await fetch(`${app.url}/graphql`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${key}` },
    body,
  });
  return { status: res.status, ...((await res.json()) as { data?: unknown; errors?: { message: string; extensions?: Record<string, unknown> }[] }) };
}

beforeAll(async () => {
  app = await startTestApp();
  orgId = await app.org('acme');
  recorder = await app.key(orgId, 'RECORDER', 'gateway');
  admin = await app.key(orgId, 'ADMIN', 'root');
});

afterAll(async () => {
  await app?.close();
});

const reviewedBy = { id: 'u-17', name: 'Rita Reviewer', email: 'rita@acme.test', slackId: 'U0123' };
const aiAnalysis = {
  riskLevel: 'high',
  title: 'Deletes every row',
  explanation: 'DELETE without WHERE on a production table',
  action: 'require_access_request',
  summary: 'Risky statement',
  model: 'model-x',
  steps: [
    {
      type: 'tool_call',
      thinking: 'parse it',
      toolName: 'sql_parse',
      toolInput: { sql: 'DELETE FROM accounts' },
      toolOutput: { statements: 1 },
      isError: false,
      timestamp: '2024-07-25T15:56:36Z',
    },
  ],
};
const guardrailsInfo = [
  {
    ruleName: 'no-destructive',
    rule: { type: 'deny_words_list', words: ['DROP', 'DELETE'], patternRegex: null },
    direction: 'input',
    matchedWords: ['DELETE'],
    message: 'destructive statement blocked',
  },
  {
    ruleName: 'ssn',
    rule: { type: 'pattern_match', words: [], patternRegex: '\\d{3}-\\d{2}-\\d{4}' },
    direction: 'output',
    matchedWords: [],
    message: null,
  },
];

function fullInput() {
  return {
    id: randomUUID(),
    status: 'READY',
    verb: 'EXEC',
    type: 'database',
    connectionSubtype: 'postgres',
    roleName: 'pg-prod',
    resourceName: 'prod-cluster',
    connectionTags: { team: 'banking', tier: 1 },
    userId: 'alice',
    userEmail: 'alice@acme.test',
    userName: 'Alice Liddell',
    identityType: 'MACHINE',
    machineIdentityId: randomUUID(),
    startDate: '2024-07-25T15:56:35.317Z',
    endDate: '2024-07-25T16:01:02.003Z',
    exitCode: 3,
    correlationId: 'workflow-42',
    sessionBatchId: 'batch-7',
    metadata: { ticket: 'T-1', nested: { list: [1, 'two', null, true] } },
    integrationsMetadata: { jira: { issue: 'OPS-1' } },
    review: {
      id: randomUUID(),
      type: 'JIT',
      status: 'APPROVED',
      accessDurationSec: 3600,
      createdAt: '2024-07-25T15:50:00.000Z',
      revokeAt: '2024-07-25T16:50:00.000Z',
      timeWindow: { type: 'time_range', start: '09:00', end: '17:00' },
      accessRequestRuleName: 'prod-writes',
      minApprovals: 2,
      forceApprovalGroups: ['sre'],
      rejectionReason: 'none',
      groups: [
        { group: 'sre', status: 'APPROVED', forcedReview: true },
        { group: 'dba', status: 'APPROVED', reviewedBy, reviewDate: '2024-07-25T15:55:00.000Z', forcedReview: false },
      ],
    },
    aiAnalysis,
    guardrailsInfo,
    script: "DELETE FROM accounts; -- é",
  };
}

describe('openSession', () => {
  it('stores every attribute of §2 and reads it back', async () => {
    const input = fullInput();
    const opened = ok(await app.gql<OpenResult>(OPEN, { input }, recorder)).openSession;
    expect(opened).toEqual({ id: input.id, orgId, status: 'READY', startDate: input.startDate });
    const s = await read(input.id);
    expect(s).toEqual({
      id: input.id,
      orgId,
      status: 'READY',
      verb: 'EXEC',
      type: 'database',
      connectionSubtype: 'postgres',
      roleName: 'pg-prod',
      connection: 'pg-prod',
      resourceName: 'prod-cluster',
      connectionTags: { team: 'banking', tier: 1 },
      userId: 'alice',
      userEmail: 'alice@acme.test',
      userName: 'Alice Liddell',
      identityType: 'MACHINE',
      machineIdentityId: input.machineIdentityId,
      startDate: '2024-07-25T15:56:35.317Z',
      endDate: '2024-07-25T16:01:02.003Z',
      exitCode: 3,
      correlationId: 'workflow-42',
      sessionBatchId: 'batch-7',
      metadata: { ticket: 'T-1', nested: { list: [1, 'two', null, true] } },
      integrationsMetadata: { jira: { issue: 'OPS-1' } },
      metrics: null,
      review: {
        id: input.review.id,
        type: 'JIT',
        status: 'APPROVED',
        accessDurationSec: 3600,
        createdAt: '2024-07-25T15:50:00.000Z',
        revokeAt: '2024-07-25T16:50:00.000Z',
        timeWindow: { type: 'time_range', start: '09:00', end: '17:00' },
        accessRequestRuleName: 'prod-writes',
        minApprovals: 2,
        forceApprovalGroups: ['sre'],
        rejectionReason: 'none',
        groups: expect.arrayContaining([
          { group: 'dba', status: 'APPROVED', reviewedBy, reviewDate: '2024-07-25T15:55:00.000Z', forcedReview: false },
          { group: 'sre', status: 'APPROVED', reviewedBy: null, reviewDate: null, forcedReview: true },
        ]),
      },
      aiAnalysis,
      guardrailsInfo: [
        guardrailsInfo[0],
        { ...guardrailsInfo[1], rule: { type: 'pattern_match', words: [], patternRegex: '\\d{3}-\\d{2}-\\d{4}' } },
      ],
      script: { data: "DELETE FROM accounts; -- é" },
      scriptSize: Buffer.byteLength("DELETE FROM accounts; -- é", 'utf8'),
    });
    expect((s.review as { groups: unknown[] }).groups).toHaveLength(2);
    expect(s.scriptSize).toBe(27); // 25 ASCII characters + 'é' (2 bytes)
  });

  it('counts scriptSize in UTF-8 bytes', async () => {
    const cases: [string | null, number][] = [
      ['é', 2],
      ['😀', 4],
      ['SELECT 1', 8],
      ['€', 3],
      ['', 0],
      [null, 0],
    ];
    for (const [script, size] of cases) {
      const id = await open({ verb: 'EXEC', type: 'database', roleName: 'r', ...(script !== null && { script }) });
      const s = await read(id);
      expect(s.scriptSize, JSON.stringify(script)).toBe(size);
      if (script !== null) expect(s.script).toEqual({ data: script });
    }
  });

  it('applies the defaults: status OPEN, identityType USER, startDate now', async () => {
    const before = Date.now();
    const id = await open({ verb: 'CONNECT', type: 'database', roleName: 'pg-prod' });
    const after = Date.now();
    const s = await read(id);
    expect(s).toMatchObject({
      status: 'OPEN',
      identityType: 'USER',
      verb: 'CONNECT',
      endDate: null,
      exitCode: null,
      metrics: null,
      review: null,
      aiAnalysis: null,
      guardrailsInfo: [],
      script: null,
      scriptSize: 0,
      userId: null,
      orgId,
    });
    const start = Date.parse(s.startDate);
    expect(start).toBeGreaterThanOrEqual(before - 1000);
    expect(start).toBeLessThanOrEqual(after + 1000);
  });

  it('returns the session for a retried open with the same id and input', async () => {
    const input = fullInput();
    const first = ok(await app.gql<OpenResult>(OPEN, { input }, recorder)).openSession;
    const again = ok(await app.gql<OpenResult>(OPEN, { input }, recorder)).openSession;
    expect(again).toEqual(first);
    // An ADMIN of the org retrying it gets the same answer; nothing is duplicated.
    expect(ok(await app.gql<OpenResult>(OPEN, { input }, admin)).openSession).toEqual(first);
    const s = await read(input.id);
    expect((s.review as { groups: unknown[] }).groups).toHaveLength(2);
    expect(s.guardrailsInfo).toHaveLength(2);
  });

  it('a retried open without startDate keeps the first startDate', async () => {
    const input = { id: randomUUID(), verb: 'CONNECT', type: 'database', roleName: 'pg-prod' };
    const first = ok(await app.gql<OpenResult>(OPEN, { input }, recorder)).openSession;
    await new Promise((r) => setTimeout(r, 20));
    const again = ok(await app.gql<OpenResult>(OPEN, { input }, recorder)).openSession;
    expect(again.startDate).toBe(first.startDate);
  });

  it('concurrent opens of one id with the same input all answer the one session', async () => {
    const input = { ...fullInput(), status: 'OPEN' };
    const results = await Promise.all(Array.from({ length: 6 }, () => app.gql<OpenResult>(OPEN, { input }, recorder)));
    for (const r of results) expect(ok(r).openSession.id).toBe(input.id);
    expect(((await read(input.id)).review as { groups: unknown[] }).groups).toHaveLength(2);
  });

  it('an existing id with different input is a CONFLICT and changes nothing', async () => {
    const input = fullInput();
    await open(input);
    const variants: Record<string, unknown>[] = [
      { ...input, roleName: 'pg-staging' },
      { ...input, status: 'OPEN' },
      { ...input, metadata: { ticket: 'T-2' } },
      { ...input, script: 'SELECT 1' },
      { ...input, review: { ...input.review, groups: [{ group: 'dba', status: 'APPROVED' }] } },
      { id: input.id, verb: 'EXEC', type: 'database', roleName: 'pg-prod' },
    ];
    for (const variant of variants) {
      expect(codeOf(await app.gql(OPEN, { input: variant }, recorder))).toBe('CONFLICT');
    }
    const s = await read(input.id);
    expect(s).toMatchObject({ roleName: 'pg-prod', status: 'READY', metadata: input.metadata, script: { data: input.script } });
  });

  it('rejects a malformed id as BAD_USER_INPUT', async () => {
    expect(codeOf(await app.gql(OPEN, { input: { id: 'not-a-uuid', verb: 'EXEC', type: 'database', roleName: 'r' } }, recorder))).toBe(
      'BAD_USER_INPUT',
    );
  });
});

describe('appendSessionEvents', () => {
  let sid: string;
  // The worked example of §4.1, split across calls, then a non-ASCII payload.
  const seq0 = [ev(0.268589438, 'i', 'SELECT 1;')];
  const seq1 = [ev(0.5, 'o', 'col1\tcol2\n1\t2\n(1 row)\n'), ev(1.7, 'e', 'ERROR: x\n')];
  const seq2 = [ev(2.000001, 'o', 'é'), ev(2.5, 'o', '')];
  const stored = [...seq0, ...seq1, ...seq2];
  const SIZE = sizeOf(stored); // 9 + 22 + 9 + 2 + 0
  const EMPTY_NEXT = { eventCount: stored.length, eventSize: SIZE };

  beforeAll(async () => {
    sid = await open({ verb: 'CONNECT', type: 'database', connectionSubtype: 'postgres', roleName: 'pg-prod', userId: 'alice' });
  });

  it('stores sequences 0, 1, 2 and answers the totals so far', async () => {
    expect(await totals(sid, 0, seq0)).toEqual({ sequence: 0, eventCount: 1, eventSize: 9 });
    expect(await totals(sid, 1, seq1)).toEqual({ sequence: 1, eventCount: 3, eventSize: 40 });
    expect(await totals(sid, 2, seq2)).toEqual({ sequence: 2, eventCount: 5, eventSize: 42 });
    expect(SIZE).toBe(42);
  });

  it('acknowledges a retried sequence with the same events without storing it twice', async () => {
    expect(await totals(sid, 1, seq1)).toEqual({ sequence: 1, ...EMPTY_NEXT });
    expect(await totals(sid, 0, seq0)).toEqual({ sequence: 0, ...EMPTY_NEXT });
    expect(await totals(sid, 2, seq2)).toEqual({ sequence: 2, ...EMPTY_NEXT });
  });

  it('is a CONFLICT to send different events under a stored sequence', async () => {
    const variants: EventIn[][] = [
      [ev(0.268589438, 'i', 'SELECT 2;')],
      [ev(0.268589439, 'i', 'SELECT 1;')],
      [ev(0.268589438, 'o', 'SELECT 1;')],
      [...seq0, ev(3, 'o', 'x')],
      [],
    ];
    for (const events of variants) expect(codeOf(await append(sid, 0, events))).toBe('CONFLICT');
    expect(codeOf(await append(sid, 1, [seq1[0]!]))).toBe('CONFLICT');
    expect(codeOf(await append(sid, 1, [seq1[1]!, seq1[0]!]))).toBe('CONFLICT');
  });

  it('is a CONFLICT to leave a gap', async () => {
    expect(codeOf(await append(sid, 5, [ev(3, 'o', 'x')]))).toBe('CONFLICT');
    expect(codeOf(await append(sid, 4, []))).toBe('CONFLICT');
  });

  const malformed = [
    'abc',
    'QR==',
    'QUI=x',
    '!!!!',
    'QQ',
    'QQ=',
    'QQ===',
    'Q===',
    '====',
    'QUJD=',
    'QUJ-',
    'QUJ_',
    ' QUJD',
    'QUJD ',
    'QU JD',
    'QUJD\n',
    'QUJD\r\n',
    '\tQUJD',
    'QUJDRA==QUJD',
    'QUJDRA==\n',
  ];

  it.each(malformed.map((d) => [JSON.stringify(d), d]))('rejects data %s as not strict base64, naming the index', async (_n, data) => {
    const res = await append(sid, 3, [ev(3, 'o', 'fine'), { time: 3.1, type: 'OUTPUT', data }, ev(3.2, 'o', 'fine')]);
    const error = failed(res);
    expect(error.extensions?.code).toBe('BAD_USER_INPUT');
    expect(error.extensions?.index).toBe(1);
    expect(res.data?.appendSessionEvents ?? null).toBeNull();
  });

  it('rejects a negative time, naming the index', async () => {
    for (const time of [-1, -0.000001, -1e300]) {
      const res = await append(sid, 3, [ev(3, 'o', 'a'), ev(3, 'o', 'b'), { time, type: 'OUTPUT', data: b64('c') }]);
      expect(failed(res).extensions?.code).toBe('BAD_USER_INPUT');
      expect(failed(res).extensions?.index).toBe(2);
    }
  });

  it('rejects a time that is not a finite number as BAD_USER_INPUT', async () => {
    // JSON has no NaN or Infinity: 1e309 parses as Infinity; strings and null are not numbers.
    for (const time of ['1e309', '-1e309', '"NaN"', '"Infinity"', 'null', '"1"']) {
      const body = `{"query":${JSON.stringify(APPEND)},"variables":{"id":"${sid}","seq":3,"events":[{"time":0,"type":"OUTPUT","data":"QUJD"},{"time":${time},"type":"OUTPUT","data":"QUJD"}]}}`;
      const res = await rawPost(body);
      expect(res.errors?.[0]?.extensions?.code, `time ${time}: ${JSON.stringify(res.errors)}`).toBe('BAD_USER_INPUT');
      // The offending index is named (GraphQL's own coercion message says "at \"events[1].time\"").
      expect(JSON.stringify(res.errors?.[0]), `time ${time}`).toMatch(/\[1\]|"index":1/);
      expect(res.data ?? null).toBeNull();
    }
  });

  it('rejects a negative sequence', async () => {
    expect(codeOf(await append(sid, -1, [ev(3, 'o', 'x')]))).toBe('BAD_USER_INPUT');
  });

  it('stored nothing for any rejected call: the next sequence is still 3 with the same totals', async () => {
    expect(await totals(sid, 3, [])).toEqual({ sequence: 3, ...EMPTY_NEXT });
    // And a retry of the empty call is acknowledged too.
    expect(await totals(sid, 3, [])).toEqual({ sequence: 3, ...EMPTY_NEXT });
  });

  it('serialises concurrent retries of one call: stored once', async () => {
    const events = [ev(4, 'o', 'concurrent')];
    const results = await Promise.all(Array.from({ length: 8 }, () => append(sid, 4, events)));
    for (const r of results) {
      expect(ok(r).appendSessionEvents).toEqual({ sequence: 4, eventCount: stored.length + 1, eventSize: SIZE + 10 });
    }
    stored.push(...events);
  });

  it('keeps every event in order with its exact time', async () => {
    const q = `query($id: ID!) { session(id: $id) { eventStream(format: RAW) eventSize } }`;
    const data = ok(await app.gql<{ session: { eventStream: unknown; eventSize: number } }>(q, { id: sid }, admin));
    expect(data.session.eventStream).toEqual(rawTuples(stored));
    expect(data.session.eventSize).toBe(sizeOf(stored));
  });

  it('closeSession sets DONE, endDate now, exitCode and metrics with eventSize computed by reel', async () => {
    const before = Date.now();
    const res = ok(
      await app.gql<{ closeSession: Full & { metrics: Record<string, unknown> } }>(
        CLOSE,
        {
          id: sid,
          input: {
            exitCode: 2,
            metrics: {
              dataMasking: { errCount: 1, infoTypes: { EMAIL_ADDRESS: 1, PHONE_NUMBER: 2 }, totalRedactCount: 3, transformedBytes: 120 },
              truncated: true,
            },
            aiAnalysis,
            guardrailsInfo: [guardrailsInfo[0]],
          },
        },
        recorder,
      ),
    ).closeSession;
    const after = Date.now();
    expect(res.status).toBe('DONE');
    expect(res.exitCode).toBe(2);
    expect(Date.parse(res.endDate!)).toBeGreaterThanOrEqual(before - 1000);
    expect(Date.parse(res.endDate!)).toBeLessThanOrEqual(after + 1000);
    expect(res.metrics).toMatchObject({
      eventSize: sizeOf(stored),
      truncated: true,
      dataMasking: { errCount: 1, infoTypes: { EMAIL_ADDRESS: 1, PHONE_NUMBER: 2 }, totalRedactCount: 3, transformedBytes: 120 },
    });
    expect((res.metrics.raw as Record<string, unknown>).event_size).toBe(sizeOf(stored));
    const s = await read(sid);
    expect(s).toMatchObject({ status: 'DONE', exitCode: 2, endDate: res.endDate, aiAnalysis, guardrailsInfo: [guardrailsInfo[0]] });
    expect((s.metrics as { eventSize: number }).eventSize).toBe(sizeOf(stored));
  });

  it('closing again returns the session unchanged', async () => {
    const before = await read(sid);
    const again = ok(
      await app.gql<{ closeSession: Full }>(
        CLOSE,
        { id: sid, input: { exitCode: 99, endDate: '2030-01-01T00:00:00.000Z', metrics: { truncated: false } } },
        recorder,
      ),
    ).closeSession;
    expect(again).toMatchObject({ status: 'DONE', exitCode: 2, endDate: before.endDate });
    expect(await read(sid)).toEqual(before);
    ok(await app.gql(CLOSE, { id: sid }, recorder));
    expect(await read(sid)).toEqual(before);
  });

  it('appending to a DONE session is SESSION_CLOSED and stores nothing', async () => {
    expect(codeOf(await append(sid, 5, [ev(9, 'o', 'late')]))).toBe('SESSION_CLOSED');
    expect((await read(sid)).metrics).toMatchObject({ eventSize: sizeOf(stored) });
  });
});

describe('large calls', () => {
  it('a call of several MiB is stored whole, its retry recognised, a change anywhere in it a CONFLICT', async () => {
    const id = await open({ verb: 'CONNECT', type: 'application', roleName: 'ssh', userId: 'alice' });
    const mib = 1024 * 1024;
    const events = [
      ev(0, 'o', Buffer.alloc(mib - 100, 0x61)),
      ev(1, 'o', Buffer.alloc(mib + 7, 0x62)),
      ev(2, 'e', Buffer.alloc(mib / 2, 0x63)),
      ...Array.from({ length: 50 }, (_, i) => ev(3 + i / 100, 'i', `k${i}`)),
    ];
    const size = sizeOf(events);
    expect(await totals(id, 0, events)).toEqual({ sequence: 0, eventCount: events.length, eventSize: size });
    expect(await totals(id, 0, events)).toEqual({ sequence: 0, eventCount: events.length, eventSize: size });
    const changedLate = [...events.slice(0, -1), ev(3.49, 'i', 'k!')];
    expect(codeOf(await append(id, 0, changedLate))).toBe('CONFLICT');
    const changedMiddle = [events[0]!, ev(1, 'o', Buffer.alloc(mib + 7, 0x42)), ...events.slice(2)];
    expect(codeOf(await append(id, 0, changedMiddle))).toBe('CONFLICT');
    expect(await totals(id, 1, [ev(4, 'o', 'z')])).toEqual({ sequence: 1, eventCount: events.length + 1, eventSize: size + 1 });
    const q = `query($id: ID!) { session(id: $id) { eventStream(format: RAW) } }`;
    const data = ok(await app.gql<{ session: { eventStream: [number, string, string][] } }>(q, { id }, admin));
    expect(data.session.eventStream).toEqual(rawTuples([...events, ev(4, 'o', 'z')]));
    const closed = ok(await app.gql<{ closeSession: { metrics: { eventSize: number } } }>(CLOSE, { id }, recorder)).closeSession;
    expect(closed.metrics.eventSize).toBe(size + 1);
  });
});

describe('closeSession', () => {
  it('defaults: no input gives DONE, endDate now, metrics with eventSize and truncated false', async () => {
    const id = await open({ verb: 'CONNECT', type: 'application', roleName: 'ssh' });
    expect(await totals(id, 0, [ev(0, 'o', 'abc'), ev(0.1, 'e', 'de')])).toEqual({ sequence: 0, eventCount: 2, eventSize: 5 });
    const before = Date.now();
    const closed = ok(await app.gql<{ closeSession: Full }>(CLOSE, { id }, recorder)).closeSession;
    expect(closed).toMatchObject({ status: 'DONE', exitCode: null, metrics: { eventSize: 5, truncated: false, dataMasking: null } });
    expect(Date.parse(closed.endDate!)).toBeGreaterThanOrEqual(before - 1000);
    expect(Date.parse(closed.endDate!)).toBeLessThanOrEqual(Date.now() + 1000);
  });

  it('takes an explicit endDate and exitCode', async () => {
    const id = await open({ verb: 'EXEC', type: 'database', roleName: 'pg', startDate: '2024-01-01T00:00:00.000Z', script: 'SELECT 1' });
    const closed = ok(
      await app.gql<{ closeSession: Full }>(CLOSE, { id, input: { endDate: '2024-01-01T00:00:01.250Z', exitCode: 0 } }, recorder),
    ).closeSession;
    expect(closed).toMatchObject({ status: 'DONE', endDate: '2024-01-01T00:00:01.250Z', exitCode: 0, metrics: { eventSize: 0 } });
  });

  it('an unknown id is NOT_FOUND', async () => {
    expect(codeOf(await app.gql(CLOSE, { id: randomUUID() }, recorder))).toBe('NOT_FOUND');
    expect(codeOf(await app.gql(CLOSE, { id: randomUUID(), input: { exitCode: 1 } }, admin))).toBe('NOT_FOUND');
  });

  it('appending to an unknown id is NOT_FOUND', async () => {
    expect(codeOf(await append(randomUUID(), 0, [ev(0, 'o', 'x')]))).toBe('NOT_FOUND');
  });
});

describe('unexpected errors', () => {
  it('are masked: no stack, SQL or driver detail reaches the client', async () => {
    // PostgreSQL text and jsonb cannot hold U+0000: the database refuses these inputs.
    const inputs = [
      { verb: 'EXEC', type: 'database', roleName: 'pg\u0000prod' },
      { verb: 'EXEC', type: 'database', roleName: 'pg', metadata: { note: 'a\u0000b' } },
      { verb: 'EXEC', type: 'database', roleName: 'pg', script: 'SELECT \u0000' },
    ];
    for (const input of inputs) {
      const res = await app.gql(OPEN, { input }, recorder);
      const error = failed(res);
      expect(res.data?.openSession ?? null).toBeNull();
      const text = JSON.stringify(res.errors);
      expect(text).not.toMatch(/prisma|invalid byte|0x00|unicode escape|\bat \S+:\d+|\.ts\b|\.js\b|select |insert |postgres|pglite|P20\d\d|22021|22P05/i);
      if (error.extensions?.code === 'INTERNAL_SERVER_ERROR') {
        expect(Object.keys(error.extensions)).toEqual(['code']);
      } else {
        expect(error.extensions?.code).toBe('BAD_USER_INPUT');
      }
    }
  });
});
