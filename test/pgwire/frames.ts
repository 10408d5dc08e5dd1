/** Builders of Postgres frontend messages (protocol 3.0 / 3.2) and helpers for the pgwire tests. */
import { PgFrontendParser } from '../../src/pgwire/parser.ts';

const encoder = new TextEncoder();
const decoder = new TextDecoder();

export function bytes(...parts: Array<Uint8Array | string | number[]>): Uint8Array {
  const arrays = parts.map((p) => (typeof p === 'string' ? encoder.encode(p) : Uint8Array.from(p)));
  const out = new Uint8Array(arrays.reduce((n, a) => n + a.length, 0));
  let at = 0;
  for (const a of arrays) {
    out.set(a, at);
    at += a.length;
  }
  return out;
}

export const text = (b: Uint8Array): string => decoder.decode(b);
export const fromHex = (hex: string): Uint8Array => Uint8Array.from(Buffer.from(hex, 'hex'));

export function int16(n: number): number[] {
  return [(n >>> 8) & 0xff, n & 0xff];
}

export function int32(n: number): number[] {
  return [(n >>> 24) & 0xff, (n >>> 16) & 0xff, (n >>> 8) & 0xff, n & 0xff];
}

/** A NUL-terminated string. */
export const cstr = (s: string | Uint8Array): Uint8Array => bytes(s, [0]);

/** A typed message: Byte1 type, Int32 length (counting itself), body. */
export function typed(type: string | number, ...body: Array<Uint8Array | string | number[]>): Uint8Array {
  const b = bytes(...body);
  const code = typeof type === 'string' ? type.charCodeAt(0) : type;
  return bytes([code], int32(b.length + 4), b);
}

/** An untyped startup-phase message: Int32 length (counting itself), body. */
export function untyped(...body: Array<Uint8Array | string | number[]>): Uint8Array {
  const b = bytes(...body);
  return bytes(int32(b.length + 4), b);
}

export const PROTOCOL_3_0 = (3 << 16) | 0;
export const PROTOCOL_3_2 = (3 << 16) | 2;

export const startup = (version: number, params: Record<string, string>): Uint8Array =>
  untyped(int32(version), ...Object.entries(params).flatMap(([k, v]) => [cstr(k), cstr(v)]), [0]);
export const sslRequest = (): Uint8Array => untyped(int32(80877103));
export const gssEncRequest = (): Uint8Array => untyped(int32(80877104));
/** 3.0 has a 4-byte secret key; 3.2 allows up to 256 bytes. */
export const cancelRequest = (pid: number, key: Uint8Array): Uint8Array => untyped(int32(80877102), int32(pid), key);

export const query = (sql: string | Uint8Array): Uint8Array => typed('Q', cstr(sql));
export const parse = (name: string, sql: string | Uint8Array, oids: number[] = []): Uint8Array =>
  typed('P', cstr(name), cstr(sql), int16(oids.length), ...oids.map(int32));
export function bind(portal: string, statement: string, params: Array<Uint8Array | null>): Uint8Array {
  return typed(
    'B',
    cstr(portal),
    cstr(statement),
    int16(1),
    int16(0), // all parameters in text format
    int16(params.length),
    ...params.flatMap((p) => (p === null ? [int32(-1)] : [int32(p.length), p])),
    int16(0), // result columns in default format
  );
}
export const execute = (portal: string, maxRows = 0): Uint8Array => typed('E', cstr(portal), int32(maxRows));
export const sync = (): Uint8Array => typed('S');
export const flush = (): Uint8Array => typed('H');
export const describe = (kind: 'S' | 'P', name: string): Uint8Array => typed('D', kind, cstr(name));
export const close = (kind: 'S' | 'P', name: string): Uint8Array => typed('C', kind, cstr(name));
export const copyData = (data: Uint8Array | string): Uint8Array => typed('d', data);
export const copyDone = (): Uint8Array => typed('c');
export const copyFail = (message: string): Uint8Array => typed('f', cstr(message));
export function functionCall(oid: number, args: Uint8Array[]): Uint8Array {
  return typed(
    'F',
    int32(oid),
    int16(1),
    int16(0),
    int16(args.length),
    ...args.flatMap((a) => [int32(a.length), a]),
    int16(0),
  );
}
export const terminate = (): Uint8Array => typed('X');
// PasswordMessage, SASLInitialResponse, SASLResponse and GSSResponse all share type 'p'.
export const passwordMessage = (password: string): Uint8Array => typed('p', cstr(password));
export const saslInitialResponse = (mechanism: string, data: Uint8Array | string): Uint8Array => {
  const d = bytes(data);
  return typed('p', cstr(mechanism), int32(d.length), d);
};
export const saslResponse = (data: Uint8Array | string): Uint8Array => typed('p', data);
export const gssResponse = (data: Uint8Array | string): Uint8Array => typed('p', data);

/** Cuts `stream` at the given offsets (any order, duplicates and out-of-range ones ignored). */
export function split(stream: Uint8Array, cuts: number[]): Uint8Array[] {
  const points = [...new Set(cuts.filter((c) => c > 0 && c < stream.length))].sort((a, b) => a - b);
  const events: Uint8Array[] = [];
  let from = 0;
  for (const p of [...points, stream.length]) {
    events.push(stream.subarray(from, p));
    from = p;
  }
  return events;
}

export interface Found {
  time: number;
  sql: string;
}

/** Parses events whose times are given, or their indexes when not. */
export function run(events: Uint8Array[], times?: number[]): Found[] {
  const parser = new PgFrontendParser();
  const found = events.flatMap((e, i) => parser.push(e, times?.[i] ?? i));
  found.push(...parser.end());
  return found.map((q) => ({ time: q.time, sql: text(q.sql) }));
}

/** Same, keeping the raw SQL bytes. */
export function runBytes(events: Uint8Array[]): Array<{ time: number; sql: Uint8Array }> {
  const parser = new PgFrontendParser();
  return [...events.flatMap((e, i) => parser.push(e, i)), ...parser.end()];
}
