/*
 * Deterministic, realistic session content: a terminal session (many small writes — keystroke
 * echoes, prompts, lines — and now and then a 64 KiB block of query results), a line-heavy `psql`
 * session (tab-separated result rows, half the bytes in 64 KiB blocks, half in small writes) and a
 * Postgres wire-protocol session (client frames in, backend frames out) for RAW_QUERIES.
 */

export type Kind = 'i' | 'o' | 'e';
export interface BenchEvent {
  time: number;
  type: Kind;
  data: Buffer;
}

export const TYPE_NAME: Record<Kind, string> = { i: 'INPUT', o: 'OUTPUT', e: 'ERROR' };

/** mulberry32: small, fast, seeded. */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const WORDS = (
  'select from where order by group limit insert into values update set delete join left inner on and or not null ' +
  'customer orders invoice status shipped paid pending total amount created_at id email name region eu-west-1 prod ' +
  'deploy restart service nginx postgres kubectl get pods running ready 1/1 2/2 Error CrashLoopBackOff ls -la cd grep ' +
  'tail -f /var/log/syslog ERROR WARN INFO DEBUG connection accepted closed timeout retrying 200 404 500 GET POST'
).split(' ');
const UNICODE = ['é', 'ü', 'ß', '✓', '→', '日本語', 'Zürich', 'café', '—', '€', '😀'];
const ESC = '\x1b';

function terminalLine(r: () => number): string {
  const n = 2 + Math.floor(r() * 12);
  const words: string[] = [];
  for (let k = 0; k < n; k++) {
    const x = r();
    if (x < 0.04) words.push(UNICODE[Math.floor(r() * UNICODE.length)]!);
    else if (x < 0.1) words.push(String(Math.floor(r() * 100000)));
    else if (x < 0.13) words.push(`"${WORDS[Math.floor(r() * WORDS.length)]!}"`);
    else if (x < 0.16) words.push(`${WORDS[Math.floor(r() * WORDS.length)]!},`);
    else words.push(WORDS[Math.floor(r() * WORDS.length)]!);
  }
  let line = words.join(r() < 0.1 ? '\t' : ' ');
  if (r() < 0.15) line = `${ESC}[1;3${1 + Math.floor(r() * 6)}m${line}${ESC}[0m`;
  if (r() < 0.08) line = `${ESC}[1;32mops@web-1${ESC}[0m:${ESC}[1;34m~${ESC}[0m$ ${line}`;
  return `${line}\r\n`;
}

function psqlRows(r: () => number): string {
  const out: string[] = [' id     | email                      | created_at                 | status   |   total | city\r\n'];
  out.push('--------+----------------------------+----------------------------+----------+---------+----------\r\n');
  for (let k = 0; k < 40; k++) {
    const id = String(Math.floor(r() * 1e6)).padStart(6);
    const email = `user${Math.floor(r() * 1e5)}@example.com`.padEnd(26);
    const date = new Date(1.7e12 + Math.floor(r() * 3e10)).toISOString().replace('T', ' ').replace('Z', '+00');
    const status = ['shipped', 'paid', 'pending', 'refunded'][Math.floor(r() * 4)]!.padEnd(8);
    const total = (r() * 1000).toFixed(2).padStart(7);
    const city = ['Zürich', 'Lisboa', 'São Paulo', 'Berlin', 'Kraków', '東京'][Math.floor(r() * 6)]!;
    out.push(` ${id} | ${email} | ${date} | ${status} | ${total} | ${city}\r\n`);
  }
  out.push(`(${40} rows)\r\n\r\n`);
  return out.join('');
}

function pool(r: () => number, bytes: number, piece: (r: () => number) => string): Buffer {
  const parts: string[] = [];
  let size = 0;
  while (size < bytes) {
    const s = piece(r);
    parts.push(s);
    size += Buffer.byteLength(s);
  }
  return Buffer.from(parts.join(''), 'utf8');
}

let pools: { text: Buffer; rows: Buffer } | undefined;
function textPools(): { text: Buffer; rows: Buffer } {
  pools ??= { text: pool(rng(1), 4 << 20, terminalLine), rows: pool(rng(2), 2 << 20, psqlRows) };
  return pools;
}

