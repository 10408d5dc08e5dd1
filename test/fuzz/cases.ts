import {
  aliasFlood,
  deepDocument,
  deepJson,
  fragmentTricks,
  mutateText,
  randomJson,
  randomString,
  schemaOperation,
  toJson,
  wrongValue,
  type GraphQLContext,
  type Operation,
} from './graphql-docs.ts';
import { build, caseSeed, type Rand } from './random.ts';

/*
 * The fuzz cases: each family builds one hostile request (or WebSocket conversation) from a case's
 * random choices and the setup's real material (keys, sessions, signed links). A case is plain
 * data, so a failure can print it and a seed can rebuild it.
 */

/** What the setup made for the cases to aim at. */
export interface FuzzContext extends GraphQLContext {
  admin: string;
  recorder: string;
  /** Signed links (path and query, no origin): downloads, scripts, views and the view's data. */
  links: { download: string[]; script: string[]; view: string[]; recording: string[]; segment: string[] };
  /** Host header value. */
  host: string;
}

export interface HttpCase {
  kind: 'http';
  family: string;
  /** What the case is, in a few words. */
  note: string;
  /** The bytes sent, in the pieces written (a short pause between pieces). */
  request: Buffer[];
  /** Pipelined requests: how many answers to wait for. */
  responses?: number;
  /** A well-formed request: no answer at all is a failure. */
  expectAnswer: boolean;
  /** A link the case changed so that it must not be honoured (no 2xx or 3xx). */
  mustRefuse?: boolean;
  /** Close our sending side after this long with no answer (truncated requests). */
  halfCloseAfterMs?: number;
  head?: boolean;
}

export interface WsCase {
  kind: 'ws';
  family: string;
  note: string;
  path: string;
  protocol: string | undefined;
  messages: (string | Buffer)[];
}

export type FuzzCase = HttpCase | WsCase;

type Family = (r: Rand, ctx: FuzzContext) => FuzzCase;

// ---------------------------------------------------------------------------------------------
// HTTP requests

/** Percent-encodes the UTF-8 bytes of any string (encodeURIComponent throws on a lone surrogate). */
function pct(s: string): string {
  return [...Buffer.from(s, 'utf8')].map((b) => (/[A-Za-z0-9_.~-]/.test(String.fromCharCode(b)) ? String.fromCharCode(b) : `%${b.toString(16).toUpperCase().padStart(2, '0')}`)).join('');
}

interface RequestSpec {
  method?: string;
  target: string;
  headers?: [string, string][];
  body?: Buffer | string;
  chunked?: boolean;
  version?: string;
  /** Leave out the Host header. */
  noHost?: boolean;
  /** Leave out `Connection: close` (keep-alive). */
  keepAlive?: boolean;
}

export function httpRequest(ctx: FuzzContext, spec: RequestSpec): Buffer {
  const body = spec.body === undefined ? undefined : Buffer.isBuffer(spec.body) ? spec.body : Buffer.from(spec.body, 'utf8');
  const headers: [string, string][] = [];
  if (!spec.noHost) headers.push(['Host', ctx.host]);
  headers.push(...(spec.headers ?? []));
  if (!spec.keepAlive) headers.push(['Connection', 'close']);
  if (body !== undefined) {
    if (spec.chunked) headers.push(['Transfer-Encoding', 'chunked']);
    else headers.push(['Content-Length', String(body.length)]);
  }
  const head = `${spec.method ?? 'GET'} ${spec.target} ${spec.version ?? 'HTTP/1.1'}\r\n${headers.map(([k, v]) => `${k}: ${v}\r\n`).join('')}\r\n`;
  let payload = body ?? Buffer.alloc(0);
  if (body !== undefined && spec.chunked) payload = Buffer.concat([Buffer.from(`${body.length.toString(16)}\r\n`), body, Buffer.from('\r\n0\r\n\r\n')]);
  return Buffer.concat([Buffer.from(head, 'latin1'), payload]);
}

function http(family: string, note: string, request: Buffer, extra: Partial<HttpCase> = {}): HttpCase {
  return { kind: 'http', family, note, request: [request], expectAnswer: true, ...extra };
}

/** An Authorization header: the admin's, the recorder's, none, or garbage. */
function authHeader(r: Rand, ctx: FuzzContext): [string, string][] {
  return r.weighted<() => [string, string][]>([
    [5, () => [['Authorization', `Bearer ${ctx.admin}`]]],
    [3, () => [['Authorization', `Bearer ${ctx.recorder}`]]],
    [2, () => []],
    [
      2,
      () => [
        [
          'Authorization',
          r.pick([
            'Bearer',
            'Bearer ',
            'Bearer garbage',
            `Bearer ${ctx.admin}x`,
            `Bearer ${ctx.admin.slice(0, -1)}`,
            `bearer ${ctx.admin}`,
            `Bearer ${ctx.admin} ${ctx.recorder}`,
            `Basic ${Buffer.from('a:b').toString('base64')}`,
            `Bearer ${'k'.repeat(r.pick([100, 5000, 15_000]))}`,
            `Bearer ${ctx.admin.replace(/./, '\u00ff')}`,
            `Bearer ${r.text(40, 'abcdef0123456789_-.')}`,
          ]),
        ],
      ],
    ],
  ])();
}

const ACCEPTS = ['application/json', 'application/graphql-response+json', 'text/event-stream', 'multipart/mixed', 'text/html', '*/*', 'application/xml', ''];

