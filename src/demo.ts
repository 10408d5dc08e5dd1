import type { Viewer } from './auth/keys.ts';
import { appendSessionEvents, closeSession, openSession, type OpenSessionInput } from './sessions/ingest.ts';
import type { EventType } from './sessions/event.ts';

/*
 * A few realistic sessions loaded into a brand-new embedded database, so every query in the README
 * works at once. They go through the same ingest path a recorder uses.
 */

type DemoEvent = [time: number, type: EventType, data: Uint8Array | string];

const text = (s: string) => Buffer.from(s, 'utf8');

/** A typed frontend message: type byte, Int32 length (counting itself), body. */
function message(type: string, body: Buffer): Buffer {
  const head = Buffer.alloc(5);
  head.write(type, 0, 'latin1');
  head.writeInt32BE(body.length + 4, 1);
  return Buffer.concat([head, body]);
}
const cstr = (s: string) => Buffer.concat([text(s), Buffer.from([0])]);
function untyped(body: Buffer): Buffer {
  const head = Buffer.alloc(4);
  head.writeInt32BE(body.length + 4);
  return Buffer.concat([head, body]);
}
const int16 = (n: number) => Buffer.from([(n >> 8) & 0xff, n & 0xff]);
const int32 = (n: number) => {
  const b = Buffer.alloc(4);
  b.writeInt32BE(n);
  return b;
};

function pgConnectStream(): DemoEvent[] {
  const sslRequest = untyped(int32(80877103));
  const startup = untyped(Buffer.concat([int32(196608), cstr('user'), cstr('alice'), cstr('database'), cstr('shop'), Buffer.from([0])]));
  const password = message('p', cstr('s3cr3t-never-shown'));
  const simple = message('Q', cstr("SELECT id, email FROM customers WHERE email LIKE '%@example.com' LIMIT 3;"));
  // Extended protocol, pipelined in one event as drivers send it: Parse, Bind, Describe, Execute, Sync.
  const parse = message('P', Buffer.concat([cstr(''), cstr('SELECT total FROM orders WHERE customer_id = $1'), int16(1), int32(23)]));
  const bind = message('B', Buffer.concat([cstr(''), cstr(''), int16(0), int16(1), int32(2), text('42'), int16(0)]));
  const describe = message('D', Buffer.concat([text('P'), cstr('')]));
  const execute = message('E', Buffer.concat([cstr(''), int32(0)]));
  const sync = message('S', Buffer.alloc(0));
  const pipelined = Buffer.concat([parse, bind, describe, execute, sync]);
  // A long query that the client's socket wrote in two pieces.
  const split = message('Q', cstr('UPDATE orders SET status = \'shipped\' WHERE id IN (SELECT id FROM orders WHERE status = \'paid\' ORDER BY created_at LIMIT 100);'));
  const terminate = message('X', Buffer.alloc(0));
  return [
    [0.001204, 'i', sslRequest],
    [0.003911, 'i', startup],
    [0.015337, 'i', password],
    [1.204518, 'i', simple],
    [3.50021, 'i', pipelined],
    [7.100004, 'i', split.subarray(0, 40)],
    [7.100213, 'i', split.subarray(40)],
    [9.84, 'i', terminate],
  ];
}

const ESC = '\x1b';
function shellStream(): DemoEvent[] {
  return [
    [0.05, 'o', `${ESC}[1;32mops@web-1${ESC}[0m:${ESC}[1;34m~${ESC}[0m$ `],
    [1.2, 'i', 'ls -la /srv/app\r'],
    [1.25, 'o', `ls -la /srv/app\r\ntotal 12\r\ndrwxr-xr-x 3 app app 4096 Jul 25 15:50 ${ESC}[1;34m.${ESC}[0m\r\n-rw-r--r-- 1 app app  220 Jul 25 15:50 README.md\r\n`],
    [1.26, 'o', `${ESC}[1;32mops@web-1${ESC}[0m:${ESC}[1;34m~${ESC}[0m$ `],
    [4.6, 'i', 'echo "déploiement terminé ✓"\r'],
    // A multi-byte character (✓, 3 bytes) split across two writes, as terminals do.
    [4.61, 'o', Buffer.concat([text('echo "déploiement terminé ✓"\r\ndéploiement terminé '), text('✓').subarray(0, 1)])],
    [4.611, 'o', Buffer.concat([text('✓').subarray(1), text('\r\n')])],
    [6.02, 'i', 'exit\r'],
    [6.05, 'o', 'logout\r\n'],
  ];
}

interface DemoSession {
  input: OpenSessionInput;
  events: DemoEvent[];
  close: Parameters<typeof closeSession>[2];
}

