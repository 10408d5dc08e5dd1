import { describe, expect, it } from 'vitest';
import { PgFrontendParser } from '../../src/pgwire/parser.ts';
import { vectors } from '../support/vectors.ts';
import {
  PROTOCOL_3_0,
  PROTOCOL_3_2,
  bind,
  bytes,
  cancelRequest,
  close,
  copyData,
  copyDone,
  copyFail,
  cstr,
  describe as describeMessage,
  execute,
  flush,
  fromHex,
  functionCall,
  gssEncRequest,
  gssResponse,
  int32,
  parse,
  passwordMessage,
  query,
  run,
  runBytes,
  saslInitialResponse,
  saslResponse,
  split,
  sslRequest,
  startup,
  sync,
  terminate,
  typed,
  untyped,
} from './frames.ts';

const sqls = (found: Array<{ sql: string }>): string[] => found.map((f) => f.sql);

describe('PgFrontendParser: spec vectors', () => {
  it.each(vectors.pgwireVectors)('$hex', ({ hex, queries }) => {
    expect(sqls(run([fromHex(hex)]))).toEqual(queries);
  });

  it('reads a named Parse (reference unit test)', () => {
    const hex =
      '500000003f6765745f757365725f62795f69640053454c454354202a2046524f4d207573657273205748455245206964203d20243100000100000017';
    expect(sqls(run([fromHex(hex)]))).toEqual(['SELECT * FROM users WHERE id = $1']);
  });

  it('reads the reference worked example, one frame per event', () => {
    const events = [
      'AAAACATSFi8=',
      'AAAAHgADAAB1c2VyAGJvYgBkYXRhYmFzZQBkYgAA',
      'cAAAAAtzZWNyZXQA',
      'UQAAABJzZWxlY3Qgbm93KCk7AA==',
      'UAAAABoAU0VMRUNUICQxOjppbnQAAAEAAAAX',
      'QgAAAAwAAAAAAAAAAA==',
      'RQAAAAkAAAAAAA==',
      'UwAAAAQ=',
      'UAAAABJzMQBTRUxFQ1QgMgAAAA==',
      'WAAAAAQ=',
    ].map((b) => Uint8Array.from(Buffer.from(b, 'base64')));
    const times = [0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0];
    expect(run(events, times)).toEqual([
      { time: 0.4, sql: 'select now();' },
      { time: 0.5, sql: 'SELECT $1::int' },
      { time: 0.9, sql: 'SELECT 2' },
    ]);
  });
});