/** Sends an operation the way a client might: POST with a JSON body (mostly), other bodies, or GET. */
function gqlRequest(r: Rand, ctx: FuzzContext, op: Operation, bodyBytes?: (json: string) => Buffer): { request: Buffer; note: string; head?: boolean } {
  const headers = authHeader(r, ctx);
  const accept = r.pick(ACCEPTS);
  if (accept) headers.push(['Accept', accept]);
  const how = r.weighted([
    [14, 'json'],
    [4, 'get'],
    [1, 'urlencoded'],
    [1, 'multipart'],
    [1, 'graphql'],
  ] as const);
  const payload: Record<string, unknown> = { query: op.query };
  const hasVariables = op.variables !== null && typeof op.variables === 'object' ? Object.keys(op.variables).length > 0 : op.variables !== undefined;
  if (hasVariables || r.chance(0.3)) payload.variables = op.variables;
  if (op.operationName !== undefined) payload.operationName = op.operationName;
  const json = toJson(payload);
  if (how === 'get' && bodyBytes === undefined) {
    const params = new URLSearchParams();
    params.set('query', op.query);
    if (payload.variables !== undefined) params.set('variables', toJson(op.variables));
    if (op.operationName !== undefined) params.set('operationName', op.operationName);
    let qs = params.toString();
    if (r.chance(0.1)) qs = mutateText(r, qs);
    const method = r.chance(0.1) ? 'HEAD' : 'GET';
    return { request: httpRequest(ctx, { method, target: `/graphql?${qs}`, headers }), note: `${method} /graphql?query=…`, head: method === 'HEAD' };
  }
  const contentType = r.weighted<string | undefined>([
    [12, 'application/json'],
    [2, 'application/json; charset=utf-8'],
    [1, 'application/graphql-response+json'],
    [1, 'APPLICATION/JSON'],
    [1, 'application/json; charset=latin1'],
    [1, 'text/plain'],
    [1, undefined],
    [1, 'application/octet-stream'],
    [1, 'application/json; boundary=x; charset'],
  ]);
  if (how === 'urlencoded') {
    const form = new URLSearchParams({ query: op.query, ...(payload.variables !== undefined && { variables: toJson(op.variables) }) }).toString();
    return { request: httpRequest(ctx, { method: 'POST', target: '/graphql', headers: [...headers, ['Content-Type', 'application/x-www-form-urlencoded']], body: form }), note: 'POST urlencoded' };
  }
  if (how === 'graphql') {
    return { request: httpRequest(ctx, { method: 'POST', target: '/graphql', headers: [...headers, ['Content-Type', 'application/graphql']], body: op.query }), note: 'POST application/graphql' };
  }
  if (how === 'multipart') {
    const boundary = r.pick(['xyz', '----b', '', '"q"', 'a'.repeat(200)]);
    const parts = [
      `--${boundary}\r\nContent-Disposition: form-data; name="operations"\r\n\r\n${json}\r\n`,
      r.chance(0.5) ? `--${boundary}\r\nContent-Disposition: form-data; name="map"\r\n\r\n${r.pick(['{"0":["variables.file"]}', '{}', '[', '{"0":["nope.a.b"]}'])}\r\n` : '',
      r.chance(0.5) ? `--${boundary}\r\nContent-Disposition: form-data; name="0"; filename="a.txt"\r\nContent-Type: text/plain\r\n\r\n${r.text(r.size(1000))}\r\n` : '',
      r.chance(0.8) ? `--${boundary}--\r\n` : '',
    ].join('');
    return {
      request: httpRequest(ctx, { method: 'POST', target: '/graphql', headers: [...headers, ['Content-Type', `multipart/form-data; boundary=${boundary}`]], body: r.chance(0.3) ? mutateText(r, parts) : parts }),
      note: 'POST multipart',
    };
  }
  const body = bodyBytes ? bodyBytes(json) : Buffer.from(json, 'utf8');
  if (contentType) headers.push(['Content-Type', contentType]);
  const chunked = r.chance(0.1);
  return { request: httpRequest(ctx, { method: 'POST', target: '/graphql', headers, body, chunked }), note: `POST ${contentType ?? '(no type)'}${chunked ? ' chunked' : ''}` };
}

function gqlCase(family: string, r: Rand, ctx: FuzzContext, op: Operation, what: string, bodyBytes?: (json: string) => Buffer): HttpCase {
  const { request, note, head } = gqlRequest(r, ctx, op, bodyBytes);
  return http(family, `${what}; ${note}`, request, { head });
}

// ---------------------------------------------------------------------------------------------
// GraphQL families

const INVALID_UTF8 = [[0xff], [0xfe], [0xc0, 0x80], [0xed, 0xa0, 0x80], [0xf4, 0x90, 0x80, 0x80], [0x80], [0xe2, 0x82], [0xf8, 0x88, 0x80, 0x80, 0x80], [0x00], [0xc3]];

const APPEND = 'mutation ($id: ID!, $seq: Int!, $events: [SessionEventInput!]!) { appendSessionEvents(sessionId: $id, sequence: $seq, events: $events) { sequence eventCount eventSize } }';
const OPEN = 'mutation ($input: OpenSessionInput!) { openSession(input: $input) { id status } }';

const BAD_BASE64 = ['a', 'ab', 'abc', 'abc=', 'ab==c', 'YW Jj', 'YWJj\n', ' YWJj', 'YW-_', 'YWJ=', '====', '=', 'YQ', 'YQ=', 'YR==', 'YWJjZA=', 'Y\u0000WJj', 'ÿÿÿÿ', '\ud800\ud800', '%%%%', 'YWJj'.repeat(3) + '!', 'data:;base64,YWJj'];

