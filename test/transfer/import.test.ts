import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { prisma } from '../../src/db/client.ts';
import { importSessions } from '../../src/transfer/import.ts';
import { startTestApp, type TestApp } from '../support/app.ts';
import { codeOf } from '../support/graphql.ts';
import { APPEND, b64, fromVector, sizeOf, type AppendResult, type Kind } from '../support/ingest.ts';
import {
  capture,
  EXEC_ID,
  EXEC_SESSION,
  PG_ID,
  records,
  SESSION_QUERY,
  SESSIONS,
  SSH_ID,
  tempDir,
  writeJson,
} from './helpers.ts';

let app: TestApp;
let orgId: string;
let adminKey: string;
let dir: string;

beforeAll(async () => {
  app = await startTestApp();
  orgId = await app.org('acme');
  adminKey = await app.key(orgId, 'ADMIN', 'admin');
  dir = tempDir();
});

afterAll(async () => {
  await app?.close();
  if (dir) fs.rmSync(dir, { recursive: true, force: true });
});

async function readBack(id: string, key = adminKey) {
  const res = await app.gql<{ session: Record<string, unknown> | null }>(SESSION_QUERY, { id }, key);
  expect(res.errors).toBeUndefined();
  return res.data!.session;
}

const quiet = () => capture().stream;

/** An exec session in hoop's shape, with the attributes a test changes. */
function hoopSession(id: string, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    ...records(EXEC_SESSION)[0],
    id,
    review: null,
    ...extra,
  };
}

const uuid = (n: number) => `00000000-0000-4000-8000-${n.toString(16).padStart(12, '0')}`;

