import fs from 'node:fs';
import path from 'node:path';
import { Writable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { prisma } from '../../src/db/client.ts';
import { exportSessions, goJson, goTime } from '../../src/transfer/export.ts';
import { importSessions } from '../../src/transfer/import.ts';
import { startTestApp, type TestApp } from '../support/app.ts';
import { APPEND, ev } from '../support/ingest.ts';
import { capture, EXEC_ID, EXEC_SESSION, PG_ID, SESSIONS, SSH_ID, tempDir } from './helpers.ts';

let app: TestApp;
let orgA: string;
let orgB: string;
let keyA: string;
let keyB: string;
let dir: string;

beforeAll(async () => {
  app = await startTestApp();
  orgA = await app.org('a');
  orgB = await app.org('b');
  keyA = await app.key(orgA, 'ADMIN', 'admin-a');
  keyB = await app.key(orgB, 'ADMIN', 'admin-b');
  dir = tempDir();
  const quiet = capture().stream;
  await importSessions(EXEC_SESSION, orgA, quiet);
  await importSessions(SESSIONS, orgA, quiet);
});

afterAll(async () => {
  await app?.close();
  if (dir) fs.rmSync(dir, { recursive: true, force: true });
});

async function exported(ids: string[], orgId: string): Promise<string> {
  const out = capture();
  await exportSessions(ids, orgId, out.stream);
  return out.text();
}

/** hoop's key order (docs/api.md §11.1), `?` keys only when set. */
const KEY_ORDER = [
  'id', 'org_id', 'script', 'script_size', 'labels', 'integrations_metadata', 'metadata', 'metrics', 'user', 'user_id',
  'user_name', 'type', 'connection_subtype', 'connection', 'resource_name', 'role_name', 'connection_tags', 'review',
  'verb', 'status', 'exit_code', 'integrity', 'event_stream', 'event_size', 'session_batch_id', 'correlation_id', 'start_date',
  'end_date', 'ai_analysis', 'guardrails_info', 'identity_type', 'machine_identity_id',
];

describe('export in the reference shape', () => {
  it("writes the reference's example as hoop would, with reel's sizes", async () => {
    const exportedText = await exported([EXEC_ID], orgA);
    // reel's integrity block (docs/integrity.md) comes before the events; its signature depends on
    // the server's key, so it is checked by shape here and verified in test/trust/integrity.test.ts.
    const integrity = /"integrity":(\{[^}]*\}),/.exec(exportedText);
    expect(JSON.parse(integrity![1]!)).toEqual({
      algorithm: 'sha256-chain',
      digest: expect.stringMatching(/^[0-9a-f]{64}$/),
      append_count: 1,
      signature: expect.any(String),
      key_id: expect.stringMatching(/^[0-9a-f]{16}$/),
      append_events: [2],
    });
    const text = exportedText.replace(integrity![0], '');
    const review =
      '{"id":"9b2f4c1e-3d5a-4e6f-8a7b-1c2d3e4f5a6b","type":"jit","access_duration":3600000000000,"status":"APPROVED",' +
      '"revoke_at":"2024-07-25T16:56:35.31Z","created_at":"2024-07-25T15:50:12Z","review_groups_data":[' +
      '{"id":"0d9c8b7a-6f5e-4d3c-9b2a-1f0e9d8c7b6a","group":"dba","status":"APPROVED","reviewed_by":{"id":"c1d2e3f4-a5b6-4c7d-8e9f-0a1b2c3d4e5f","name":"Ada Lovelace","email":"ada@example.com","slack_id":"U024BE7LH"},"review_date":"2024-07-25T15:55:01.5Z","forced_review":false},' +
      '{"id":"1e2d3c4b-5a6f-4e7d-8c9b-0a1f2e3d4c5b","group":"sre","status":"PENDING","reviewed_by":null,"review_date":null,"forced_review":true}],' +
      '"time_window":{"configuration":{"end_time":"18:00","start_time":"09:00"},"type":"time_range"},' +
      '"access_request_rule_name":"prod-db-access","min_approvals":1,"force_approval_groups":["sre"]}';
    expect(text).toBe(
      '[\n' +
        `{"id":"${EXEC_ID}","org_id":"${orgA}","script":{"data":"SELECT 1;"},"script_size":9,"labels":null,"integrations_metadata":null,` +
        '"metadata":{"reason":"fix-issue"},' +
        '"metrics":{"data_masking":{"err_count":0,"info_types":{},"total_redact_count":0,"transformed_bytes":0},"event_size":28,"truncated":false},' +
        '"user":"john@example.com","user_id":"nJ1xV3AS","user_name":"John Wick","type":"database",' +
        '"connection_subtype":"postgres","connection":"pgdemo","resource_name":"pgdemo","role_name":"pgdemo",' +
        `"connection_tags":null,"review":${review},"verb":"exec","status":"done","exit_code":0,` +
        '"event_stream":[[0.268589438,"i","U0VMRUNUIDE7"],[0.5,"o","P2NvbHVtbj8KMQooMSByb3cpCg=="]],"event_size":28,' +
        '"start_date":"2024-07-25T15:56:35.317Z","end_date":"2024-07-25T15:56:36.1Z",' +
        '"ai_analysis":null,"guardrails_info":null,"identity_type":"user"}' +
        '\n]\n',
    );
  });

  it("keeps hoop's key order, its empty-string and omitted attributes, and Go's sorted maps", async () => {
    const [ssh, pg] = JSON.parse(await exported([SSH_ID, PG_ID], orgA)) as Record<string, unknown>[];
    expect(Object.keys(ssh!)).toEqual(KEY_ORDER);
    expect(Object.keys(pg!)).toEqual(KEY_ORDER.filter((k) => !['session_batch_id', 'correlation_id', 'machine_identity_id'].includes(k)));
    expect(ssh).toMatchObject({
      script: { data: '' },
      user: '',
      user_id: '',
      user_name: '',
      resource_name: '',
      session_batch_id: 'batch-7',
      correlation_id: 'workflow-2024-07-25/run 1',
      verb: 'connect',
      identity_type: 'machine',
      machine_identity_id: '7c0e5f1a-2b3d-4e5f-8a9b-0c1d2e3f4a5b',
      start_date: '2024-07-25T18:01:02.123Z',
      end_date: '2024-07-25T18:05:00Z',
      event_size: 86,
    });
    expect(Object.keys(ssh!.ai_analysis as object)).toEqual(['risk_level', 'title', 'explanation', 'action', 'summary', 'model', 'steps']);
    expect(Object.keys((ssh!.guardrails_info as object[])[1]!)).toEqual(['rule_name', 'rule', 'direction']);
    expect(pg).toMatchObject({ status: 'open', end_date: null, exit_code: null, metrics: null, guardrails_info: null, ai_analysis: null });
    expect(pg!.review).toEqual({
      id: '5e4d3c2b-1a09-4f8e-b7d6-c5b4a3928170',
      type: 'onetime',
      access_duration: 0,
      status: 'APPROVED',
      revoke_at: null,
      created_at: '2024-07-26T08:00:00.5Z',
      review_groups_data: [],
      time_window: null,
      access_request_rule_name: null,
      min_approvals: null,
      force_approval_groups: [],
    });
  });

  it('formats like Go: times without trailing zeros, map keys in byte order at every level', () => {
    expect(goTime(new Date('2024-07-25T15:56:35.310Z'))).toBe('2024-07-25T15:56:35.31Z');
    expect(goTime(new Date('2024-07-25T15:56:35.000Z'))).toBe('2024-07-25T15:56:35Z');
    expect(goTime(new Date('2024-07-25T15:56:35.123Z'))).toBe('2024-07-25T15:56:35.123Z');
    expect(goJson({ b: 1, a: { d: [{ z: 1, y: 2 }], c: null }, '10': 1, '9': 2, é: 0, z: 'x' })).toBe(
      '{"10":1,"9":2,"a":{"c":null,"d":[{"y":2,"z":1}]},"b":1,"z":"x","é":0}',
    );
  });

  it('refuses an unknown, malformed or other org id before writing anything', async () => {
    const other = '00000000-0000-4000-8000-000000000404';
    for (const [ids, org, missing] of [
      [[EXEC_ID, other], orgA, other],
      [[EXEC_ID], orgB, EXEC_ID],
      [[SSH_ID, 'nope'], orgA, 'nope'],
    ] as const) {
      const out = capture();
      await expect(exportSessions([...ids], org, out.stream)).rejects.toThrow(`session ${missing} not found`);
      expect(out.text()).toBe('');
    }
    expect(await exported([], orgA)).toBe('[]\n');
  });

  it('waits for the output to drain: never writes past a full buffer', async () => {
    let writes = 0;
    let blocked = false;
    let violations = 0;
    const chunks: Buffer[] = [];
    const slow = new Writable({
      highWaterMark: 1024,
      write(chunk: Buffer, _enc, done) {
        chunks.push(chunk);
        setTimeout(done, 1);
      },
    });
    const write = slow.write.bind(slow);
    slow.write = ((chunk: Buffer | string, ...rest: never[]) => {
      writes++;
      if (blocked) violations++;
      const ok = write(chunk, ...rest);
      if (!ok) blocked = true;
      return ok;
    }) as typeof slow.write;
    slow.on('drain', () => (blocked = false));
    const id = await bigSession(orgA, 4000);
    await exportSessions([id, EXEC_ID], orgA, slow);
    expect(writes).toBeGreaterThan(10);
    expect(violations).toBe(0);
    expect(Buffer.concat(chunks).toString('utf8')).toBe(await exported([id, EXEC_ID], orgA));
  });

  it('round-trips through import into another org: same JSON but org_id, byte-identical events', async () => {
    const ingested = await ingestedSession();
    const big = await bigSession(orgA, 3000);
    const ids = [EXEC_ID, SSH_ID, PG_ID, ingested, big];
    const streamsBefore = await Promise.all(ids.map((id) => rawStream(id, keyA)));
    const first = await exported(ids, orgA);
    const file = path.join(dir, 'roundtrip.json');
    fs.writeFileSync(file, first);

    // Session ids are global: the first org's copies go before the second org takes them.
    await prisma().session.deleteMany({ where: { id: { in: ids } } });
    expect(await importSessions(file, orgB, capture().stream)).toEqual({ imported: ids.length, skipped: 0 });
    const second = await exported(ids, orgB);
    expect(second).toBe(first.replaceAll(`"org_id":"${orgA}"`, `"org_id":"${orgB}"`));
    expect(await Promise.all(ids.map((id) => rawStream(id, keyB)))).toEqual(streamsBefore);
  });
});