describe('PgFrontendParser: message types', () => {
  const secret = 'hunter2-very-secret';
  // Every frontend message of protocol 3.0 and 3.2 other than Query and Parse.
  const silent: Record<string, Uint8Array> = {
    'StartupMessage 3.0': startup(PROTOCOL_3_0, { user: 'bob', database: 'db', options: 'SELECT 1' }),
    'StartupMessage 3.2': startup(PROTOCOL_3_2, { user: 'bob', database: 'db', _pq_: 'x' }),
    SSLRequest: sslRequest(),
    GSSENCRequest: gssEncRequest(),
    'CancelRequest 3.0': cancelRequest(1234, bytes(int32(0x51000000))),
    'CancelRequest 3.2 (256-byte key)': cancelRequest(1234, new Uint8Array(256).fill(0x51)),
    PasswordMessage: passwordMessage(secret),
    SASLInitialResponse: saslInitialResponse('SCRAM-SHA-256', `n,,n=bob,r=${secret}`),
    SASLResponse: saslResponse(`c=biws,r=${secret},p=${secret}`),
    GSSResponse: gssResponse(bytes(secret, [0, 1, 2])),
    Bind: bind('', 's1', [bytes(secret), null, cstr('SELECT 3')]),
    Execute: execute('', 10),
    Sync: sync(),
    Flush: flush(),
    'Describe statement': describeMessage('S', 's1'),
    'Describe portal': describeMessage('P', ''),
    'Close statement': close('S', 's1'),
    'Close portal': close('P', 'p1'),
    CopyData: copyData(query('SELECT from copy data')),
    CopyDone: copyDone(),
    CopyFail: copyFail('SELECT 4'),
    FunctionCall: functionCall(1598, [bytes(secret)]),
    Terminate: terminate(),
  };

  it.each(Object.entries(silent))('%s yields no SQL', (_name, message) => {
    expect(run([message])).toEqual([]);
    // Nor does it disturb the message boundaries around it.
    expect(sqls(run([bytes(query('SELECT 0'), message, parse('', 'SELECT 9'))]))).toEqual(['SELECT 0', 'SELECT 9']);
  });

  it('yields only Query and Parse SQL from a full conversation, and never a password', () => {
    const stream = bytes(
      sslRequest(),
      startup(PROTOCOL_3_2, { user: 'bob', database: 'db' }),
      passwordMessage(secret),
      saslInitialResponse('SCRAM-SHA-256', secret),
      saslResponse(secret),
      gssResponse(secret),
      query('select now();'),
      ...Object.values(silent),
      parse('', 'SELECT $1::int', [23]),
      parse('s1', 'SELECT 2'),
      terminate(),
    );
    const found = runBytes([stream]);
    expect(found.map((f) => Buffer.from(f.sql).toString())).toEqual(['select now();', 'SELECT $1::int', 'SELECT 2']);
    for (const f of found) expect(Buffer.from(f.sql).includes(secret)).toBe(false);
  });

  it('does not read a password that looks like a message', () => {
    // Skipping by count, not by scanning, keeps the password's content out of reach.
    const disguised = bytes(query('SELECT "leak"'));
    expect(run([bytes(typed('p', disguised), typed('p', cstr(bytes(disguised))))])).toEqual([]);
  });

  it('keeps SQL bytes exactly, including invalid UTF-8', () => {
    const sql = bytes([0xff, 0xfe, 0x41, 0xc3]);
    const [found] = runBytes([bytes(query(sql))]);
    expect(found?.sql).toEqual(sql);
  });

  it('does not report empty SQL', () => {
    expect(run([bytes(query(''), parse('', ''), parse('named', ''), typed('Q'), typed('P'))])).toEqual([]);
  });

  it('requires the SQL NUL inside the message body', () => {
    // The NUL of the following message must not terminate this one's SQL.
    const noNul = bytes(typed('Q', 'SELECT 1'), typed('P', cstr('s'), 'SELECT 2'), typed('P', 'name'), query('ok'));
    expect(sqls(run([noNul]))).toEqual(['ok']);
  });

  it('ignores what follows the SQL NUL in a Query', () => {
    expect(sqls(run([bytes(typed('Q', cstr('SELECT 1'), cstr('SELECT 2')), query('SELECT 3'))]))).toEqual([
      'SELECT 1',
      'SELECT 3',
    ]);
  });
});

describe('PgFrontendParser: event boundaries', () => {
  it('reassembles a query split across two events, with the first event time', () => {
    const q = query('SELECT * FROM customers');
    expect(run([q.subarray(0, 9), q.subarray(9)], [1.5, 2.5])).toEqual([{ time: 1.5, sql: 'SELECT * FROM customers' }]);
  });

  it('uses the time of the event holding the first byte, even if the rest is in later events', () => {
    const stream = bytes(sync(), parse('statement', 'SELECT 42'));
    // Event 0 ends with the Parse type byte only.
    const events = split(stream, [6, 8, 12, 20]);
    expect(run(events, [10, 20, 30, 40, 50])).toEqual([{ time: 10, sql: 'SELECT 42' }]);
  });

  it('reassembles multi-byte characters split between events', () => {
    const q = query('SELECT \'héllo wörld\'');
    for (let cut = 1; cut < q.length; cut++) {
      expect(run(split(q, [cut]))).toEqual([{ time: 0, sql: "SELECT 'héllo wörld'" }]);
    }
  });

  it('reads several pipelined messages from one event', () => {
    const event = bytes(
      parse('', 'SELECT $1'),
      bind('', '', [bytes('7')]),
      describeMessage('P', ''),
      execute(''),
      parse('s2', 'INSERT INTO t VALUES ($1)', [23]),
      bind('', 's2', [bytes('8')]),
      execute(''),
      sync(),
      query('COMMIT'),
    );
    expect(run([event], [3])).toEqual([
      { time: 3, sql: 'SELECT $1' },
      { time: 3, sql: 'INSERT INTO t VALUES ($1)' },
      { time: 3, sql: 'COMMIT' },
    ]);
  });

  it('gives the same result for every single cut of a conversation', () => {
    const stream = bytes(
      sslRequest(),
      startup(PROTOCOL_3_0, { user: 'u' }),
      passwordMessage('pw'),
      query('BEGIN'),
      parse('a', 'SELECT 1', [23]),
      bind('', 'a', []),
      execute(''),
      sync(),
      query('COMMIT'),
      terminate(),
    );
    const whole = sqls(run([stream]));
    expect(whole).toEqual(['BEGIN', 'SELECT 1', 'COMMIT']);
    for (let cut = 0; cut <= stream.length; cut++) expect(sqls(run(split(stream, [cut])))).toEqual(whole);
  });

  it('accepts empty events anywhere', () => {
    const q = query('SELECT 1');
    const empty = new Uint8Array(0);
    expect(run([empty, q.subarray(0, 3), empty, q.subarray(3), empty])).toEqual([{ time: 1, sql: 'SELECT 1' }]);
  });
});