const families: Record<string, { weight: number; make: Family }> = {
  'gql-schema': {
    weight: 20,
    make: (r, ctx) => gqlCase('gql-schema', r, ctx, schemaOperation(r, ctx), 'schema walk'),
  },
  'gql-mutated': {
    weight: 10,
    make: (r, ctx) => {
      const op = schemaOperation(r, ctx);
      return gqlCase('gql-mutated', r, ctx, { ...op, query: mutateText(r, op.query) }, 'mutated document');
    },
  },
  'gql-deep': {
    weight: 4,
    make: (r, ctx) => gqlCase('gql-deep', r, ctx, deepDocument(r, ctx), 'deep nesting'),
  },
  'gql-aliases': {
    weight: 3,
    make: (r, ctx) => gqlCase('gql-aliases', r, ctx, aliasFlood(r, ctx), 'alias flood'),
  },
  'gql-fragments': {
    weight: 3,
    make: (r, ctx) => gqlCase('gql-fragments', r, ctx, fragmentTricks(r, ctx), 'fragment tricks'),
  },
  'gql-huge-list': {
    weight: 3,
    make: (r, ctx) => {
      const n = r.pick([1000, 100_001, 300_000, 1_000_000]);
      const id = r.pick(ctx.sessionIds);
      const op = r.pick<() => Operation>([
        () => ({ query: APPEND, variables: { id, seq: r.int(0, 3), events: Array.from({ length: n }, (_, i) => ({ time: i / 10, type: 'OUTPUT', data: 'YQ==' })) } }),
        () => ({ query: 'mutation ($e: [EventType!]) { downloadLink(sessionId: "' + id + '", extension: "csv", events: $e) { downloadUrl } }', variables: { e: Array.from({ length: n }, () => 'OUTPUT') } }),
        () => ({ query: 'query ($e: [EventType!]) { session(id: "' + id + '") { eventStream(events: $e) } }', variables: { e: Array.from({ length: n }, (_, i) => ['INPUT', 'OUTPUT', 'ERROR'][i % 3]) } }),
        () => ({ query: OPEN, variables: { input: { roleName: 'r', type: 't', verb: 'EXEC', guardrailsInfo: Array.from({ length: Math.min(n, 100_000) }, () => ({ ruleName: 'x', direction: 'INPUT', matchedWords: ['a'] })) } } }),
        () => ({ query: OPEN, variables: { input: { roleName: 'r', type: 't', verb: 'EXEC', metadata: { list: Array.from({ length: n }, (_, i) => i) } } } }),
      ])();
      return gqlCase('gql-huge-list', r, ctx, op, `huge list (${n})`);
    },
  },
  'gql-wrong-types': {
    weight: 6,
    make: (r, ctx) => {
      const op = schemaOperation(r, ctx, 0);
      const names = Object.keys(op.variables);
      const variables: Record<string, unknown> = { ...op.variables };
      if (names.length === 0 || r.chance(0.2)) variables[r.pick(['extra', 'id', '__proto__'])] = wrongValue(r);
      for (const name of names) if (r.chance(0.6)) variables[name] = wrongValue(r);
      const shape = r.pick<() => unknown>([() => variables, () => JSON.stringify(variables), () => [variables], () => 1, () => null]);
      return gqlCase('gql-wrong-types', r, ctx, { ...op, variables: shape() as Record<string, unknown> }, 'wrongly typed variables');
    },
  },
  'gql-enormous-string': {
    weight: 3,
    make: (r, ctx) => {
      const size = r.pick([100_000, 1_000_000, 4_000_000, 16_000_000, 30_000_000]);
      const big = r.text(size, r.pick(['abc', 'a\u00e9\u4e16🙂', '\\"', 'ab\u0000\n']));
      const id = r.pick(ctx.sessionIds);
      const op = r.pick<() => Operation>([
        () => ({ query: OPEN, variables: { input: { roleName: big, type: 't', verb: 'EXEC' } } }),
        () => ({ query: OPEN, variables: { input: { roleName: 'r', type: 't', verb: 'EXEC', script: big } } }),
        () => ({ query: 'query ($t: String) { sessions(filter: { text: $t }) { edges { node { id } } } }', variables: { t: big } }),
        () => ({ query: `query ($t: String!) { session(id: "${id}") { searchHits(text: $t) { edges { node { text } } } } }`, variables: { t: big } }),
        () => ({ query: `mutation { downloadLink(sessionId: "${id}", extension: ${JSON.stringify(big)}) { downloadUrl } }`, variables: {} }),
        () => ({ query: `{ session(id: ${JSON.stringify(big)}) { id } }`, variables: {} }),
        () => ({ query: `{ ${big.replace(/[^a-z]/g, 'a')} }`, variables: {} }),
        () => ({ query: `# ${big.replace(/\n/g, ' ')}\n{ __typename }`, variables: {} }),
        () => ({ query: APPEND, variables: { id, seq: r.int(0, 2), events: [{ time: 0, type: 'OUTPUT', data: Buffer.from(big.slice(0, size / 2)).toString('base64') }] } }),
      ])();
      return gqlCase('gql-enormous-string', r, ctx, op, `enormous string (${size})`);
    },
  },
  'gql-bad-utf8': {
    weight: 5,
    make: (r, ctx) => {
      const op = r.chance(0.5) ? schemaOperation(r, ctx, 0) : { query: OPEN, variables: { input: { roleName: 'role-x', type: 'ty', verb: 'EXEC', userName: 'name-x' } } };
      return gqlCase('gql-bad-utf8', r, ctx, op, 'invalid UTF-8 in the body', (json) => {
        let bytes = Buffer.from(json, 'utf8');
        for (let n = 1 + r.size(4); n > 0; n--) {
          // Mostly inside a string (after a quote), so JSON still parses and the bytes reach a value.
          const quotes = [...json.matchAll(/"/g)].map((m) => m.index);
          const at = r.chance(0.7) && quotes.length > 0 ? Buffer.byteLength(json.slice(0, r.pick(quotes) + 1)) : r.int(0, bytes.length);
          const bad = Buffer.from(r.pick(INVALID_UTF8));
          bytes = Buffer.concat([bytes.subarray(0, Math.min(at, bytes.length)), bad, bytes.subarray(Math.min(at, bytes.length))]);
        }
        return bytes;
      });
    },
  },
  'gql-bad-base64': {
    weight: 6,
    make: (r, ctx) => {
      const events = Array.from({ length: 1 + r.size(5) }, () => ({
        time: r.chance(0.8) ? r.int(0, 100) / 8 : r.pick([-1, -0, 1e308, 5e-324, '1', null]),
        type: r.chance(0.9) ? r.pick(['INPUT', 'OUTPUT', 'ERROR']) : r.pick(['output', 'X', 1]),
        data: r.chance(0.3) ? Buffer.from(r.bytes(r.size(40))).toString('base64') : r.chance(0.8) ? r.pick(BAD_BASE64) : wrongValue(r),
      }));
      const id = r.weighted([
        [6, r.pick(ctx.sessionIds)],
        [1, 'not-a-uuid'],
        [1, ctx.orgId],
      ]);
      const op = { query: APPEND, variables: { id, seq: r.weighted([[5, r.int(0, 4)], [1, r.pick([-1, 2 ** 31 - 1, 2 ** 31, 1.5])]]), events } };
      if (r.chance(0.3)) {
        // The same as literals in the document instead of variables.
        const lit = events.map((e) => `{ time: ${typeof e.time === 'number' ? e.time : JSON.stringify(e.time)}, type: ${typeof e.type === 'string' ? e.type : e.type}, data: ${JSON.stringify(e.data)} }`).join(', ');
        return gqlCase('gql-bad-base64', r, ctx, { query: `mutation { appendSessionEvents(sessionId: ${JSON.stringify(id)}, sequence: ${op.variables.seq}, events: [${lit}]) { sequence } }`, variables: {} }, 'append, bad base64 (literals)');
      }
      return gqlCase('gql-bad-base64', r, ctx, op, 'append, bad base64');
    },
  },
  'gql-unknown': {
    weight: 4,
    make: (r, ctx) => {
      const id = JSON.stringify(r.pick(ctx.sessionIds));
      const query = r.pick([
        '{ nope }',
        `{ session(id: ${id}, nope: 1) { id } }`,
        `{ session(id: ${id}) { id nope { x } } }`,
        `{ session(id: ${id}) @nope { id } }`,
        '{ __type(name: "Session") { fields { name args { name } } } }',
        '{ __schema { queryType { name } types { name fields { name } } } }',
        '{ __typename(x: 1) }',
        `query ($x: Nope) { session(id: ${id}) { id } }`,
        `query ($x: ID!, $x: ID!) { session(id: $x) { id } }`,
        `query { session(id: $undeclared) { id } }`,
        `query A { __typename } query A { __typename }`,
        `query A { __typename } query B { __typename }`,
        `subscription { sessionEvents(sessionId: ${id}) { events { time } } other: sessionEvents(sessionId: ${id}) { events { time } } }`,
        `mutation { nope(x: 1) }`,
        `{ session(id: ${id}) { ... on Nope { id } } }`,
        `{ session(id: ${id}) { ... on Review { id } } }`,
        `{ sessions(first: 1, last: 1) { edges { node { id } } } }`,
        `{ sessions(after: "${r.anyString(8).replace(/["\\]/g, '')}") { edges { node { id } } } }`,
        `{ sessions(first: -1) { edges { node { id } } } }`,
        `{ sessions(first: 101) { edges { node { id } } } }`,
        `{ session(id: ${id}) { eventStream(format: NOPE) } }`,
        `{ session(id: ${id}) { eventStream(format: RAW_QUERIES, from: -1, to: 1e999) } }`,
        `{ session(id: ${id}) { eventStream(from: 5, to: 1) eventSize(format: BASE64, from: 1e308) } }`,
      ]);
      const operationName = r.chance(0.3) ? r.pick(['A', 'B', 'Nope', '', '\u0000']) : undefined;
      return gqlCase('gql-unknown', r, ctx, { query, variables: r.chance(0.2) ? { x: 1 } : {}, operationName }, 'unknown names');
    },
  },
  'gql-json': {
    weight: 6,
    make: (r, ctx) => {
      const good = JSON.stringify({ query: '{ __typename }' });
      const body = r.pick<() => string | Buffer>([
        () => '',
        () => ' ',
        () => 'null',
        () => '[]',
        () => '"query"',
        () => '{"query": 1}',
        () => '{"query": null}',
        () => '{"query": ["{ __typename }"]}',
        () => '{"query": {"a": 1}}',
        () => '[{"query": "{ __typename }"}, {"query": "{ __typename }"}]',
        () => '{"query": "{ __typename }", "variables": "{\\"a\\": 1}"}',
        () => '{"query": "{ __typename }", "variables": []}',
        () => '{"query": "{ __typename }", "variables": 7}',
        () => '{"query": "{ __typename }", "operationName": 7}',
        () => '{"query": "{ __typename }", "extensions": {"persistedQuery": {"version": 1, "sha256Hash": "abc"}}}',
        () => '{"query": "{ __typename }", "extensions": "x"}',
        () => '{"query": "{ __typename }", "query": "{ nope }"}',
        () => '{"__proto__": {"query": "{ __typename }"}}',
        () => '{"constructor": {"prototype": {"query": 1}}, "query": "{ __typename }"}',
        () => '{"query": "{ __typename }",}',
        () => "{'query': '{ __typename }'}",
        () => '{"query": "{ __typename }"} trailing',
        () => '{"query": "{ __typename }"}{"query": "{ __typename }"}',
        () => '{"query": "\\ud800{ __typename }"}',
        () => '{"query": "{ __typename }", "variables": {"a": 1e999}}',
        () => `\ufeff${good}`,
        () => Buffer.from(good, 'utf16le'),
        () => good.slice(0, r.int(0, good.length - 1)),
        () => mutateText(r, good),
        () => deepJson(r.pick([1000, 100_000, 1_000_000]), r.chance(0.5)).text,
        () => `{"query": "{ __typename }", "variables": {"a": ${deepJson(r.pick([1000, 100_000]), r.chance(0.5)).text}}}`,
        () => JSON.stringify(randomJson(r, 4)),
        () => r.bytes(r.size(2000)),
      ])();
      const headers = authHeader(r, ctx);
      headers.push(['Content-Type', r.pick(['application/json', 'application/json', 'text/plain', 'application/x-www-form-urlencoded', 'multipart/form-data; boundary=x'])]);
      return http('gql-json', 'broken JSON body', httpRequest(ctx, { method: 'POST', target: '/graphql', headers, body: Buffer.isBuffer(body) ? body : Buffer.from(body, 'utf8'), chunked: r.chance(0.1) }));
    },
  },
  'gql-get': {
    weight: 3,
    make: (r, ctx) => {
      const qs = r.pick<() => string>([
        () => 'query=%7B__typename%7D',
        () => 'query=%7B__typename%7D&query=%7Bnope%7D',
        () => 'query=%zz',
        () => 'query=%',
        () => 'query=%7B__typename%7D&variables=%7B',
        () => 'query=%7B__typename%7D&variables=null',
        () => 'query=%7B__typename%7D&variables=%5B%5D',
        () => 'query=%7B__typename%7D&extensions=1',
        () => 'query=mutation%7BopenSession(input%3A%7BroleName%3A%22r%22%2Ctype%3A%22t%22%2Cverb%3AEXEC%7D)%7Bid%7D%7D',
        () => 'query=' + '%7B'.repeat(r.pick([100, 2000])),
        () => `query=${pct(r.anyString(30))}`,
        () => `query=%C0%80%ED%A0%80%FF`,
        () => `query=${'a'.repeat(r.pick([8000, 20_000, 100_000]))}`,
        () => '',
        () => '&&&==&',
        () => 'query',
        () => 'query=%7B__typename%7D#frag',
      ])();
      const headers = authHeader(r, ctx);
      if (r.chance(0.5)) headers.push(['Accept', r.pick(ACCEPTS) || 'text/html']);
      return http('gql-get', 'GET /graphql with a bent query string', httpRequest(ctx, { method: 'GET', target: `/graphql?${qs}`, headers }));
    },
  },
};

// ---------------------------------------------------------------------------------------------
// Download and view links

interface Link {
  path: string;
  params: [string, string][];
}

function parseLink(link: string): Link {
  const q = link.indexOf('?');
  const path = q < 0 ? link : link.slice(0, q);
  const params: [string, string][] = [];
  if (q >= 0) {
    for (const pair of link.slice(q + 1).split('&')) {
      const eq = pair.indexOf('=');
      params.push(eq < 0 ? [pair, ''] : [pair.slice(0, eq), pair.slice(eq + 1)]);
    }
  }
  return { path, params };
}

function linkTarget(link: Link): string {
  return link.params.length > 0 ? `${link.path}?${link.params.map(([k, v]) => `${k}=${v}`).join('&')}` : link.path;
}

function anyLink(r: Rand, ctx: FuzzContext): string {
  const kind = r.weighted([
    [4, 'download'],
    [2, 'script'],
    [2, 'view'],
    [1, 'recording'],
    [2, 'segment'],
  ] as const);
  const list = ctx.links[kind].length > 0 ? ctx.links[kind] : ctx.links.download;
  return r.pick(list);
}

function safeDecode(s: string): string | null {
  try {
    return decodeURIComponent(s.replace(/\+/g, ' '));
  } catch {
    return null;
  }
}

const PARAM_VALUES = ['', '0', '1', '2', 'true', '-0', '1.50', '1e3', 'Infinity', 'NaN', '-1', 'o', 'e,o', 'o,o,e', 'i,o,e,x', 'csv', 'CSV', 'json', 'cast', 'txt', 'a'.repeat(17), '%00', '%ff', '%', '%2', '%u0041', '..%2f', '\u00e9', '%C3%A9', '+', '%20', '%0d%0aX-Injected:%201'];

function linkCase(r: Rand, ctx: FuzzContext, family: string, link: Link, note: string, mustRefuse: boolean, method = 'GET'): HttpCase {
  const headers: [string, string][] = r.chance(0.2) ? authHeader(r, ctx) : [];
  if (r.chance(0.1)) headers.push(['Range', r.pick(['bytes=0-10', 'bytes=-1', 'bytes=99999999-', 'bytes=a-b'])]);
  if (r.chance(0.05)) headers.push(['If-None-Match', '*']);
  return http(family, note, httpRequest(ctx, { method, target: linkTarget(link), headers }), { mustRefuse, head: method === 'HEAD' });
}

const linkFamilies: Record<string, { weight: number; make: Family }> = {
  'link-unchanged': {
    weight: 1,
    make: (r, ctx) => {
      const method = r.chance(0.3) ? 'HEAD' : 'GET';
      return linkCase(r, ctx, 'link-unchanged', parseLink(anyLink(r, ctx)), `the real link (${method})`, false, method);
    },
  },
  'link-param': {
    weight: 8,
    make: (r, ctx) => {
      const link = parseLink(anyLink(r, ctx));
      const params = [...link.params];
      const i = params.length > 0 ? r.int(0, params.length - 1) : 0;
      const [key, value] = params[i] ?? ['token', ''];
      let note: string;
      let mustRefuse = true;
      switch (r.int(0, 6)) {
        case 0:
          params.splice(i, 1);
          note = `dropped ${key}`;
          break;
        case 1:
          params.splice(i, 0, [key, r.chance(0.5) ? value : r.pick(PARAM_VALUES)]);
          note = `repeated ${key}`;
          break;
        case 2: {
          const next = r.weighted([
            [4, r.pick(PARAM_VALUES)],
            [1, pct(randomString(r, 64))],
            [1, 'x'.repeat(r.pick([1000, 10_000, 15_000]))],
          ]);
          params[i] = [key, next];
          const before = safeDecode(value);
          const after = safeDecode(next);
          // The same text spelled another way is the same link; anything else must be refused.
          mustRefuse = before === null || after === null || before !== after;
          note = `changed ${key}`;
          break;
        }
        case 3:
          params.splice(r.int(0, params.length), 0, [r.pick(['x', 'token2', 'extension', 'from', 'to', 'since', 'Token', 'events[]', '', '%74oken']), r.pick(PARAM_VALUES)]);
          note = 'added a parameter';
          // `%74oken` is `token` spelled another way: a second token, refused.
          break;
        case 4:
          params.reverse();
          note = 'parameters reordered';
          mustRefuse = false;
          break;
        case 5:
          params[i] = [key.toUpperCase(), value];
          note = `${key} in upper case`;
          mustRefuse = key.toUpperCase() !== key;
          break;
        default:
          params[i] = [key, value.replace(/[A-Za-z0-9]/, (c) => `%${c.charCodeAt(0).toString(16)}`)];
          note = `${key} percent-encoded`;
          mustRefuse = false;
      }
      return linkCase(r, ctx, 'link-param', { path: link.path, params }, note, mustRefuse);
    },
  },
  'link-token': {
    weight: 8,
    make: (r, ctx) => {
      const link = parseLink(anyLink(r, ctx));
      const at = link.params.findIndex(([k]) => k === 'token');
      const token = at >= 0 ? link.params[at]![1] : '';
      const [payload = '', mac = ''] = token.split('.');
      let next: string;
      let note: string;
      switch (r.int(0, 7)) {
        case 0:
        case 1: {
          // A bit flipped in the decoded bytes of the payload or the MAC.
          const which = r.chance(0.5) ? 0 : 1;
          const bytes = Buffer.from(which === 0 ? payload : mac, 'base64url');
          const bit = r.int(0, Math.max(0, bytes.length * 8 - 1));
          if (bytes.length > 0) bytes[bit >> 3] = bytes[bit >> 3]! ^ (1 << (bit & 7));
          const part = bytes.toString('base64url');
          next = which === 0 ? `${part}.${mac}` : `${payload}.${part}`;
          note = `token bit ${bit} of the ${which === 0 ? 'payload' : 'MAC'} flipped`;
          break;
        }
        case 2: {
          const i = r.int(0, Math.max(0, token.length - 1));
          next = token.slice(0, i) + r.pick([...'AZaz09-_.=+/']) + token.slice(i + 1);
          note = `token character ${i} replaced`;
          break;
        }
        case 3:
          next = token.slice(0, r.int(0, token.length - 1));
          note = 'token cut short';
          break;
        case 4:
          next = token + r.pick(['A', '.', '=', '==', 'AAAA', '.x', '%00', token]);
          note = 'token extended';
          break;
        case 5:
          next = r.pick([`${mac}.${payload}`, payload, `.${mac}`, `${payload}.`, `${payload}..${mac}`, token.toUpperCase(), token.toLowerCase()]);
          note = 'token parts rearranged';
          break;
        case 6: {
          const other = parseLink(anyLink(r, ctx)).params.find(([k]) => k === 'token')?.[1] ?? '';
          next = other;
          note = 'token of another link';
          break;
        }
        default: {
          // A valid-looking payload of our own making: another expiry, org or key, under a random MAC.
          const fake = Buffer.alloc(13 + 36 + 36);
          fake.writeUInt8(r.pick([1, 0, 2]), 0);
          fake.writeBigUInt64BE(BigInt(r.pick([0, 2 ** 52, Date.now() + 1e9])), 1);
          fake.writeUInt16BE(36, 9);
          fake.write(ctx.orgId, 11);
          fake.writeUInt16BE(36, 47);
          fake.write(ctx.orgId, 49);
          next = `${fake.toString('base64url')}.${r.bytes(32).toString('base64url')}`;
          note = 'forged token';
        }
      }
      const params = [...link.params];
      if (at >= 0) params[at] = ['token', next];
      else params.push(['token', next]);
      return linkCase(r, ctx, 'link-token', { path: link.path, params }, note, next !== token);
    },
  },
  'link-path': {
    weight: 8,
    make: (r, ctx) => {
      const link = parseLink(anyLink(r, ctx));
      const segments = link.path.split('/');
      // /api/sessions/<id>/download… or /sessions/<id>/view…
      const idAt = segments.findIndex((s) => /^[0-9a-f-]{36}$/.test(s));
      const id = segments[idAt] ?? '';
      let path = link.path;
      let note: string;
      // Tricks that name the same resource once the URL is normalised keep the link valid; others must not.
      let mustRefuse = false;
      const withId = (next: string) => segments.map((s, i) => (i === idAt ? next : s)).join('/');
      switch (r.int(0, 13)) {
        case 0:
          path = withId(`x/../${id}`);
          note = '.. in the path';
          break;
        case 1:
          path = link.path.replace(/\/(download|view)/, '%2f$1');
          note = '%2f for a slash';
          mustRefuse = true;
          break;
        case 2:
          path = withId(`${id}%00`);
          note = '%00 after the id';
          mustRefuse = true;
          break;
        case 3:
          path = withId(id.replace(/-/g, '%252d'));
          note = 'double-encoded id';
          mustRefuse = true;
          break;
        case 4:
          path = withId(id + 'a'.repeat(r.pick([1, 100, 5000, 14_000])));
          note = 'overlong id';
          mustRefuse = true;
          break;
        case 5:
          path = withId(r.pick(['x', '0', '-1', 'null', '%', '%zz', '..', '.', 'a%2fb', id.toUpperCase(), id.replace(/-/g, ''), `{${id}}`, pct(randomString(r, 40))]));
          note = 'not a UUID';
          mustRefuse = true;
          break;
        case 6:
          path = `${link.path}/`;
          note = 'trailing slash';
          mustRefuse = true;
          break;
        case 7:
          path = link.path.replace(/\//g, '//');
          note = 'doubled slashes';
          mustRefuse = true;
          break;
        case 8:
          path = withId(id.replace(/[0-9a-f]/, (c) => `%${c.charCodeAt(0).toString(16)}`));
          note = 'id percent-encoded';
          break;
        case 9:
          path = link.path.replace('/download', '/download/script').replace('/view', r.pick(['/view/recording', '/view/segment']));
          note = 'another route of the same session';
          mustRefuse = path !== link.path;
          break;
        case 10:
          path = link.path.replace(/\//g, '\\');
          note = 'backslashes';
          mustRefuse = true;
          break;
        case 11:
          path = `${link.path};x=1`;
          note = 'matrix parameter';
          mustRefuse = true;
          break;
        case 12:
          path = link.path.replace(/(sessions|view|download)/, (s) => s.toUpperCase());
          note = 'path in upper case';
          mustRefuse = true;
          break;
        default:
          path = `${link.path.slice(0, r.int(0, link.path.length))}${r.pick(['/%2e%2e/', '/./', '/%2e/', '\u00e9', '%c0%ae%c0%ae/', '/../..', '%ff'])}${link.path.slice(r.int(0, link.path.length))}`;
          note = 'path spliced';
          mustRefuse = true;
      }
      return linkCase(r, ctx, 'link-path', { path, params: link.params }, note, mustRefuse);
    },
  },
  'link-method': {
    weight: 3,
    make: (r, ctx) => {
      const method = r.pick(['POST', 'PUT', 'DELETE', 'PATCH', 'OPTIONS', 'TRACE', 'CONNECT', 'PROPFIND', 'get', 'HEAD']);
      const link = anyLink(r, ctx);
      const body = method === 'HEAD' || method === 'get' ? undefined : r.pick(['', '{}', r.text(r.size(5000))]);
      // Node answers nothing to CONNECT without a proxy to hand it to: it closes the connection.
      return http('link-method', `${method} on a link`, httpRequest(ctx, { method, target: link, body, headers: [['Content-Type', 'application/json']] }), { head: method === 'HEAD', expectAnswer: method !== 'CONNECT' });
    },
  },
  assets: {
    weight: 3,
    make: (r, ctx) => {
      const name = r.pick([
        'view.js',
        'view.css',
        'asciinema-player.min.js',
        'asciinema-player.css',
        'VIEW.JS',
        'view.js%00',
        'view.js/',
        '../../../package.json',
        '..%2f..%2f..%2fpackage.json',
        '%2e%2e%2f%2e%2e%2fschema.graphql',
        '....//....//package.json',
        'x/../view.js',
        'view.js.map',
        'route.ts',
        'page.ts',
        '.',
        '..',
        '',
        'a'.repeat(r.pick([100, 10_000])),
        'constructor',
        '__proto__',
        'hasOwnProperty',
        'toString',
        pct(randomString(r, 20)),
      ]);
      const method = r.pick(['GET', 'GET', 'HEAD', 'POST']);
      return http('assets', `asset ${name.slice(0, 40)}`, httpRequest(ctx, { method, target: `/view/assets/${name}` }), { head: method === 'HEAD' });
    },
  },
  routes: {
    weight: 2,
    make: (r, ctx) => {
      const target = r.pick(['/', '/healthz', '/metrics', '/graphql/', '/graphql/x', '/graphql%2f', '/api', '/api/sessions', '/api/sessions//download', '/sessions//view', '/sessions/x/view/nope', '/view/assets/', '/favicon.ico', '/HEALTHZ', '/healthz?x=%zz', `/${'a'.repeat(r.pick([100, 8000]))}`, '/%', '/%00', '/\u00e9']);
      const method = r.pick(['GET', 'POST', 'HEAD', 'OPTIONS', 'DELETE']);
      return http('routes', `${method} ${target.slice(0, 40)}`, httpRequest(ctx, { method, target, body: method === 'POST' ? '{}' : undefined }), { head: method === 'HEAD' });
    },
  },
};

// ---------------------------------------------------------------------------------------------
// Malformed HTTP over raw sockets

const rawFamilies: Record<string, { weight: number; make: Family }> = {
  'http-raw': {
    weight: 15,
    make: (r, ctx) => {
      const host = ctx.host;
      const gqlBody = JSON.stringify({ query: '{ __typename }' });
      const raw = (note: string, text: string | Buffer | Buffer[], extra: Partial<HttpCase> = {}): HttpCase => ({
        kind: 'http',
        family: 'http-raw',
        note,
        request: Array.isArray(text) ? text : [Buffer.isBuffer(text) ? text : Buffer.from(text, 'latin1')],
        expectAnswer: false,
        halfCloseAfterMs: 1000,
        ...extra,
      });
      const make = r.pick<() => HttpCase>([
        // Methods and request lines
        () => raw('unknown method', `${r.pick(['FOO', 'GE T', 'G\u00e9T', 'GET\u0000', 'X'.repeat(r.pick([20, 5000])), 'PRI', 'M-SEARCH', '*'])} /graphql HTTP/1.1\r\nHost: ${host}\r\nConnection: close\r\n\r\n`),
        () => raw('HTTP/2 preface', 'PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n'),
        () => raw('HTTP/0.9 request', r.pick(['GET /\r\n', 'GET /graphql\r\n\r\n', 'GET\r\n\r\n', '\r\n\r\n', 'GET / HTTP/1.1\n\n'])),
        () => raw('odd versions', `GET /healthz ${r.pick(['HTTP/9.9', 'HTTP/1', 'HTTP/1.10', 'HTTPS/1.1', 'http/1.1', 'HTTP/1.0', 'HTTP/0.9', 'HTTP/1.1 extra'])}\r\nHost: ${host}\r\nConnection: close\r\n\r\n`),
        () => raw('request targets', `GET ${r.pick(['*', 'http://[', 'http://x:99999/graphql', 'http://a b/healthz', '//[::1/healthz', 'http://a@b/healthz', '//healthz', 'healthz', '/healthz#x', '/a b', '/\u0000', '/%', `http://${host}/healthz`, 'https://example.com/api/sessions/x/download', '/\u00ff\u00fe', '\\healthz', '/graphql?\u0001'])} HTTP/1.1\r\nHost: ${host}\r\nConnection: close\r\n\r\n`, { expectAnswer: false }),
        () => raw('no Host', 'GET /healthz HTTP/1.1\r\nConnection: close\r\n\r\n'),
        () => raw('two Hosts', `GET /healthz HTTP/1.1\r\nHost: a\r\nHost: b\r\nConnection: close\r\n\r\n`),
        // Content-Length
        () => {
          const cl = r.pick(['-1', 'abc', '1e3', '99999999999999999999', ' 5', '0x10', '5, 6', '', '+5', '18446744073709551616', '100000000']);
          return raw(`Content-Length ${cl}`, `POST /graphql HTTP/1.1\r\nHost: ${host}\r\nContent-Type: application/json\r\nContent-Length: ${cl}\r\nConnection: close\r\n\r\n${gqlBody}`);
        },
        () => raw('two Content-Lengths', `POST /graphql HTTP/1.1\r\nHost: ${host}\r\nContent-Type: application/json\r\nContent-Length: ${gqlBody.length}\r\nContent-Length: ${gqlBody.length + 1}\r\nConnection: close\r\n\r\n${gqlBody}`),
        () => raw('Content-Length and chunked', `POST /graphql HTTP/1.1\r\nHost: ${host}\r\nContent-Type: application/json\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n${gqlBody.length.toString(16)}\r\n${gqlBody}\r\n0\r\n\r\n`),
        () => raw('body shorter than declared', `POST /graphql HTTP/1.1\r\nHost: ${host}\r\nContent-Type: application/json\r\nContent-Length: ${gqlBody.length + r.pick([1, 100, 1_000_000])}\r\n\r\n${gqlBody}`),
        () => raw('body longer than declared', `POST /graphql HTTP/1.1\r\nHost: ${host}\r\nContent-Type: application/json\r\nContent-Length: ${gqlBody.length - 3}\r\n\r\n${gqlBody}GET /healthz HTTP/1.1\r\n\r\n`),
        // Chunked bodies
        () => {
          const broken = r.pick([
            `zz\r\n${gqlBody}\r\n0\r\n\r\n`,
            `${gqlBody.length.toString(16)}\r\n${gqlBody}0\r\n\r\n`,
            `${(gqlBody.length + 10).toString(16)}\r\n${gqlBody}\r\n0\r\n\r\n`,
            `ffffffffffffffff\r\n${gqlBody}\r\n0\r\n\r\n`,
            `${gqlBody.length.toString(16)};ext="\u0000"\r\n${gqlBody}\r\n0\r\n\r\n`,
            `${gqlBody.length.toString(16)}\r\n${gqlBody}\r\n0\r\nX-Trailer: ${'t'.repeat(20_000)}\r\n\r\n`,
            `${gqlBody.length.toString(16)}\r\n${gqlBody}\r\n`,
            `-1\r\n${gqlBody}\r\n0\r\n\r\n`,
            `${gqlBody.length.toString(16)}\n${gqlBody}\n0\n\n`,
            `0${gqlBody.length.toString(16)}\r\n${gqlBody}\r\n0\r\n\r\n`,
            `${[...gqlBody].map((c) => `1\r\n${c}\r\n`).join('')}0\r\n\r\n`,
          ]);
          const te = r.pick(['chunked', 'chunked', 'Chunked', 'gzip, chunked', 'chunked, gzip', 'identity', 'chunked\u0000', ' chunked']);
          return raw('broken chunked body', `POST /graphql HTTP/1.1\r\nHost: ${host}\r\nContent-Type: application/json\r\nTransfer-Encoding: ${te}\r\nConnection: close\r\n\r\n${broken}`);
        },
        // Headers
        () => {
          const n = r.pick([100, 1000, 5000]);
          return raw(`${n} headers`, `GET /healthz HTTP/1.1\r\nHost: ${host}\r\n${Array.from({ length: n }, (_, i) => `X-H${i}: ${'v'.repeat(r.int(0, 20))}\r\n`).join('')}Connection: close\r\n\r\n`);
        },
        () => raw('a huge header', `GET /healthz HTTP/1.1\r\nHost: ${host}\r\nX-Big: ${'b'.repeat(r.pick([8000, 17_000, 100_000, 1_000_000]))}\r\nConnection: close\r\n\r\n`),
        () => raw('bad header bytes', `GET /healthz HTTP/1.1\r\nHost: ${host}\r\n${r.pick(['X-A\u0000: 1', 'X A: 1', ': empty', 'X-A:\u0000', 'X-A: a\rb', ' folded: 1', 'X-A: 1\r\n folded', 'X-A', 'Content-Type: \u00ff\u00fe', 'Authorization: Bearer \u00ff'])}\r\nConnection: close\r\n\r\n`),
        () => raw('header lines end in LF', `GET /healthz HTTP/1.1\nHost: ${host}\nConnection: close\n\n`),
        // Cut short
        () => {
          const full = httpRequest(ctx, { method: 'POST', target: '/graphql', headers: [['Authorization', `Bearer ${ctx.admin}`], ['Content-Type', 'application/json']], body: JSON.stringify({ query: '{ sessions { edges { node { id } } } }' }) });
          return raw('request cut short', full.subarray(0, r.int(1, full.length - 1)));
        },
        () => {
          const full = httpRequest(ctx, { method: 'POST', target: '/graphql', headers: [['Content-Type', 'application/json']], body: gqlBody });
          const pieces: Buffer[] = [];
          for (let at = 0; at < full.length; ) {
            const len = 1 + r.size(16);
            pieces.push(full.subarray(at, at + len));
            at += len;
          }
          return raw('request in tiny pieces', pieces, { expectAnswer: true, halfCloseAfterMs: undefined });
        },
        // Pipelining and upgrades
        () => {
          const one = httpRequest(ctx, { method: 'GET', target: '/healthz', keepAlive: true });
          const bad = Buffer.from(`GET /graphql?query=%7B HTTP/1.1\r\nHost: ${host}\r\n\r\n`);
          const n = r.pick([2, 10, 100]);
          return raw(`${n} pipelined requests`, Buffer.concat([...Array.from({ length: n - 1 }, (_, i) => (i % 3 === 1 ? bad : one)), httpRequest(ctx, { method: 'GET', target: '/healthz' })]), { responses: n, expectAnswer: true, halfCloseAfterMs: undefined });
        },
        () =>
          raw(
            'bent WebSocket handshake',
            `GET ${r.pick(['/graphql', '/healthz', '/api/sessions/x/download', '/'])} HTTP/1.1\r\nHost: ${host}\r\nUpgrade: ${r.pick(['websocket', 'h2c', 'WebSocket', 'nope'])}\r\nConnection: Upgrade\r\n${r.pick(['Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n', 'Sec-WebSocket-Key: short\r\n', ''])}Sec-WebSocket-Version: ${r.pick(['13', '8', '99', 'x'])}\r\n${r.pick(['Sec-WebSocket-Protocol: graphql-transport-ws\r\n', 'Sec-WebSocket-Protocol: nope\r\n', ''])}\r\n`,
            { halfCloseAfterMs: 300 },
          ),
        () =>
          raw(
            'WebSocket handshake to a target that is no URL',
            `GET ${r.pick(['http://x:99999/graphql', 'http://[/graphql', 'http://a b/graphql', '//[::1/graphql'])} HTTP/1.1\r\nHost: ${host}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Protocol: graphql-transport-ws\r\n\r\n`,
            { halfCloseAfterMs: 300 },
          ),
        () => raw('Expect: 100-continue', `POST /graphql HTTP/1.1\r\nHost: ${host}\r\nContent-Type: application/json\r\nExpect: ${r.pick(['100-continue', 'nope'])}\r\nContent-Length: ${gqlBody.length}\r\nConnection: close\r\n\r\n${gqlBody}`),
        () => raw('random bytes', r.bytes(r.size(4000))),
        () => raw('random text line', `${r.anyString(40)}\r\n\r\n`),
        () => raw('nothing', Buffer.alloc(0), { halfCloseAfterMs: 100 }),
      ]);
      return make();
    },
  },
};

// ---------------------------------------------------------------------------------------------
// WebSocket (graphql-transport-ws)

const wsFamilies: Record<string, { weight: number; make: Family }> = {
  ws: {
    weight: 6,
    make: (r, ctx) => {
      const id = r.pick(ctx.sessionIds);
      const init = JSON.stringify({ type: 'connection_init', payload: r.pick([{ Authorization: `Bearer ${ctx.admin}` }, { Authorization: `Bearer ${ctx.recorder}` }, {}, { Authorization: 'Bearer nope' }, { Authorization: 7 }]) });
      const sub = (query: string, extra: Record<string, unknown> = {}) => toJson({ type: 'subscribe', id: String(r.int(1, 3)), payload: { query, ...extra } });
      const doc = schemaOperation(r, ctx);
      const messages: (string | Buffer)[] = [];
      if (r.chance(0.8)) messages.push(init);
      for (let n = 1 + r.size(4); n > 0; n--) {
        messages.push(
          r.pick<() => string | Buffer>([
            () => sub(doc.query, { variables: doc.variables }),
            () => sub(mutateText(r, doc.query)),
            () => sub('{ nope }'),
            () => sub('{'),
            () => sub(`subscription { sessionEvents(sessionId: "${id}") { events { time type data } status } }`),
            () => sub(`subscription ($n: Int) { sessionEvents(sessionId: "${id}", fromEvent: $n) { status } }`, { variables: { n: r.pick([-1, 2 ** 31, 'x', null]) } }),
            () => sub(`subscription { sessionEvents(sessionId: "${r.pick(['x', ctx.orgId])}") { status } }`),
            () => JSON.stringify({ type: 'subscribe', id: r.pick([1, null, '', 'x'.repeat(1000)]), payload: { query: '{ __typename }' } }),
            () => JSON.stringify({ type: 'subscribe', id: '1', payload: r.pick([null, 1, 'x', { query: 1 }, { query: null }, {}]) }),
            () => JSON.stringify({ type: 'complete', id: r.pick(['1', '9', 1]) }),
            () => JSON.stringify({ type: r.pick(['ping', 'pong', 'connection_init', 'nope', '', 'next', 'error']), payload: r.pick([undefined, 1, 'x', {}]) }),
            () => JSON.stringify(randomJson(r, 3)),
            () => '{"type": "subscribe", "id": "1", "payload": {"query": "{ __typename }"',
            () => r.anyString(30),
            () => r.bytes(r.size(200)),
            () => Buffer.from([0xff, 0xfe, 0x7b, 0x7d]),
            () => sub(`{ ${'... on Query { '.repeat(500)}__typename${' }'.repeat(500)} }`),
            () => toJson({ type: 'subscribe', id: '1', payload: { query: '{ __typename }', variables: { a: deepJson(10_000, true) } } }),
            () => 'x'.repeat(r.pick([1000, 1_000_000])),
          ])(),
        );
      }
      return {
        kind: 'ws',
        family: 'ws',
        note: `${messages.length} messages`,
        path: r.chance(0.95) ? '/graphql' : r.pick(['/', '/graphql/x', '/healthz']),
        protocol: r.weighted<string | undefined>([
          [8, 'graphql-transport-ws'],
          [1, 'graphql-ws'],
          [1, undefined],
          [1, 'nope'],
        ]),
        messages,
      };
    },
  },
};

export const FAMILIES: Record<string, { weight: number; make: Family }> = { ...families, ...linkFamilies, ...rawFamilies, ...wsFamilies };

/** Case `index` of the run seeded `seed`, from the given families (all by default). */
export function makeCase(seed: number, index: number, ctx: FuzzContext, only?: readonly string[]): FuzzCase {
  const names = Object.keys(FAMILIES).filter((n) => !only || only.includes(n));
  if (names.length === 0) throw new Error(`no such fuzz families: ${only?.join(', ')}; known: ${Object.keys(FAMILIES).join(', ')}`);
  return build(caseSeed(seed, index), (r) => {
    const name = r.weighted(names.map((n) => [FAMILIES[n]!.weight, n] as const));
    return FAMILIES[name]!.make(r, ctx);
  });
}
