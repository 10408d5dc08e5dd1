import fs from 'node:fs';
import {
  buildSchema,
  getNamedType,
  isEnumType,
  isInputObjectType,
  isInterfaceType,
  isListType,
  isNonNullType,
  isObjectType,
  isScalarType,
  isUnionType,
  type GraphQLArgument,
  type GraphQLField,
  type GraphQLInputType,
  type GraphQLNamedType,
  type GraphQLObjectType,
  type GraphQLSchema,
} from 'graphql';
import type { Rand } from './random.ts';

/*
 * GraphQL documents and variables built from reel's real schema (schema.graphql at the root): random
 * walks over its types that pick fields, arguments and values, mostly well-typed so that requests
 * reach the resolvers, and then bent: wrong types, unknown names, enormous values, and text-level
 * mutations of the finished document.
 */

export const SCHEMA_FILE = new URL('../../schema.graphql', import.meta.url);

let cached: GraphQLSchema | undefined;
export function reelSchema(): GraphQLSchema {
  cached ??= buildSchema(fs.readFileSync(SCHEMA_FILE, 'utf8'));
  return cached;
}

/** What the generators know about the server they fuzz: real ids and keys make requests go deep. */
export interface GraphQLContext {
  sessionIds: string[];
  orgId: string;
}

/** Strings that have broken parsers and queries elsewhere; none holds text the leak checks look for. */
export const NASTY_STRINGS = [
  '',
  ' ',
  '\u0000',
  'a\u0000b',
  '\ud800',
  '\udfff\ud800',
  '\ufeff',
  '\u202e',
  '%',
  '_',
  '%%__\\',
  '\\',
  "'",
  "' or '1'='1",
  "'; drop table sessions; --",
  '$$',
  '$1',
  '"',
  '`',
  '{}',
  '[]',
  'null',
  'undefined',
  'NaN',
  '-0',
  '1e309',
  '../../../../etc/passwd',
  '%2e%2e%2f',
  '${jndi:ldap://x}',
  '{{7*7}}',
  '<script>alert(1)</script>',
  '\r\n\r\nHTTP/1.1 200 OK',
  'é',
  '🙂',
  '\u0301\u0301\u0301',
  '\t\v\f',
  '2024-02-30T25:61:61Z',
  '0000-00-00T00:00:00Z',
  '+275760-09-13T00:00:00.001Z',
  '00000000-0000-0000-0000-000000000000',
  'ffffffff-ffff-ffff-ffff-ffffffffffff',
  'FFFFFFFF-FFFF-FFFF-FFFF-FFFFFFFFFFFF',
  '00000000-0000-0000-0000-00000000000g',
  'YWJj',
  'YWJj=',
  'YW Jj',
  '====',
  '-_-_',
];

const INTS = [0, 1, -1, 2, 100, 101, 1000, 2 ** 31 - 1, 2 ** 31, -(2 ** 31), -(2 ** 31) - 1, 2 ** 53 - 1, 2 ** 53, 2 ** 63, 1e21, 1e308];
const FLOATS = [0, -0, 0.5, 1e-7, 1.5, 1e15, 1e308, -1, -1e-300, 5e-324, 2 ** 53 + 0.5];

/** A random string: from the list above, random code units, or long text. */
export function randomString(r: Rand, maxLength = 4096): string {
  return r.weighted<() => string>([
    [4, () => r.pick(NASTY_STRINGS)],
    [3, () => r.anyString(16)],
    [2, () => r.text(r.size(maxLength))],
    [1, () => r.pick(NASTY_STRINGS) + r.anyString(4) + r.pick(NASTY_STRINGS)],
  ])();
}

/** A JSON value of the given nesting depth at most; lists and objects sometimes wide. */
export function randomJson(r: Rand, depth: number): unknown {
  const kind = depth <= 0 ? r.int(0, 3) : r.int(0, 5);
  switch (kind) {
    case 0:
      return null;
    case 1:
      return r.chance(0.5);
    case 2:
      return r.chance(0.5) ? r.pick(INTS) : r.pick(FLOATS);
    case 3:
      return randomString(r, 256);
    case 4:
      return Array.from({ length: r.size(8) }, () => randomJson(r, depth - 1));
    default: {
      const o: Record<string, unknown> = {};
      for (let i = r.size(8); i > 0; i--) o[r.chance(0.7) ? r.pick(['a', 'cols', 'rows', 'terminal', '__proto__', 'constructor', '']) : r.anyString(6)] = randomJson(r, depth - 1);
      return o;
    }
  }
}