describe('import of hoop sessions', () => {
  it("imports the reference's full example and reads every attribute back through GraphQL", async () => {
    expect(await importSessions(EXEC_SESSION, orgId, quiet())).toEqual({ imported: 1, skipped: 0 });
    expect(await readBack(EXEC_ID)).toEqual({
      id: EXEC_ID,
      orgId,
      status: 'DONE',
      verb: 'EXEC',
      type: 'database',
      connectionSubtype: 'postgres',
      roleName: 'pgdemo',
      connection: 'pgdemo',
      resourceName: 'pgdemo',
      connectionTags: null,
      userId: 'nJ1xV3AS',
      userEmail: 'john@example.com',
      userName: 'John Wick',
      identityType: 'USER',
      machineIdentityId: null,
      // reel keeps milliseconds: .317601 → .317
      startDate: '2024-07-25T15:56:35.317Z',
      endDate: '2024-07-25T15:56:36.100Z',
      exitCode: 0,
      correlationId: null,
      sessionBatchId: null,
      metadata: { reason: 'fix-issue' },
      integrationsMetadata: null,
      metrics: {
        // reel's event_size is payload bytes: 9 ("SELECT 1;") + 19 ("?column?\n1\n(1 row)\n"), not hoop's 75.
        eventSize: 28,
        truncated: false,
        raw: {
          data_masking: { err_count: 0, info_types: {}, total_redact_count: 0, transformed_bytes: 0 },
          event_size: 28,
          truncated: false,
        },
        dataMasking: { errCount: 0, infoTypes: {}, totalRedactCount: 0, transformedBytes: 0 },
      },
      review: {
        id: '9b2f4c1e-3d5a-4e6f-8a7b-1c2d3e4f5a6b',
        type: 'JIT',
        status: 'APPROVED',
        accessDurationSec: 3600,
        createdAt: '2024-07-25T15:50:12.000Z',
        revokeAt: '2024-07-25T16:56:35.310Z',
        timeWindow: { type: 'time_range', configuration: { start_time: '09:00', end_time: '18:00' } },
        accessRequestRuleName: 'prod-db-access',
        minApprovals: 1,
        forceApprovalGroups: ['sre'],
        rejectionReason: null,
        groups: [
          {
            id: '0d9c8b7a-6f5e-4d3c-9b2a-1f0e9d8c7b6a',
            group: 'dba',
            status: 'APPROVED',
            reviewedBy: { id: 'c1d2e3f4-a5b6-4c7d-8e9f-0a1b2c3d4e5f', name: 'Ada Lovelace', email: 'ada@example.com', slackId: 'U024BE7LH' },
            reviewDate: '2024-07-25T15:55:01.500Z',
            forcedReview: false,
          },
          {
            id: '1e2d3c4b-5a6f-4e7d-8c9b-0a1f2e3d4c5b',
            group: 'sre',
            status: 'PENDING',
            reviewedBy: null,
            reviewDate: null,
            forcedReview: true,
          },
        ],
      },
      aiAnalysis: null,
      guardrailsInfo: [],
      script: { data: 'SELECT 1;' },
      scriptSize: 9,
      eventSize: 28,
      eventStream: [
        [0.268589438, 'i', 'U0VMRUNUIDE7'],
        [0.5, 'o', 'P2NvbHVtbj8KMQooMSByb3cpCg=='],
      ],
    });
    // Stored as appendSessionEvents stores them: counters on the session, one sequence of one part.
    const row = await prisma().session.findUniqueOrThrow({ where: { id: EXEC_ID } });
    expect([row.eventCount, row.inputBytes, row.outputBytes, row.errorBytes, row.nextSequence]).toEqual([2n, 9n, 19n, 0n, 1]);
    const chunks = await prisma().sessionEventChunk.findMany({ where: { sessionId: EXEC_ID } });
    expect(chunks.map((c) => [c.sequence, c.part, c.eventCount, c.payloadBytes])).toEqual([[0, 0, 2, 28]]);
  });

  it('imports an array, mapping every attribute (gorm "" → null, lowercase enums, metrics, AI analysis, guardrails)', async () => {
    expect(await importSessions(SESSIONS, orgId, quiet())).toEqual({ imported: 2, skipped: 0 });
    const [ssh, pg] = records(SESSIONS) as [Record<string, unknown>, Record<string, unknown>];
    expect(await readBack(SSH_ID)).toEqual({
      id: SSH_ID,
      orgId,
      status: 'DONE',
      verb: 'CONNECT',
      type: 'custom',
      connectionSubtype: 'ssh',
      roleName: 'web-1',
      connection: 'web-1',
      resourceName: null,
      connectionTags: { env: 'prod', team: 'banking' },
      userId: null,
      userEmail: null,
      userName: null,
      identityType: 'MACHINE',
      machineIdentityId: '7c0e5f1a-2b3d-4e5f-8a9b-0c1d2e3f4a5b',
      startDate: '2024-07-25T18:01:02.123Z',
      endDate: '2024-07-25T18:05:00.000Z',
      exitCode: 254,
      correlationId: 'workflow-2024-07-25/run 1',
      sessionBatchId: 'batch-7',
      metadata: ssh.metadata,
      integrationsMetadata: ssh.integrations_metadata,
      metrics: {
        eventSize: 86,
        truncated: true,
        raw: { ...(ssh.metrics as object), event_size: 86 },
        dataMasking: { errCount: 1, infoTypes: { EMAIL_ADDRESS: 1, PHONE_NUMBER: 3 }, totalRedactCount: 4, transformedBytes: 31 },
      },
      review: null,
      aiAnalysis: {
        riskLevel: 'high',
        title: 'Destructive command',
        explanation: 'Deletes the application directory.',
        action: 'block_execution',
        summary: 'rm -rf on /srv/app',
        model: 'gpt-x',
        steps: [
          { type: 'thinking', thinking: 'The command removes files.', toolName: null, toolInput: null, toolOutput: null, isError: null, timestamp: '2024-07-25T18:01:03Z' },
          { type: 'tool_call', thinking: null, toolName: 'lookup', toolInput: { path: '/srv/app', b: 1, a: [2, { z: 1, y: 2 }] }, toolOutput: null, isError: null, timestamp: '2024-07-25T18:01:04Z' },
          { type: 'tool_result', thinking: null, toolName: 'lookup', toolInput: null, toolOutput: 'production code', isError: false, timestamp: '2024-07-25T18:01:05Z' },
        ],
      },
      guardrailsInfo: [
        { ruleName: 'no-rm', rule: { type: 'deny_words_list', words: ['rm -rf'], patternRegex: null }, direction: 'input', matchedWords: ['rm -rf'], message: 'destructive command blocked' },
        { ruleName: 'secrets', rule: { type: 'pattern_match', words: [], patternRegex: 'AKIA[0-9A-Z]{16}' }, direction: 'output', matchedWords: [], message: null },
      ],
      // A CONNECT session with hoop's {"data": ""}: no script.
      script: null,
      scriptSize: 0,
      eventSize: 86,
      eventStream: ssh.event_stream,
    });
    const readPg = await readBack(PG_ID);
    expect(readPg).toMatchObject({
      status: 'OPEN',
      verb: 'CONNECT',
      userId: 'auth0|bob',
      userEmail: 'bob@example.com',
      resourceName: 'pg-cluster',
      endDate: null,
      exitCode: null,
      metrics: null,
      metadata: null,
      identityType: 'USER',
      review: {
        id: '5e4d3c2b-1a09-4f8e-b7d6-c5b4a3928170',
        type: 'ONETIME',
        status: 'APPROVED',
        accessDurationSec: 0,
        createdAt: '2024-07-26T08:00:00.500Z',
        revokeAt: null,
        timeWindow: null,
        accessRequestRuleName: null,
        minApprovals: null,
        forceApprovalGroups: [],
        groups: [],
      },
      eventStream: pg.event_stream,
    });
    // Postgres frames stored byte for byte: the wire-protocol rendering finds the queries.
    const queries = await app.gql<{ session: { eventStream: unknown } }>(
      'query ($id: ID!) { session(id: $id) { eventStream(format: RAW_QUERIES) } }',
      { id: PG_ID },
      adminKey,
    );
    expect(queries.data?.session.eventStream).toEqual([
      [0.4, 'i', b64('select now();')],
      [0.5, 'i', b64('SELECT $1::int')],
      [0.9, 'i', b64('SELECT 2')],
    ]);
  });

  it("an imported session's events are stored as appendSessionEvents stores them: a retry of the call is recognised", async () => {
    const events = (records(SESSIONS)[1]!.event_stream as [number, Kind, string][]).map(fromVector);
    const retried = await app.gql<AppendResult>(APPEND, { id: PG_ID, seq: 0, events }, adminKey);
    expect(retried.errors).toBeUndefined();
    expect(retried.data?.appendSessionEvents).toEqual({ sequence: 0, eventCount: 7, eventSize: sizeOf(events) });
    const different = await app.gql(APPEND, { id: PG_ID, seq: 0, events: events.slice(1) }, adminKey);
    expect(codeOf(different)).toBe('CONFLICT');
  });

  it('an imported OPEN session takes further appends at its next sequence', async () => {
    const res = await app.gql<{ appendSessionEvents: { sequence: number; eventCount: number } }>(
      'mutation ($id: ID!) { appendSessionEvents(sessionId: $id, sequence: 1, events: [{time: 2, type: INPUT, data: "WAAAAAQ="}]) { sequence eventCount } }',
      { id: PG_ID },
      adminKey,
    );
    expect(res.errors).toBeUndefined();
    expect(res.data?.appendSessionEvents).toEqual({ sequence: 1, eventCount: 8 });
  });

  it('skips sessions already in the org when imported again', async () => {
    expect(await importSessions(SESSIONS, orgId, quiet())).toEqual({ imported: 0, skipped: 2 });
    expect(await importSessions(EXEC_SESSION, orgId, quiet())).toEqual({ imported: 0, skipped: 1 });
    // A duplicate within one file is skipped the same way.
    const file = writeJson(dir, 'dup.json', [hoopSession(uuid(1)), hoopSession(uuid(1))]);
    expect(await importSessions(file, orgId, quiet())).toEqual({ imported: 1, skipped: 1 });
  });

  it('two imports of one file at once: one imports, the other skips', async () => {
    const file = writeJson(dir, 'race.json', [hoopSession(uuid(2)), hoopSession(uuid(3))]);
    const results = await Promise.all([importSessions(file, orgId, quiet()), importSessions(file, orgId, quiet())]);
    expect(results[0]!.imported + results[1]!.imported).toBe(2);
    expect(results[0]!.skipped + results[1]!.skipped).toBe(2);
    expect(await prisma().sessionEventChunk.count({ where: { sessionId: { in: [uuid(2), uuid(3)] } } })).toBe(2);
  });

  it("refuses a review whose id another session's review has, importing nothing of that record", async () => {
    const review = records(EXEC_SESSION)[0]!.review as Record<string, unknown>;
    const file = writeJson(dir, 'review-taken.json', hoopSession(uuid(4), { review: { ...review, review_groups_data: [] } }));
    await expect(importSessions(file, orgId, quiet())).rejects.toThrow(
      `record 1 (id ${uuid(4)}): its review (or a review group) has an id already used by another session`,
    );
    expect(await prisma().session.count({ where: { id: uuid(4) } })).toBe(0);
  });

  it('refuses a session whose id belongs to another org', async () => {
    const other = await app.org('other');
    await expect(importSessions(EXEC_SESSION, other, quiet())).rejects.toThrow(
      `record 1 (id ${EXEC_ID}): a session with this id exists in another organisation`,
    );
    expect(await prisma().session.count({ where: { orgId: other } })).toBe(0);
  });

  it.each([
    [
      'bad base64',
      { event_stream: [[0, 'i', 'U0VMRUNUIDE7'], [0.1, 'o', 'not base64!']] },
      'event_stream[1] data is not valid base64',
    ],
    ['non-canonical base64', { event_stream: [[0, 'o', 'QR==']] }, 'event_stream[0] data is not valid base64'],
    ['a bad status', { status: 'finished' }, 'status must be one of open, ready, done (got "finished")'],
    ['a bad verb', { verb: 42 }, 'verb must be one of connect, exec (got 42)'],
    ['a negative event time', { event_stream: [[-1, 'o', 'YQ==']] }, 'event_stream[0] time must be a number of seconds ≥ 0, not -1'],
    ['an unknown event type', { event_stream: [[1, 'x', 'YQ==']] }, 'event_stream[0] type must be "i", "o" or "e", not "x"'],
    ['a short tuple', { event_stream: [[1, 'o']] }, 'event_stream[0] must be a [time, type, data] tuple'],
    [
      'a rendered stream',
      { event_stream: ['?column?\n1\n(1 row)\n'] },
      'event_stream[0] is a string: this is a rendered stream (event_stream=utf8 or base64); export the sessions from hoop without the event_stream parameter',
    ],
    ['a missing type', { type: '' }, 'type is required'],
    ['a missing start date', { start_date: null }, 'start_date is required'],
    ['a bad start date', { start_date: '2024-02-30T00:00:00Z' }, 'start_date must be an RFC 3339 timestamp (got "2024-02-30T00:00:00Z")'],
    ['an end before the start', { end_date: '2024-07-25T15:00:00Z' }, 'end_date must not be before start_date'],
    ['metadata that is not an object', { metadata: ['a'] }, 'metadata must be a JSON object or null, not an array'],
    ['a long role name', { role_name: 'r'.repeat(256) }, 'role_name must be at most 255 characters'],
    ['a non-ASCII correlation id', { correlation_id: 'café' }, 'correlation_id must be printable ASCII'],
    ['a NUL in metadata', { metadata: { a: 'x\u0000y' } }, 'metadata.a contains a NUL character (U+0000), which cannot be stored'],
    ['a lone surrogate', { user_name: 'x\ud800' }, 'user_name contains an unpaired surrogate (invalid Unicode), which cannot be stored'],
    ['a fractional exit code', { exit_code: 1.5 }, 'exit_code must be an integer from -2147483648 to 2147483647, not 1.5'],
    ['metadata nested too deep', { metadata: { a: JSON.parse('['.repeat(300) + ']'.repeat(300)) } }, 'metadata is nested deeper than 256 levels'],
    [
      'a bad review group',
      { review: { type: 'jit', status: 'APPROVED', access_duration: 60e9, review_groups_data: [{ group: 'dba', status: 'MAYBE' }] } },
      'review.review_groups_data[0].status must be one of pending, approved, rejected, revoked, processing, executed, unknown (got "MAYBE")',
    ],
    [
      'an AI analysis without a title',
      { ai_analysis: { risk_level: 'high', explanation: 'x', action: 'block_execution' } },
      'ai_analysis.title is required',
    ],
    [
      'an AI analysis step whose is_error is not a boolean',
      { ai_analysis: { risk_level: 'high', title: 't', explanation: 'x', action: 'a', steps: [{ type: 'thinking' }, { type: 'tool_result', is_error: 'no' }] } },
      'ai_analysis.steps[1].is_error must be true or false, not "no"',
    ],
    ['an AI analysis that is a list', { ai_analysis: [] }, 'ai_analysis must be a JSON object or null, not an array'],
    [
      'a guardrail without a rule',
      { guardrails_info: [{ rule_name: 'no-rm', direction: 'input' }] },
      'guardrails_info[0].rule is required',
    ],
    [
      'a guardrail whose matched words are not strings',
      { guardrails_info: [{ rule_name: 'no-rm', rule: { type: 'deny_words_list' }, direction: 'input', matched_words: ['rm', 1] }] },
      'guardrails_info[0].matched_words[1] must be a string, not 1',
    ],
    ['guardrails that are not a list', { guardrails_info: { rule_name: 'no-rm' } }, 'guardrails_info must be an array, not an object'],
    [
      'a data-masking count that is not an integer',
      { metrics: { data_masking: { err_count: 1.5, info_types: {}, total_redact_count: 0, transformed_bytes: 0 } } },
      'metrics.data_masking.err_count must be an integer, not 1.5',
    ],
    ['a truncated flag that is not a boolean', { metrics: { truncated: 'yes' } }, 'metrics.truncated must be true or false, not "yes"'],
    [
      'a reviewer whose email is not a string',
      {
        review: {
          type: 'jit',
          status: 'APPROVED',
          access_duration: 60e9,
          review_groups_data: [{ group: 'dba', status: 'APPROVED', reviewed_by: { email: 5, slack_id: '' } }],
        },
      },
      'review.review_groups_data[0].reviewed_by.email must be a string, not 5',
    ],
    [
      'a fractional access duration',
      { review: { type: 'jit', status: 'APPROVED', access_duration: 1500000000 } },
      'review.access_duration must be a whole number of seconds in nanoseconds, not 1500000000',
    ],
  ])('stops at the first bad record (%s), naming it, with nothing of it imported', async (_what, change, reason) => {
    const base = 100 + Math.floor(Math.random() * 1e9);
    const ids = [uuid(base), uuid(base + 1), uuid(base + 2), uuid(base + 3)];
    const file = writeJson(dir, `bad-${base}.json`, [
      hoopSession(ids[0]!),
      hoopSession(ids[1]!),
      hoopSession(ids[2]!, change),
      hoopSession(ids[3]!),
    ]);
    await expect(importSessions(file, orgId, quiet())).rejects.toThrow(`record 3 (id ${ids[2]}): ${reason}`);
    // Records before it are in, the bad one and the ones after it are not.
    const found = await prisma().session.findMany({ where: { id: { in: ids } }, select: { id: true } });
    expect(found.map((s) => s.id).sort()).toEqual([ids[0], ids[1]].sort());
    expect(await prisma().sessionEventChunk.count({ where: { sessionId: ids[2] } })).toBe(0);
    expect(await prisma().review.count({ where: { sessionId: ids[2] } })).toBe(0);
  });

  it('reports records that are not sessions, a missing id and broken JSON with their position', async () => {
    const notObject = writeJson(dir, 'not-object.json', [hoopSession(uuid(9000)), 42]);
    await expect(importSessions(notObject, orgId, quiet())).rejects.toThrow('record 2: a session must be a JSON object, not 42');
    const noId = writeJson(dir, 'no-id.json', { ...hoopSession(uuid(9001)), id: undefined });
    await expect(importSessions(noId, orgId, quiet())).rejects.toThrow('record 1: id is required');
    const badId = writeJson(dir, 'bad-id.json', { ...hoopSession(uuid(9001)), id: 'abc' });
    await expect(importSessions(badId, orgId, quiet())).rejects.toThrow('record 1 (id abc): id must be a UUID (got "abc")');

    const broken = path.join(dir, 'broken.json');
    fs.writeFileSync(broken, `[\n${JSON.stringify(hoopSession(uuid(9002)))},\n{"id": "${uuid(9003)}",\n "status": done}\n]`);
    await expect(importSessions(broken, orgId, quiet())).rejects.toThrow(
      new RegExp(`^record 2 \\(id ${uuid(9003)}\\): invalid JSON at line 4, column 12 \\(character \\d+\\): expected a value$`),
    );
    expect(await prisma().session.count({ where: { id: uuid(9002) } })).toBe(1);

    // Between two records: no record named, the position says where.
    const missingComma = path.join(dir, 'missing-comma.json');
    fs.writeFileSync(missingComma, `[${JSON.stringify(hoopSession(uuid(9005)))}\n${JSON.stringify(hoopSession(uuid(9006)))}]`);
    await expect(importSessions(missingComma, orgId, quiet())).rejects.toThrow(/^invalid JSON at line 2, column 1 \(character \d+\): expected ','$/);
    expect(await prisma().session.count({ where: { id: { in: [uuid(9005), uuid(9006)] } } })).toBe(1);

    const truncated = path.join(dir, 'truncated.json');
    fs.writeFileSync(truncated, JSON.stringify(hoopSession(uuid(9004))).slice(0, 300));
    await expect(importSessions(truncated, orgId, quiet())).rejects.toThrow(/^record 1 \(id [0-9a-f-]+\): invalid JSON at line 1, column \d+ \(character \d+\): /);
    expect(await prisma().session.count({ where: { id: uuid(9004) } })).toBe(0);

    const scalar = writeJson(dir, 'scalar.json', 'sessions');
    await expect(importSessions(scalar, orgId, quiet())).rejects.toThrow('expected a session object or an array of sessions, not "sessions"');
    const empty = writeJson(dir, 'empty.json', []);
    expect(await importSessions(empty, orgId, quiet())).toEqual({ imported: 0, skipped: 0 });
  });

  it('accepts a UTF-8 byte order mark at the start of the file', async () => {
    const file = path.join(dir, 'bom.json');
    fs.writeFileSync(file, `\ufeff${JSON.stringify([hoopSession(uuid(9100))])}`);
    expect(await importSessions(file, orgId, quiet())).toEqual({ imported: 1, skipped: 0 });
  });

  it('imports a session larger than memory spooling allows, in several sequences, byte for byte', async () => {
    const id = uuid(7777);
    // 3000 events of 1..4 KiB plus a 3 MiB one: several 1 MiB sequences, one oversized event on its own.
    const payloads: Buffer[] = [];
    for (let i = 0; i < 3000; i++) payloads.push(Buffer.alloc(1024 + (i % 3072), i % 251));
    payloads.splice(1500, 0, Buffer.alloc(3 * 1024 * 1024, 7));
    const events = payloads.map((p, i) => [i / 1000, i % 5 === 0 ? 'i' : 'o', p.toString('base64')]);
    const file = writeJson(dir, 'large.json', hoopSession(id, { event_stream: events }));
    const spools = () => fs.readdirSync(os.tmpdir()).filter((f) => f.startsWith('reel-import-'));
    const before = spools();
    const result = await importSessions(file, orgId, quiet(), { spoolMemoryBytes: 2 * 1024 * 1024 });
    expect(result).toEqual({ imported: 1, skipped: 0 });
    expect(spools()).toEqual(before);
    const row = await prisma().session.findUniqueOrThrow({ where: { id } });
    const total = payloads.reduce((n, p) => n + p.length, 0);
    expect(Number(row.inputBytes + row.outputBytes + row.errorBytes)).toBe(total);
    expect(Number(row.eventCount)).toBe(payloads.length);
    expect(row.nextSequence).toBeGreaterThan(8);
    const chunks = await prisma().sessionEventChunk.findMany({ where: { sessionId: id }, orderBy: [{ sequence: 'asc' }, { part: 'asc' }] });
    expect(chunks.length).toBe(row.nextSequence);
    expect(chunks.every((c) => c.part === 0)).toBe(true);
    expect(chunks.reduce((n, c) => n + c.eventCount, 0)).toBe(payloads.length);
    const { readEvents } = await import('../../src/sessions/read-events.ts');
    let i = 0;
    for await (const ev of readEvents(id)) {
      expect(ev.time).toBe(events[i]![0]);
      expect(ev.type).toBe(events[i]![1]);
      expect(Buffer.from(ev.data).equals(payloads[i]!)).toBe(true);
      i++;
    }
    expect(i).toBe(payloads.length);
  });

  it('shows progress: occasional lines on a pipe, one updating line on a terminal', async () => {
    const file = writeJson(
      dir,
      'progress.json',
      Array.from({ length: 3 }, (_, i) => hoopSession(uuid(8000 + i))),
    );
    const lines = capture();
    await importSessions(file, orgId, lines.stream, { progress: { minBytes: 0, delayMs: 0, intervalMs: 0 } });
    const text = lines.text();
    expect(text).toMatch(/^importing progress\.json: 0\.0 MiB of 0\.0 MiB \(\d+%\), \d session\(s\) imported, 0 skipped\n/);
    expect(text.trimEnd().split('\n').at(-1)).toBe('importing progress.json: 0.0 MiB of 0.0 MiB (100%), 3 session(s) imported, 0 skipped');

    const tty = capture();
    Object.assign(tty.stream, { isTTY: true });
    const again = await importSessions(file, orgId, tty.stream, { progress: { minBytes: 0, delayMs: 0, intervalMs: 0 } });
    expect(again).toEqual({ imported: 0, skipped: 3 });
    expect(tty.text()).not.toContain('\n');
    expect(tty.text().startsWith('\rimporting progress.json: ')).toBe(true);
    expect(tty.text().endsWith('\r\x1b[K')).toBe(true);

    // A small file shows nothing, however long it takes.
    const silent = capture();
    await importSessions(file, orgId, silent.stream, { progress: { delayMs: 0, intervalMs: 0 } });
    expect(silent.text()).toBe('');
  });
});