describe('PgFrontendParser: out-of-range lengths', () => {
  const bad: Record<string, Uint8Array> = {
    'typed length 3': bytes('Q', int32(3)),
    'typed length 0': bytes('B', int32(0)),
    'typed length 2^30 + 1': bytes('d', int32(2 ** 30 + 1)),
    'typed negative length': bytes('Q', int32(-1)),
    'startup length 7': bytes(int32(7), [0, 0, 0]),
    'startup length 10001': bytes(int32(10_001)),
  };

  it.each(Object.entries(bad))('%s: drops the rest of the event and resumes at the next', (_name, header) => {
    const events = [
      bytes(query('SELECT 1'), header, query('SELECT lost')),
      bytes(query('SELECT 2'), query('SELECT 3')),
    ];
    expect(run(events)).toEqual([
      { time: 0, sql: 'SELECT 1' },
      { time: 1, sql: 'SELECT 2' },
      { time: 1, sql: 'SELECT 3' },
    ]);
  });

  it('accepts the limits themselves', () => {
    const bigStartup = untyped(new Uint8Array(10_000 - 4));
    const hugeCopy = bytes('d', int32(2 ** 30)); // only the header: the body never arrives
    expect(sqls(run([bytes(typed('S'), bigStartup, untyped(int32(80877103)), query('SELECT 1'), hugeCopy)]))).toEqual([
      'SELECT 1',
    ]);
    // Inside the huge CopyData body, a Query is just data.
    expect(run([bytes(hugeCopy, query('SELECT 2')), query('SELECT 3')])).toEqual([]);
  });

  it('resumes at the next event when the bad length straddles events', () => {
    const events = [bytes(query('a'), 'Q', [0xff]), bytes([0xff, 0xff, 0xff], query('lost')), query('b')];
    expect(run(events)).toEqual([
      { time: 0, sql: 'a' },
      { time: 2, sql: 'b' },
    ]);
  });

  it('survives several bad events in a row', () => {
    const events = [bytes('Q', int32(1)), bytes([0xff, 0xff]), bytes(int32(2)), query('ok')];
    expect(run(events)).toEqual([{ time: 3, sql: 'ok' }]);
  });
});

describe('PgFrontendParser: truncated streams', () => {
  it('yields a cut-short Query whose NUL arrived', () => {
    const header = bytes('Q', int32(100));
    expect(run([bytes(header, cstr('SELECT 1'))])).toEqual([{ time: 0, sql: 'SELECT 1' }]);
  });

  it('yields a cut-short Parse whose SQL NUL arrived, before its parameter types', () => {
    const p = parse('s', 'SELECT $1', [23, 25]);
    expect(sqls(run([p.subarray(0, p.length - 7)]))).toEqual(['SELECT $1']);
  });

  it('yields nothing for a cut-short message without its NUL', () => {
    const q = query('SELECT 1');
    expect(run([q.subarray(0, q.length - 1)])).toEqual([]);
    const p = parse('statement', 'SELECT 1');
    expect(run([p.subarray(0, 12)])).toEqual([]);
    expect(run([p.subarray(0, p.length - 4)])).toEqual([]);
    expect(run([bytes('Q', [0, 0])])).toEqual([]);
  });

  it('starts afresh after end()', () => {
    const parser = new PgFrontendParser();
    expect(parser.push(bytes('Q', int32(50), 'SELECT'), 0)).toEqual([]);
    expect(parser.end()).toEqual([]);
    expect(parser.push(query('x'), 1).map((q) => q.time)).toEqual([1]);
  });
});

describe('PgFrontendParser: output ownership', () => {
  it('copies SQL out of the event, so reusing the buffer does not change it', () => {
    const event = query('SELECT 1');
    const parser = new PgFrontendParser();
    const [found] = parser.push(event, 0);
    event.fill(0x41);
    expect(Buffer.from(found!.sql).toString()).toBe('SELECT 1');
  });
});