function demoSessions(now: Date): DemoSession[] {
  const at = (minutesAgo: number) => new Date(now.getTime() - minutesAgo * 60_000);
  return [
    {
      input: {
        verb: 'EXEC',
        type: 'database',
        connectionSubtype: 'postgres',
        roleName: 'pg-prod-readonly',
        resourceName: 'pg-prod',
        connectionTags: { team: 'banking', env: 'production' },
        userId: 'demo-alice',
        userEmail: 'alice@example.com',
        userName: 'Alice Example',
        startDate: at(90),
        correlationId: 'INC-2041',
        metadata: { reason: 'check yesterday\'s payouts' },
        script: 'SELECT id, amount, currency FROM payouts ORDER BY id LIMIT 3;',
      },
      events: [
        [0.268589438, 'i', 'SELECT id, amount, currency FROM payouts ORDER BY id LIMIT 3;'],
        [0.5, 'o', 'id\tamount\tcurrency\n1\t120.50\tEUR\n2\t-35.00\tEUR\n3\t9.99\tUSD\n(3 rows)\n'],
      ],
      close: {
        exitCode: 0,
        endDate: new Date(at(90).getTime() + 800),
        metrics: { dataMasking: { errCount: 0, infoTypes: {}, totalRedactCount: 0, transformedBytes: 0 }, truncated: false },
      },
    },
    {
      input: {
        verb: 'CONNECT',
        type: 'database',
        connectionSubtype: 'postgres',
        roleName: 'pg-shop',
        resourceName: 'shop-db',
        userId: 'demo-alice',
        userEmail: 'alice@example.com',
        userName: 'Alice Example',
        startDate: at(60),
        review: {
          type: 'JIT',
          status: 'APPROVED',
          accessDurationSec: 1800,
          accessRequestRuleName: 'prod-data-access',
          minApprovals: 1,
          groups: [{ group: 'dba', status: 'APPROVED', reviewedBy: { name: 'Bob DBA', email: 'bob@example.com' }, reviewDate: at(61) }],
        },
      },
      events: pgConnectStream(),
      close: {
        exitCode: 0,
        endDate: new Date(at(60).getTime() + 10_000),
        metrics: {
          dataMasking: { errCount: 0, infoTypes: { EMAIL_ADDRESS: 3 }, totalRedactCount: 3, transformedBytes: 57 },
          truncated: false,
        },
      },
    },
    {
      input: {
        verb: 'CONNECT',
        type: 'custom',
        connectionSubtype: 'ssh',
        roleName: 'web-1-ssh',
        userId: 'demo-carol',
        userEmail: 'carol@example.com',
        userName: 'Carol Ops',
        startDate: at(30),
        sessionBatchId: 'deploy-2024-07-25',
      },
      events: shellStream(),
      close: { exitCode: 0, endDate: new Date(at(30).getTime() + 6_100) },
    },
    {
      input: {
        verb: 'EXEC',
        type: 'database',
        connectionSubtype: 'postgres',
        roleName: 'pg-prod-readonly',
        resourceName: 'pg-prod',
        identityType: 'MACHINE',
        machineIdentityId: '6f1c2b1e-8a1d-4c55-9a43-2f5d0f0f7a11',
        userId: 'svc-reporting',
        startDate: at(10),
        script: 'DELETE FROM audit_log;',
        aiAnalysis: {
          riskLevel: 'high',
          title: 'Unbounded delete on an audit table',
          explanation: 'The statement removes every row of audit_log without a WHERE clause.',
          action: 'block_execution',
        },
        guardrailsInfo: [
          {
            ruleName: 'no-unbounded-deletes',
            rule: { type: 'pattern_match', patternRegex: '(?i)^\\s*delete\\s+from\\s+\\w+\\s*;?$' },
            direction: 'input',
            matchedWords: ['DELETE FROM audit_log'],
            message: 'Deleting a whole table is blocked by policy',
          },
        ],
      },
      events: [
        [0.01, 'i', 'DELETE FROM audit_log;'],
        [0.02, 'e', 'blocked by guardrail no-unbounded-deletes\n'],
      ],
      close: { exitCode: 254, endDate: new Date(at(10).getTime() + 50) },
    },
  ];
}

/** Loads the demo sessions into the viewer's org; returns their ids. */
export async function loadDemoSessions(viewer: Viewer, now = new Date()): Promise<string[]> {
  const limits = { maxAppendBytes: 1 << 24, maxAppendEvents: 1000 };
  const ids: string[] = [];
  for (const demo of demoSessions(now)) {
    const session = await openSession(viewer, demo.input);
    const events = demo.events.map(([time, type, data]) => ({
      time,
      type,
      data: Buffer.from(typeof data === 'string' ? text(data) : data).toString('base64'),
    }));
    // Two append calls, as a recorder flushing periodically would make.
    const half = Math.ceil(events.length / 2);
    await appendSessionEvents(viewer, session.id, 0, events.slice(0, half), limits);
    await appendSessionEvents(viewer, session.id, 1, events.slice(half), limits);
    await closeSession(viewer, session.id, demo.close);
    ids.push(session.id);
  }
  return ids;
}