const slice = (r: () => number, buf: Buffer, length: number): Buffer => {
  const at = Math.floor(r() * (buf.length - length));
  return buf.subarray(at, at + length);
};

export const BLOCK_BYTES = 64 * 1024;

/**
 * The terminal mix, endless: ~0.4% of events are 64 KiB result blocks (about half the bytes);
 * the rest are small writes: keystrokes in (12%), errors (3%), output of 1 B to 4 KiB.
 */
export function* terminalEvents(seed: number): Generator<BenchEvent> {
  const r = rng(seed);
  const { text, rows } = textPools();
  let time = 0;
  for (;;) {
    time = Math.round((time + r() * 0.05) * 1e6) / 1e6;
    const x = r();
    if (x < 0.004) {
      yield { time, type: 'o', data: slice(r, rows, BLOCK_BYTES) };
      continue;
    }
    const type: Kind = x < 0.124 ? 'i' : x < 0.154 ? 'e' : 'o';
    const y = r();
    const length =
      type === 'i'
        ? 1 + Math.floor(r() * 32)
        : y < 0.55
          ? 1 + Math.floor(r() * 16)
          : y < 0.88
            ? 16 + Math.floor(r() * 240)
            : 256 + Math.floor(r() * 3840);
    yield { time, type, data: slice(r, text, length) };
  }
}

// ---- line-heavy psql session ---------------------------------------------------------------------

const FIRST = ['Ann', 'José', 'Siobhán', 'Zoë', 'Li', 'Ólafur', 'Mary-Jane', 'Kenji', 'Ağa', 'Renée', '李', 'Bob'];
const LAST = ["O'Brien", 'Müller', 'Smith', 'Núñez', 'van der Berg', 'Kowalski', '田中', "D'Angelo", 'Łukasz'];
const NOTES = [
  'paid, thanks',
  'refund requested: "damaged box"',
  'call back before 5pm, ask for "Ops"',
  'moved to EU-West, again',
  '=SUM(A1:A9)',
  '+44 20 7946 0958',
  '@ops-oncall please check',
  '-',
  'see ticket #4411, #4412',
  'said "no", then "yes"',
  'café → Zürich ✓',
  'n/a',
];
/** NULL as the many ways psql output and exports spell it. */
const NULLISH = ['', '', '', 'NULL', '\\N', '(null)', 'null', 'N/A'];

function pick<T>(r: () => number, list: readonly T[]): T {
  return list[Math.floor(r() * list.length)]!;
}

/** One unaligned psql result row (`\pset format unaligned`, `\pset fieldsep '\t'`), CRLF as a pty writes it. */
function psqlRow(r: () => number): string {
  const nullish = () => (r() < 0.12 ? pick(r, NULLISH) : undefined);
  const id = String(1 + Math.floor(r() * 9_999_999));
  const email = nullish() ?? `${pick(r, FIRST).toLowerCase()}.${Math.floor(r() * 1e4)}@example.com`;
  const x = r();
  const name = x < 0.15 ? `${pick(r, LAST)}, ${pick(r, FIRST)}` : x < 0.2 ? `"${pick(r, FIRST)}" ${pick(r, LAST)}` : `${pick(r, FIRST)} ${pick(r, LAST)}`;
  const amount = nullish() ?? (r() * 20000 - 10000).toFixed(2);
  const delta = String(Math.floor(r() * 1001) - 500);
  const y = r();
  const ratio = y < 0.1 ? (r() * -1e-4).toExponential(2) : y < 0.5 ? (-r()).toFixed(4) : r().toFixed(4);
  const created = new Date(1.6e12 + Math.floor(r() * 1e11)).toISOString().replace('T', ' ').replace('Z', '+00');
  const active = r() < 0.5 ? 't' : 'f';
  const note = nullish() ?? pick(r, NOTES);
  return `${id}\t${email}\t${name}\t${amount}\t${delta}\t${ratio}\t${created}\t${active}\t${note}\r\n`;
}

const PSQL_HEADER = 'id\temail\tname\tamount\tdelta\tratio\tcreated_at\tactive\tnote\r\n';