/** A session whose events span several stored chunks, with binary payloads and one event over 1 MiB. */
async function bigSession(orgId: string, count: number): Promise<string> {
  const id = `00000000-0000-4000-9000-${String(count).padStart(12, '0')}`;
  const events = Array.from({ length: count }, (_, i) => {
    const data = Buffer.alloc(i === 7 ? 1_500_000 : 100 + (i % 900));
    for (let k = 0; k < data.length; k++) data[k] = (i * 31 + k * 7) & 0xff;
    return [i * 0.001 + 1e-7, 'ioe'[i % 3], data.toString('base64')];
  });
  const session = JSON.parse(fs.readFileSync(EXEC_SESSION, 'utf8')) as Record<string, unknown>;
  const file = path.join(dir, `big-${count}.json`);
  fs.writeFileSync(
    file,
    JSON.stringify({
      ...session,
      id,
      event_stream: events,
      review: { ...(session.review as object), id: undefined, review_groups_data: [], rejection_reason: 'outside the window', status: 'REJECTED' },
    }),
  );
  expect(await importSessions(file, orgId, capture().stream)).toEqual({ imported: 1, skipped: 0 });
  return id;
}

/** A session recorded through the ingest mutations (reel's own stored shapes), closed with metrics. */
async function ingestedSession(): Promise<string> {
  const open = await app.gql<{ openSession: { id: string } }>(
    `mutation ($input: OpenSessionInput!) { openSession(input: $input) { id } }`,
    {
      input: {
        verb: 'EXEC',
        type: 'database',
        connectionSubtype: 'mysql',
        roleName: 'mysql-prod',
        userId: 'u1',
        userEmail: 'u1@example.com',
        startDate: '2024-08-01T10:00:00.250Z',
        script: 'SELECT "é";',
        metadata: { ticket: 'T-1' },
        review: {
          type: 'JIT',
          status: 'APPROVED',
          accessDurationSec: 900,
          groups: [{ group: 'dba', status: 'APPROVED', reviewedBy: { email: 'r@example.com', slackId: 'U1' }, reviewDate: '2024-08-01T09:59:00Z' }],
        },
      },
    },
    keyA,
  );
  expect(open.errors).toBeUndefined();
  const id = open.data!.openSession.id;
  const append = await app.gql(APPEND, { id, seq: 0, events: [ev(0.01, 'i', 'SELECT "é";'), ev(0.2, 'o', 'é\n')] }, keyA);
  expect(append.errors).toBeUndefined();
  const close = await app.gql(
    `mutation ($id: ID!) { closeSession(sessionId: $id, input: { exitCode: 0, endDate: "2024-08-01T10:00:01Z",
        metrics: { dataMasking: { errCount: 0, infoTypes: { EMAIL_ADDRESS: 2 }, totalRedactCount: 2, transformedBytes: 10 } },
        aiAnalysis: { riskLevel: "low", title: "t", explanation: "e", action: "allow_execution" },
        guardrailsInfo: [{ ruleName: "r", rule: { type: "deny_words_list", words: ["drop"] }, direction: "input" }] }) { id } }`,
    { id },
    keyA,
  );
  expect(close.errors).toBeUndefined();
  return id;
}

async function rawStream(id: string, key: string): Promise<unknown> {
  const res = await app.gql<{ session: { eventStream: unknown; eventSize: number } }>(
    'query ($id: ID!) { session(id: $id) { eventStream eventSize } }',
    { id },
    key,
  );
  expect(res.errors).toBeUndefined();
  return res.data!.session;
}