/** JSON text nested `depth` levels deep (arrays or objects); built as text, as JSON.stringify would overflow the stack. */
export function deepJson(depth: number, asArray: boolean): RawJson {
  return new RawJson(asArray ? `${'['.repeat(depth)}1${']'.repeat(depth)}` : `${'{"a":'.repeat(depth)}1${'}'.repeat(depth)}`);
}

/** JSON text to splice into a body as it is (see toJson). */
export class RawJson {
  constructor(readonly text: string) {}
}

/** JSON.stringify, with RawJson values written as their text. */
export function toJson(value: unknown): string {
  const raws: string[] = [];
  const text = JSON.stringify(value, (_k, v: unknown) => {
    if (v instanceof RawJson) {
      raws.push(v.text);
      return `\u0000raw${raws.length - 1}\u0000`;
    }
    return v;
  });
  return raws.length === 0 ? text : text.replace(/"\\u0000raw(\d+)\\u0000"/g, (_m, i: string) => raws[Number(i)]!);
}

function randomUuid(r: Rand): string {
  const hex = r.bytes(16).toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-4${hex.slice(13, 16)}-a${hex.slice(17, 20)}-${hex.slice(20, 32)}`;
}

/** A value for a named scalar or enum: usually fitting, sometimes not. */
function scalarValue(r: Rand, type: GraphQLNamedType, ctx: GraphQLContext): unknown {
  if (isEnumType(type)) {
    const values = type.getValues().map((v) => v.value as string);
    return r.chance(0.9) ? r.pick(values) : r.pick([values[0]!.toLowerCase(), 'NOPE', '', 1]);
  }
  switch (type.name) {
    case 'ID':
      return r.weighted<() => unknown>([
        [6, () => r.pick(ctx.sessionIds)],
        [2, () => randomUuid(r)],
        [1, () => ctx.orgId],
        [1, () => randomString(r, 64)],
        [1, () => r.pick(ctx.sessionIds).toUpperCase()],
      ])();
    case 'Int':
    case 'SafeInt':
      return r.chance(0.7) ? r.int(-5, 200) : r.pick(INTS);
    case 'Float':
      return r.chance(0.6) ? r.int(0, 100) / 4 : r.pick(FLOATS);
    case 'Boolean':
      return r.chance(0.5);
    case 'DateTime':
      return r.chance(0.6) ? new Date(Date.UTC(2024, 0, 1) + r.int(-1e9, 1e9) * 1000).toISOString() : randomString(r, 40);
    case 'JSON':
      return randomJson(r, r.int(0, 4));
    default:
      return randomString(r, 512);
  }
}

/** A value of an input type; `wrongness` is the chance, at each level, of a value of another type. */
export function inputValue(r: Rand, type: GraphQLInputType, ctx: GraphQLContext, wrongness: number, depth = 0): unknown {
  if (r.chance(wrongness)) return wrongValue(r);
  if (isNonNullType(type)) return inputValue(r, type.ofType, ctx, wrongness, depth);
  if (r.chance(0.03)) return null;
  if (isListType(type)) {
    const n = r.chance(0.9) ? r.size(6) : r.size(20_000);
    const item = type.ofType;
    const first = inputValue(r, item, ctx, wrongness, depth + 1);
    // Long lists repeat one item: building thousands of random ones costs more than sending them.
    return Array.from({ length: n }, (_, i) => (i === 0 || n > 50 ? first : inputValue(r, item, ctx, wrongness, depth + 1)));
  }
  if (isInputObjectType(type)) {
    const out: Record<string, unknown> = {};
    for (const field of Object.values(type.getFields())) {
      const required = isNonNullType(field.type);
      if (depth > 4 && !required) continue;
      if (required ? r.chance(0.95) : r.chance(0.4)) out[field.name] = inputValue(r, field.type, ctx, wrongness, depth + 1);
    }
    if (r.chance(0.05)) out[r.pick(['unknownField', 'id_', '__typename', ''])] = randomJson(r, 1);
    return out;
  }
  return scalarValue(r, getNamedType(type), ctx);
}

/** A value of some other type than asked. */
export function wrongValue(r: Rand): unknown {
  return r.pick<() => unknown>([
    () => null,
    () => r.pick(INTS),
    () => r.pick(FLOATS),
    () => randomString(r, 64),
    () => r.chance(0.5),
    () => [],
    () => [[[]]],
    () => ({}),
    () => ({ a: 1 }),
    () => randomJson(r, 3),
  ])();
}

/** A GraphQL literal for a JS value (strings as GraphQL strings; objects as input objects). */
export function literal(r: Rand, value: unknown, enumLike: boolean): string {
  if (value === null || value === undefined) return 'null';
  if (typeof value === 'string') {
    if (enumLike && /^[_A-Za-z][_0-9A-Za-z]*$/.test(value) && value !== 'true' && value !== 'false' && value !== 'null') return value;
    if (r.chance(0.05) && !/"""|\\/.test(value)) return `"""${value}"""`;
    return JSON.stringify(value);
  }
  if (typeof value === 'number') return Number.isFinite(value) ? String(value) : '1e999';
  if (typeof value === 'boolean') return String(value);
  if (Array.isArray(value)) return `[${value.map((v) => literal(r, v, enumLike)).join(', ')}]`;
  const entries = Object.entries(value as Record<string, unknown>)
    .filter(([k]) => /^[_A-Za-z][_0-9A-Za-z]*$/.test(k))
    .map(([k, v]) => `${k}: ${literal(r, v, enumLike)}`);
  return `{${entries.join(', ')}}`;
}

export interface Operation {
  query: string;
  variables: Record<string, unknown>;
  operationName?: string;
}

interface Walk {
  r: Rand;
  ctx: GraphQLContext;
  vars: { name: string; type: string; value: unknown }[];
  wrongness: number;
  aliases: number;
  fragments: string[];
}

function typeString(type: GraphQLInputType): string {
  return String(type);
}

function argText(w: Walk, arg: GraphQLArgument): string {
  const { r } = w;
  const value = inputValue(r, arg.type, w.ctx, w.wrongness);
  if (r.chance(0.5)) {
    const name = `v${w.vars.length}`;
    // Sometimes the variable is declared with another type than the argument's.
    const declared = r.chance(0.9) ? typeString(arg.type) : r.pick(['String', 'Int!', '[ID!]!', 'JSON', 'Boolean', 'Nope', 'SessionFilter']);
    w.vars.push({ name, type: declared, value });
    return `${arg.name}: $${name}`;
  }
  return `${arg.name}: ${literal(r, value, isEnumType(getNamedType(arg.type)))}`;
}

function fieldText(w: Walk, field: GraphQLField<unknown, unknown>, depth: number): string {
  const { r } = w;
  const args = field.args.filter((a) => (isNonNullType(a.type) ? r.chance(0.95) : r.chance(0.35))).map((a) => argText(w, a));
  if (r.chance(0.03)) args.push(`${r.pick(['nope', 'first', 'id', 'format'])}: ${literal(r, wrongValue(r), false)}`);
  let alias = '';
  if (r.chance(0.1)) alias = `a${w.aliases++}: `;
  const directive = r.chance(0.05) ? ` @${r.pick(['include', 'skip'])}(if: ${r.pick(['true', 'false', '1', '"x"', '$nope'])})` : r.chance(0.01) ? ' @nope' : '';
  const head = `${alias}${field.name}${args.length > 0 ? `(${args.join(', ')})` : ''}${directive}`;
  const named = getNamedType(field.type);
  if (isObjectType(named) || isInterfaceType(named) || isUnionType(named)) {
    if (r.chance(0.02)) return head; // a selection set left out
    return `${head} { ${selection(w, named as GraphQLObjectType, depth + 1)} }`;
  }
  if (r.chance(0.02)) return `${head} { id }`; // a selection set on a leaf
  return head;
}

function selection(w: Walk, type: GraphQLObjectType, depth: number): string {
  const { r } = w;
  const fields = Object.values(type.getFields());
  const parts: string[] = [];
  const count = depth > 6 ? 1 : 1 + r.size(Math.min(6, fields.length));
  for (let i = 0; i < count; i++) {
    const field = r.pick(fields);
    const named = getNamedType(field.type);
    // Leaves are cheap: deeper levels prefer them, so documents stay mostly within the limits.
    if (depth > 3 && !isScalarType(named) && !isEnumType(named) && r.chance(0.5)) continue;
    parts.push(fieldText(w, field, depth));
  }
  if (r.chance(0.05)) parts.push(r.pick(['__typename', 'nope', '__schema { types { name } }', `... on ${type.name} { __typename }`]));
  if (r.chance(0.03)) {
    const name = `F${w.fragments.length}`;
    w.fragments.push(`fragment ${name} on ${type.name} { __typename ${fieldText(w, r.pick(fields), depth)} }`);
    parts.push(`...${name}`);
  }
  return parts.length > 0 ? parts.join(' ') : '__typename';
}

/** A document from the schema, and its variables. */
export function schemaOperation(r: Rand, ctx: GraphQLContext, wrongness = r.pick([0, 0, 0.02, 0.1])): Operation {
  const schema = reelSchema();
  const kind = r.weighted([
    [6, 'query'],
    [3, 'mutation'],
    [1, 'subscription'],
  ] as const);
  const root = kind === 'query' ? schema.getQueryType()! : kind === 'mutation' ? schema.getMutationType()! : schema.getSubscriptionType()!;
  const w: Walk = { r, ctx, vars: [], wrongness, aliases: 0, fragments: [] };
  const fields = Object.values(root.getFields());
  const count = kind === 'subscription' ? 1 : 1 + r.size(3);
  const parts = Array.from({ length: count }, () => fieldText(w, r.pick(fields), 1));
  const name = r.chance(0.3) ? `Op${r.int(0, 9)}` : '';
  const decls = w.vars.map((v) => `$${v.name}: ${v.type}`).join(', ');
  const head = name || decls ? `${kind} ${name}${decls ? `(${decls})` : ''}` : kind === 'query' && r.chance(0.5) ? '' : kind;
  const query = [`${head} { ${parts.join(' ')} }`, ...w.fragments].join('\n');
  const variables = Object.fromEntries(w.vars.filter(() => r.chance(0.97)).map((v) => [v.name, v.value]));
  return { query, variables, ...(name && r.chance(0.8) ? { operationName: r.chance(0.9) ? name : 'Other' } : {}) };
}

const TOKENS = ['{', '}', '(', ')', '[', ']', ':', '$', '@', '...', '!', '=', '|', '&', '"', '"""', '#', ',', '\\', 'query', 'mutation', 'subscription', 'fragment', 'on', 'null', 'true', '1e', '0x10', '-', '\u0000', '\ufeff', '\u2028'];

/** Text-level damage to a document: deleted, repeated, swapped and inserted pieces, or a cut. */
export function mutateText(r: Rand, text: string): string {
  let out = text;
  for (let n = 1 + r.size(5); n > 0; n--) {
    if (out.length === 0) out = r.pick(TOKENS);
    const at = r.int(0, out.length);
    const len = r.size(Math.min(64, out.length - at));
    out = r.pick<() => string>([
      () => out.slice(0, at) + out.slice(at + len),
      () => out.slice(0, at) + out.slice(at, at + len).repeat(1 + r.size(50)) + out.slice(at + len),
      () => out.slice(0, at) + r.pick(TOKENS) + out.slice(at),
      () => out.slice(0, at) + r.anyString(4) + out.slice(at),
      () => out.slice(0, at),
      () => out.slice(0, at) + out.slice(at, at + len).toUpperCase() + out.slice(at + len),
      () => out.slice(0, at) + out.slice(r.int(0, out.length)),
    ])();
  }
  return out;
}

/** Nesting that no schema allows, to see the parser and validation give up cleanly. */
export function deepDocument(r: Rand, ctx: GraphQLContext): Operation {
  const depth = r.pick([13, 20, 50, 200, 1000, 5000, 20_000, 100_000]);
  const id = JSON.stringify(r.pick(ctx.sessionIds));
  const kind = r.int(0, 6);
  switch (kind) {
    case 0: // nested selections on a real path that cycles (Query → sessions → edges → node → … has none, so inline fragments)
      return { query: `{ ${'... on Query { '.repeat(depth)}__typename${' }'.repeat(depth)} }`, variables: {} };
    case 1: // nested braces
      return { query: `${'{'.repeat(depth)}${'}'.repeat(r.chance(0.5) ? depth : r.int(0, depth))}`, variables: {} };
    case 2: // a nested list literal as an argument
      return { query: `{ session(id: ${'['.repeat(depth)}${id}${']'.repeat(depth)}) { id } }`, variables: {} };
    case 3: // a nested object literal in a JSON argument
      return {
        query: `mutation { openSession(input: { roleName: "r", type: "t", verb: EXEC, metadata: ${'{a: '.repeat(depth)}1${'}'.repeat(depth)} }) { id } }`,
        variables: {},
      };
    case 4: // nested JSON in a variable
      return {
        query: 'mutation ($m: JSON) { openSession(input: { roleName: "r", type: "t", verb: EXEC, metadata: $m }) { id } }',
        variables: { m: { terminal: deepJson(depth, r.chance(0.5)) } },
      };
    case 5: // nested fields through the schema's real nesting, repeated in aliases
      return {
        query: `{ ${Array.from({ length: Math.min(depth, 40) }, (_, i) => `a${i}: sessions { edges { node { review { groups { reviewedBy { name } } } } } }`).join(' ')} }`,
        variables: {},
      };
    default: // a nested list in a variable of list type
      return { query: 'query ($e: [EventType!]) { session(id: ' + id + ') { eventStream(events: $e) } }', variables: { e: deepJson(depth, true) } };
  }
}

/** Many aliases of one field, cheap or expensive. */
export function aliasFlood(r: Rand, ctx: GraphQLContext): Operation {
  const n = r.pick([16, 50, 500, 5000, 50_000]);
  const id = JSON.stringify(r.pick(ctx.sessionIds));
  const field = r.pick(['__typename', `session(id: ${id}) { id }`, `session(id: ${id}) { eventStream(format: UTF8) }`, 'sessions(first: 100) { edges { node { id } } }']);
  return { query: `{ ${Array.from({ length: n }, (_, i) => `a${i}: ${field}`).join(' ')} }`, variables: {} };
}

/** Fragments that spread themselves, each other, nothing, or fan out exponentially. */
export function fragmentTricks(r: Rand, ctx: GraphQLContext): Operation {
  const id = JSON.stringify(r.pick(ctx.sessionIds));
  switch (r.int(0, 4)) {
    case 0:
      return { query: 'query { ...A } fragment A on Query { ...B } fragment B on Query { ...A }', variables: {} };
    case 1:
      return { query: 'query { ...A } fragment A on Query { __typename ...A }', variables: {} };
    case 2:
      return { query: `query { ...Missing session(id: ${id}) { ...OnWrongType } } fragment OnWrongType on Review { id }`, variables: {} };
    case 3: {
      // Each fragment spreads the next twice: 2^n fields once expanded.
      const n = r.pick([10, 20, 30, 60]);
      const frags = Array.from({ length: n }, (_, i) => `fragment F${i} on Query { ${i + 1 < n ? `...F${i + 1} ...F${i + 1}` : '__typename'} }`);
      return { query: `{ ...F0 }\n${frags.join('\n')}`, variables: {} };
    }
    default: {
      const n = r.pick([100, 1000, 10_000]);
      const frags = Array.from({ length: n }, (_, i) => `fragment F${i} on Session { id }`);
      return { query: `{ session(id: ${id}) { ${Array.from({ length: n }, (_, i) => `...F${i}`).join(' ')} } }\n${frags.join('\n')}`, variables: {} };
    }
  }
}