function psqlQuery(r: () => number): string {
  const x = r();
  if (x < 0.5) {
    return `SELECT id, email, name, amount, delta, ratio, created_at, active, note FROM accounts WHERE amount < ${-Math.floor(r() * 5000)} AND region = 'eu-west-1' ORDER BY id LIMIT ${1 + Math.floor(r() * 5000)};`;
  }
  if (x < 0.8) {
    return `SELECT * FROM accounts WHERE note ILIKE '%${pick(r, ['refund', 'paid', 'ops', 'ticket'])}%' AND created_at > now() - interval '${1 + Math.floor(r() * 90)} days';`;
  }
  return `SELECT id, email, name, amount, delta, ratio, created_at, active, note FROM accounts WHERE delta BETWEEN -${Math.floor(r() * 500)} AND ${Math.floor(r() * 500)};`;
}

let psqlPool: Buffer | undefined;
/** 8 MiB of result rows; results are line-aligned runs of it. */
function psqlResultRows(): Buffer {
  psqlPool ??= pool(rng(3), 8 << 20, psqlRow);
  return psqlPool;
}

/** Start of the line at or after `at`. */
function lineStart(buf: Buffer, at: number): number {
  const nl = buf.indexOf(0x0a, at);
  return nl < 0 ? 0 : nl + 1;
}

function countLines(buf: Buffer): number {
  let n = 0;
  for (let at = buf.indexOf(0x0a); at >= 0; at = buf.indexOf(0x0a, at + 1)) n++;
  return n;
}

/**
 * A `psql` session in unaligned mode with a tab field separator, endless: SQL typed in (input
 * keystrokes, echoed as output), then the result rows (tab-separated, quotes, commas, negative
 * numbers, NULL-ish values; ~10,000 lines per MiB). About half the output bytes are in 64 KiB
 * blocks (a big result read from the pty a buffer at a time, cut mid-line), the other half in
 * small writes of tens to hundreds of bytes (rows trickling out, prompts, echoes, footers).
 */
export function* psqlEvents(seed: number): Generator<BenchEvent> {
  const r = rng(seed);
  const rows = psqlResultRows();
  let time = 0;
  const tick = (s: number) => (time = Math.round((time + r() * s) * 1e6) / 1e6);
  let blockBytes = 0;
  let smallBytes = 0;
  const small = (type: Kind, text: string | Buffer): BenchEvent => {
    const data = typeof text === 'string' ? Buffer.from(text, 'utf8') : text;
    smallBytes += data.length;
    return { time: tick(0.01), type, data };
  };
  yield small('o', 'psql (16.2)\r\nType "help" for help.\r\n\r\n');
  for (const setting of ['\\pset format unaligned', "\\pset fieldsep '\\t'"]) {
    yield small('i', `${setting}\r`);
    yield small('o', `shop=> ${setting}\r\n`);
  }
  for (;;) {
    yield small('o', 'shop=> ');
    const sql = Buffer.from(psqlQuery(r), 'utf8');
    // Pasted or recalled from history (one read), or typed (a few bytes per read); each read is echoed.
    const pasted = r() < 0.7;
    for (let at = 0; at < sql.length; ) {
      const n = pasted ? sql.length : 1 + Math.floor(r() * 16);
      const piece = sql.subarray(at, at + n);
      at += piece.length;
      time = Math.round((time + r() * (pasted ? 0.01 : 0.15)) * 1e6) / 1e6;
      yield { time, type: 'i', data: piece };
      smallBytes += piece.length;
      yield small('o', piece);
    }
    yield small('i', '\r');
    yield small('o', `\r\n${PSQL_HEADER}`);
    let lines: number;
    if (blockBytes <= smallBytes) {
      // A big result: 1–4 full 64 KiB blocks; the last, partial buffer goes out in small writes.
      const blocks = 1 + Math.floor(r() * 4);
      const from = lineStart(rows, Math.floor(r() * (rows.length - (blocks + 1) * BLOCK_BYTES)));
      for (let b = 0; b < blocks; b++) {
        const data = rows.subarray(from + b * BLOCK_BYTES, from + (b + 1) * BLOCK_BYTES);
        blockBytes += data.length;
        yield { time: tick(0.002), type: 'o', data };
      }
      const end = lineStart(rows, from + blocks * BLOCK_BYTES);
      const rest = rows.subarray(from + blocks * BLOCK_BYTES, end);
      if (rest.length) yield small('o', rest);
      lines = countLines(rows.subarray(from, end));
    } else {
      // A small result, rows written as they come: writes of 20–400 bytes, cut anywhere.
      const count = 1 + Math.floor(r() * 60);
      const from = lineStart(rows, Math.floor(r() * (rows.length - 64 * 1024)));
      let end = from;
      for (let k = 0; k < count; k++) end = lineStart(rows, end);
      for (let at = from; at < end; ) {
        const n = Math.min(end - at, 20 + Math.floor(r() * 380));
        yield small('o', rows.subarray(at, at + n));
        at += n;
      }
      lines = count;
    }
    yield small('o', `(${lines} row${lines === 1 ? '' : 's'})\r\n\r\n`);
    if (r() < 0.03) yield { time: tick(0.05), type: 'e', data: Buffer.from(`ERROR:  canceling statement due to user request\r\n`) };
  }
}

