import { Writable } from 'node:stream';
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { KeyCache, type Viewer } from '../../src/auth/keys.ts';
import { loadConfig } from '../../src/config.ts';
import type { Role } from '../../src/generated/prisma/enums.ts';
import { createGraphQL } from '../../src/server.ts';

/*
 * What clients are told when a request fails, in process (yoga.fetch) against the server's own
 * yoga instance. No database is opened: every failure here happens before one is needed, or
 * because there is none.
 */

const ORG = '00000000-0000-0000-0000-0000000000a1';
const SESSION = '00000000-0000-0000-0000-0000000000b2';

/** Any bearer key is a viewer of `role`; no key, no viewer. */
class KeysOfRole extends KeyCache {
  constructor(private readonly role: Role) {
    super(0);
  }
  override viewer(): Promise<Viewer | null> {
    return Promise.resolve({ keyId: ORG, orgId: ORG, role: this.role, subject: 'u', email: null, name: null, groups: [] });
  }
}

function harness(role: Role = 'ADMIN') {
  const logs: Record<string, unknown>[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _encoding, done) {
      logs.push(JSON.parse(chunk.toString('utf8')) as Record<string, unknown>);
      done();
    },
  });
  const yoga = createGraphQL(loadConfig({}), pino({ level: 'info' }, sink), ['s'.repeat(32)], { keys: new KeysOfRole(role) });
  async function post(query: string, options: { variables?: Record<string, unknown>; key?: string | null } = {}) {
    const key = options.key === undefined ? 'any-key' : options.key;
    const res = await yoga.fetch('http://reel.test/graphql', {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...(key && { authorization: `Bearer ${key}` }) },
      body: JSON.stringify({ query, variables: options.variables }),
    });
    const text = await res.text();
    const body = JSON.parse(text) as {
      data?: unknown;
      errors?: { message: string; path?: (string | number)[]; extensions?: Record<string, unknown> }[];
    };
    expect(body.errors, text).toHaveLength(1);
    return { status: res.status, text, error: body.errors![0]!, logs };
  }
  return { post };
}

const downloadLink = (extension: string) =>
  `mutation { downloadLink(sessionId: "${SESSION}", extension: "${extension}") { downloadUrl } }`;

describe('domain errors', () => {
  it('keep their message, with their code and details in extensions and the field path', async () => {
    const { status, error, logs } = await harness().post(downloadLink('no-dashes'));
    expect(status).toBe(200);
    expect(error).toMatchObject({
      message: 'extension must be 1 to 16 ASCII letters or digits',
      path: ['downloadLink'],
      extensions: { code: 'BAD_USER_INPUT', field: 'extension' },
    });
    expect(logs).toEqual([]);
  });

  it('without details, carry the code alone', async () => {
    const { error } = await harness('RECORDER').post(downloadLink('csv'));
    expect(error.message).toBe('RECORDER keys cannot download sessions');
    expect(error.extensions).toEqual({ code: 'FORBIDDEN' });
  });

  it('a request without a key is UNAUTHENTICATED', async () => {
    const { error } = await harness().post(downloadLink('csv'), { key: null });
    expect(error.message).toBe('a valid API key is required (Authorization: Bearer <key>)');
    expect(error.extensions).toEqual({ code: 'UNAUTHENTICATED' });
  });
});

describe('errors in the request', () => {
  it('a syntax error is GRAPHQL_PARSE_FAILED', async () => {
    const { error } = await harness().post('{ session(');
    expect(error.message).toBe('Syntax Error: Expected Name, found <EOF>.');
    expect(error.extensions).toEqual({ code: 'GRAPHQL_PARSE_FAILED' });
  });

  it('an unknown field is GRAPHQL_VALIDATION_FAILED', async () => {
    const { error } = await harness().post('{ nope }');
    expect(error.message).toBe('Cannot query field "nope" on type "Query".');
    expect(error.extensions).toEqual({ code: 'GRAPHQL_VALIDATION_FAILED' });
  });

  it('a missing or ill-typed variable is BAD_USER_INPUT, answered 400', async () => {
    const query = 'query ($id: ID!) { session(id: $id) { id } }';
    const missing = await harness().post(query);
    expect(missing.status).toBe(400);
    expect(missing.error.message).toBe('Variable "$id" of required type "ID!" was not provided.');
    expect(missing.error.extensions).toEqual({ code: 'BAD_USER_INPUT' });
    const wrong = await harness().post(query, { variables: { id: { a: 1 } } });
    expect(wrong.status).toBe(400);
    expect(wrong.error.message).toMatch(/^Variable "\$id" got invalid value/);
    expect(wrong.error.extensions).toEqual({ code: 'BAD_USER_INPUT' });
  });

  it("Pothos' argument checks are BAD_USER_INPUT, at the field", async () => {
    const negative = await harness().post('{ sessions(first: -1) { edges { node { id } } } }');
    expect(negative.error).toMatchObject({
      message: 'Argument "first" must be a non-negative integer',
      path: ['sessions'],
      extensions: { code: 'BAD_USER_INPUT' },
    });
    const cursor = await harness().post('{ sessions(after: "zz") { edges { node { id } } } }');
    expect(cursor.error).toMatchObject({ message: 'Invalid cursor: zz', extensions: { code: 'BAD_USER_INPUT' } });
    expect([...negative.logs, ...cursor.logs]).toEqual([]);
  });
});

describe('unexpected errors', () => {
  it('are masked as INTERNAL_SERVER_ERROR, and logged with the error and the field', async () => {
    // No database is open: the resolver's query fails as an unexpected error would.
    const { status, text, error, logs } = await harness().post('{ sessions(first: 1) { edges { node { id } } } }');
    expect(status).toBe(200);
    expect(error).toMatchObject({ message: 'Unexpected error.', path: ['sessions'] });
    expect(error.extensions).toEqual({ code: 'INTERNAL_SERVER_ERROR' });
    expect(text).not.toContain('database not opened');
    expect(logs).toHaveLength(1);
    expect(logs[0]).toMatchObject({ level: 50, msg: 'unexpected error', path: ['sessions'], err: { message: 'database not opened' } });
  });
});
