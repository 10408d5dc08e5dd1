import { Writable } from 'node:stream';
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { KeyCache, type Viewer } from '../../src/auth/keys.ts';
import { loadConfig } from '../../src/config.ts';
import { boundedParseCache } from '../../src/graphql/parse-cache.ts';
import { createGraphQL } from '../../src/server.ts';

/*
 * What the fuzz run (docs/fuzz.md) found, each pinned down by its smallest request, in process
 * against the server's own yoga instance (no database is needed).
 */

const ORG = '00000000-0000-0000-0000-0000000000a1';

class AnyKeyIsAdmin extends KeyCache {
  constructor() {
    super(0);
  }
  override viewer(): Promise<Viewer | null> {
    return Promise.resolve({ keyId: ORG, orgId: ORG, role: 'ADMIN', subject: 'u', email: null, name: null, groups: [] });
  }
}

function yogaWithLogs() {
  const logs: Record<string, unknown>[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _encoding, done) {
      logs.push(JSON.parse(chunk.toString('utf8')) as Record<string, unknown>);
      done();
    },
  });
  const yoga = createGraphQL(loadConfig({}), pino({ level: 'info' }, sink), ['s'.repeat(32)], { keys: new AnyKeyIsAdmin() });
  return { yoga, logs };
}

describe('variables or extensions that are not JSON (fuzz seed 1, case 231)', () => {
  const requests: [string, () => [string, RequestInit]][] = [
    ['GET variables', () => ['http://reel.test/graphql?query=%7B__typename%7D&variables=%25', { headers: { authorization: 'Bearer k' } }]],
    ['GET extensions', () => ['http://reel.test/graphql?query=%7B__typename%7D&extensions=%7B', { headers: { authorization: 'Bearer k' } }]],
    [
      'form body variables',
      () => [
        'http://reel.test/graphql',
        { method: 'POST', headers: { authorization: 'Bearer k', 'content-type': 'application/x-www-form-urlencoded' }, body: 'query=%7B__typename%7D&variables=%7Bnope' },
      ],
    ],
  ];
  for (const [name, request] of requests) {
    it(`${name}: 400 BAD_USER_INPUT, nothing masked or logged as an error`, async () => {
      const { yoga, logs } = yogaWithLogs();
      for (const accept of ['application/json', 'application/graphql-response+json']) {
        const [url, init] = request();
        const res = await yoga.fetch(url, { ...init, headers: { ...(init.headers as Record<string, string>), accept } });
        const text = await res.text();
        const body = JSON.parse(text) as { errors?: { message: string; extensions?: Record<string, unknown> }[] };
        expect(res.status, text).toBe(400);
        expect(body.errors, text).toEqual([{ message: "The request's variables or extensions are not valid JSON.", extensions: { code: 'BAD_USER_INPUT' } }]);
      }
      expect(logs.filter((l) => Number(l.level) >= 50)).toEqual([]);
    });
  }

  it('valid JSON there still answers', async () => {
    const { yoga } = yogaWithLogs();
    const res = await yoga.fetch('http://reel.test/graphql?query=%7B__typename%7D&variables=%7B%7D', { headers: { authorization: 'Bearer k' } });
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ data: { __typename: 'Query' } });
  });
});

describe('a document nested deeper than the parser recurses (fuzz seed 20261202, case 879)', () => {
  it('is 400 BAD_USER_INPUT, not a masked internal error', async () => {
    const { yoga, logs } = yogaWithLogs();
    const depth = 20_000;
    for (const [body, type] of [
      [`{ session(id: ${'['.repeat(depth)}"x"${']'.repeat(depth)}) { id } }`, 'application/graphql'],
      [JSON.stringify({ query: `{ session(id: ${'['.repeat(depth)}"x"${']'.repeat(depth)}) { id } }` }), 'application/json'],
    ] as const) {
      const res = await yoga.fetch('http://reel.test/graphql', { method: 'POST', headers: { authorization: 'Bearer k', 'content-type': type, accept: 'application/json' }, body });
      const text = await res.text();
      expect(res.status, text).toBe(400);
      expect(JSON.parse(text), text).toEqual({ errors: [{ message: 'The document is nested too deeply.', extensions: { code: 'BAD_USER_INPUT' } }] });
    }
    expect(logs.filter((l) => Number(l.level) >= 50)).toEqual([]);
  });
});

describe('the parse cache (fuzz: memory held after large distinct documents)', () => {
  it('does not keep large documents, and holds a bounded amount of text', () => {
    const cache = boundedParseCache<object>(1000, 100);
    cache.set('x'.repeat(101), {});
    expect(cache.get('x'.repeat(101))).toBeUndefined();
    for (let i = 0; i < 50; i++) cache.set(`${i}`.padEnd(100, ' '), { i });
    expect(cache.size).toBeLessThanOrEqual(1000);
    expect(cache.get('49'.padEnd(100, ' '))).toEqual({ i: 49 }); // the most recent stay
    expect(cache.get('0'.padEnd(100, ' '))).toBeUndefined();
  });
});