// ---- Postgres wire protocol ----------------------------------------------------------------------

function frame(type: string | null, body: Buffer): Buffer {
  const head = Buffer.alloc(type === null ? 4 : 5);
  if (type === null) head.writeInt32BE(body.length + 4, 0);
  else {
    head.write(type, 0, 'latin1');
    head.writeInt32BE(body.length + 4, 1);
  }
  return Buffer.concat([head, body]);
}
const cstr = (s: string) => Buffer.from(`${s}\0`, 'utf8');
const i16 = (n: number) => Buffer.from([(n >> 8) & 0xff, n & 0xff]);
const i32 = (n: number) => {
  const b = Buffer.alloc(4);
  b.writeInt32BE(n);
  return b;
};

function sqlText(r: () => number): string {
  if (r() < 0.5) {
    const cols = ['id', 'email', 'status', 'total', 'created_at', 'region'];
    const n = 1 + Math.floor(r() * cols.length);
    return `SELECT ${cols.slice(0, n).join(', ')} FROM orders WHERE customer_id = ${Math.floor(r() * 1e6)} AND status = 'paid' ORDER BY created_at DESC LIMIT ${1 + Math.floor(r() * 100)};`;
  }
  const rowsN = 1 + Math.floor(r() * (r() < 0.9 ? 8 : 120));
  const values: string[] = [];
  for (let k = 0; k < rowsN; k++) {
    values.push(`(${Math.floor(r() * 1e6)}, 'user${Math.floor(r() * 1e5)}@example.com', 'Zürich — café ${k}', ${(r() * 1000).toFixed(2)}, now())`);
  }
  return `INSERT INTO orders (customer_id, email, note, total, created_at) VALUES ${values.join(', ')};`;
}

/** A Postgres CONNECT session: startup, password, simple and extended queries in, result frames out. */
export function* pgwireEvents(seed: number): Generator<BenchEvent> {
  const r = rng(seed);
  const { rows } = textPools();
  let time = 0;
  const tick = () => (time = Math.round((time + r() * 0.2) * 1e6) / 1e6);
  yield { time: tick(), type: 'i', data: frame(null, i32(80877103)) };
  yield { time: tick(), type: 'i', data: frame(null, Buffer.concat([i32(196608), cstr('user'), cstr('alice'), cstr('database'), cstr('shop'), Buffer.from([0])])) };
  yield { time: tick(), type: 'i', data: frame('p', cstr('not-a-real-password')) };
  for (;;) {
    const sql = sqlText(r);
    let input: Buffer;
    if (r() < 0.7) input = frame('Q', cstr(sql));
    else {
      input = Buffer.concat([
        frame('P', Buffer.concat([cstr(''), cstr(sql), i16(0)])),
        frame('B', Buffer.concat([cstr(''), cstr(''), i16(0), i16(0), i16(0)])),
        frame('D', Buffer.concat([Buffer.from('P'), cstr('')])),
        frame('E', Buffer.concat([cstr(''), i32(0)])),
        frame('S', Buffer.alloc(0)),
      ]);
    }
    if (r() < 0.1 && input.length > 16) {
      // A socket write split mid-frame, as drivers sometimes do.
      const cut = 1 + Math.floor(r() * (input.length - 1));
      yield { time: tick(), type: 'i', data: input.subarray(0, cut) };
      yield { time: tick(), type: 'i', data: input.subarray(cut) };
    } else yield { time: tick(), type: 'i', data: input };
    const out: Buffer[] = [frame('T', Buffer.concat([i16(1), cstr('row'), i32(0), i16(0), i32(25), i16(-1), i32(-1), i16(0)]))];
    const nRows = Math.floor(r() * (r() < 0.9 ? 10 : 200));
    for (let k = 0; k < nRows; k++) {
      const value = slice(r, rows, 40 + Math.floor(r() * 80));
      out.push(frame('D', Buffer.concat([i16(1), i32(value.length), value])));
    }
    out.push(frame('C', cstr(`SELECT ${nRows}`)), frame('Z', Buffer.from('I')));
    yield { time: tick(), type: 'o', data: Buffer.concat(out) };
  }
}

