/*
 * Deterministic, realistic session content: a terminal session (many small writes — keystroke
 * echoes, prompts, lines — and now and then a 64 KiB block of query results) and a Postgres
 * wire-protocol session (client frames in, backend frames out) for RAW_QUERIES.
 */

export type Kind = 'i' | 'o' | 'e';
export interface BenchEvent {
  time: number;
  type: Kind;
  data: Buffer;
}

const TYPE_NAME: Record<Kind, string> = { i: 'INPUT', o: 'OUTPUT', e: 'ERROR' };

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