// ---- batching and wire format --------------------------------------------------------------------

/** Takes events until `bytes` of payload; returns batches of about `batchBytes` (and ≤ maxEvents). */
export function* batches(
  events: Iterator<BenchEvent>,
  bytes: number,
  batchBytes: number,
  maxEvents = 100_000,
): Generator<{ events: BenchEvent[]; payload: number }> {
  let total = 0;
  while (total < bytes) {
    const batch: BenchEvent[] = [];
    let payload = 0;
    while (payload < batchBytes && total + payload < bytes && batch.length < maxEvents) {
      const ev = events.next().value as BenchEvent;
      batch.push(ev);
      payload += ev.data.length;
    }
    total += payload;
    yield { events: batch, payload };
  }
}

/** The calls of `batches`: each batch's events. */
export function* batchCalls(events: Iterator<BenchEvent>, bytes: number, batchBytes: number): Generator<BenchEvent[]> {
  for (const batch of batches(events, bytes, batchBytes)) yield batch.events;
}

/**
 * Append calls of exactly `callBytes` payload each (or, given a function, of the size it returns for
 * each call), as a gateway that flushes its buffer at a size sends them: an event that does not fit
 * is cut at that byte and its rest opens the next call. Endless, or until `totalBytes` have been sent.
 */
export function* fixedSizeCalls(events: Iterator<BenchEvent>, callBytes: number | (() => number), totalBytes = Infinity): Generator<BenchEvent[]> {
  let carry: BenchEvent | undefined;
  for (let sent = 0; sent < totalBytes; ) {
    const bytes = typeof callBytes === 'number' ? callBytes : callBytes();
    sent += bytes;
    const call: BenchEvent[] = [];
    let size = 0;
    while (size < bytes) {
      const ev = carry ?? (events.next().value as BenchEvent);
      carry = undefined;
      const room = bytes - size;
      if (ev.data.length > room) {
        call.push({ ...ev, data: ev.data.subarray(0, room) });
        carry = { ...ev, data: ev.data.subarray(room) };
        size += room;
      } else {
        call.push(ev);
        size += ev.data.length;
      }
    }
    yield call;
  }
}

/** The `events` argument of appendSessionEvents, as JSON text. */
export function eventsJson(events: readonly BenchEvent[]): string {
  const parts = new Array<string>(events.length);
  for (let k = 0; k < events.length; k++) {
    const e = events[k]!;
    parts[k] = `{"time":${e.time},"type":"${TYPE_NAME[e.type]}","data":"${e.data.toString('base64')}"}`;
  }
  return `[${parts.join(',')}]`;
}

export interface StreamTotals {
  events: number;
  bytes: number;
  byKind: Record<Kind, number>;
}

export function emptyTotals(): StreamTotals {
  return { events: 0, bytes: 0, byKind: { i: 0, o: 0, e: 0 } };
}

export function addTotals(t: StreamTotals, events: readonly BenchEvent[]): void {
  for (const e of events) {
    t.events++;
    t.bytes += e.data.length;
    t.byKind[e.type] += e.data.length;
  }
}
