import fc from 'fast-check';
import type { EventType, SessionEvent } from '../../src/sessions/event.ts';
import { bind, bytes, describe as describeMessage, execute, int32, parse, passwordMessage, PROTOCOL_3_0, query, sslRequest, startup, sync, typed } from '../pgwire/frames.ts';
import { MAX_NEEDLE, oracleUnits, type OracleSession } from './oracle.ts';

/*
 * fast-check arbitraries for random sessions that stress spec §12: text streams full of escape
 * sequences, line breaks, deletions, controls and multi-byte or broken UTF-8, cut into events at
 * arbitrary byte positions; Postgres CONNECT sessions made of wire frames cut the same way; and
 * needles that mostly hit.
 */

/** A session as a recorder opens it, plus its events (OracleSession is what §12 looks at). */
export interface RandomSession extends OracleSession {
  type: string;
  connectionSubtype: string | null;
}

const encoder = new TextEncoder();
const utf8 = (s: string) => encoder.encode(s);

/**
 * Words that recur across sessions so that needles hit. Some are there for case folding (Kelvin
 * sign K, Å ångström sign, İ, Σ, ß, ǅ), some for SQL LIKE's wildcards and escape (%, _, \), which
 * must match literally.
 */
export const VOCABULARY = [
  'drop table',
  'DROP TABLE users;',
  'select',
  'users',
  'rm -rf /',
  'ls -la',
  'password',
  'café',
  'straße',
  'ΣΊΣΥΦΟΣ',
  'İstanbul',
  '\u212Aelvin', // KELVIN SIGN, lower-cases to ASCII k
  '\u212Bngström', // ANGSTROM SIGN, lower-cases to å
  'ǅungla',
  '中文字',
  '😀 ok',
  '50%',
  '100%_done',
  'a_b',
  'C:\\tmp\\x',
  'x%y_z\\w',
];

/** Characters of 2, 3 and 4 UTF-8 bytes (U+FEFF included: kept as a character, even first). */
const MULTIBYTE = ['é', 'ß', 'Σ', 'İ', 'ı', '\u212A', '€', '中', '\uFEFF', '\u00A0', '😀', '𝔸', '\u{10FFFF}', 'ǅ'];

/** Any character but a surrogate, weighted to the multi-byte ones above. */
const anyChar = fc.oneof(
  { arbitrary: fc.constantFrom(...MULTIBYTE), weight: 3 },
  { arbitrary: fc.integer({ min: 0xa0, max: 0x10ffff }).filter((c) => c < 0xd800 || c > 0xdfff).map((c) => String.fromCodePoint(c)), weight: 1 },
);

const printable = fc.string({ unit: fc.integer({ min: 0x20, max: 0x7e }).map((c) => String.fromCharCode(c)), maxLength: 12 });

/** A vocabulary word in some letter case. */
const word = fc
  .tuple(fc.constantFrom(...VOCABULARY), fc.constantFrom('as is', 'upper', 'lower'))
  .map(([w, c]) => (c === 'upper' ? w.toUpperCase() : c === 'lower' ? w.toLowerCase() : w));

const lineBreak = fc.constantFrom('\n', '\r', '\r\n', '\n\n', '\r\r\n', '\n\r');

/** BS and DEL, alone or in runs. */
const deletions = fc.array(fc.constantFrom('\b', '\x7f'), { minLength: 1, maxLength: 4 }).map((a) => a.join(''));

/** C0 controls (any, including the ones with meaning), C1 controls as characters (U+0085 too). */
const control = fc.oneof(
  fc.integer({ min: 0, max: 0x1f }).map((c) => String.fromCharCode(c)),
  fc.integer({ min: 0x80, max: 0x9f }).map((c) => String.fromCharCode(c)),
  fc.constant('\u0085'),
  fc.constant('\t'),
);

const csiParams = fc.string({ unit: fc.integer({ min: 0x30, max: 0x3f }).map((c) => String.fromCharCode(c)), maxLength: 5 });
const csiIntermediates = fc.string({ unit: fc.integer({ min: 0x20, max: 0x2f }).map((c) => String.fromCharCode(c)), maxLength: 2 });
const finalByte = (lo: number) => fc.integer({ min: lo, max: 0x7e }).map((c) => String.fromCharCode(c));
/** What may sit inside an OSC or string sequence: text, line breaks, BEL (which ends only an OSC). */
const sequenceBody = fc.array(fc.oneof(printable, lineBreak, anyChar, fc.constant('\x07')), { maxLength: 4 }).map((a) => a.join(''));

/**
 * Escape sequences: complete ones of each kind, ones interrupted by whatever follows them (CSI
 * parameters with no final: the next token interrupts it or it is cut off at the end), and
 * strings ended by an ESC that is not followed by `\`.
 */
const escape = fc.oneof(
  fc.constantFrom('\x1b[1m', '\x1b[0;31m', '\x1b[?25l', '\x1b[2J', '\x1b[K', '\x1b[ q', '\x1b(B', '\x1b7', '\x1b=', '\x1b#8'),
  fc.tuple(csiParams, csiIntermediates, finalByte(0x40)).map(([p, i, f]) => `\x1b[${p}${i}${f}`),
  fc.tuple(csiIntermediates, finalByte(0x30)).map(([i, f]) => `\x1b${i}${f}`),
  fc.tuple(sequenceBody, fc.constantFrom('\x07', '\x1b\\')).map(([b, end]) => `\x1b]${b.replaceAll('\x07', '')}${end}`),
  fc.tuple(fc.constantFrom('P', 'X', '^', '_'), sequenceBody).map(([k, b]) => `\x1b${k}${b}\x1b\\`),
  // Ended by an ESC that starts another escape (or is itself interrupted).
  fc.tuple(fc.constantFrom(']', 'P', '_'), sequenceBody, fc.constantFrom('[1m', 'a', '\n', 'x', ']0;t\x07', '(')).map(
    ([k, b, next]) => `\x1b${k}${b.replaceAll('\x07', '')}\x1b${next}`,
  ),
  // Unfinished: whatever comes next interrupts it, or the end of the text cuts it off.
  fc.tuple(fc.constantFrom('\x1b', '\x1b[', '\x1b]', '\x1bP', '\x1b('), csiParams).map(([a, b]) => a + b),
  fc.constantFrom('\x1b\x1b[1m', '\x1b[12\n', '\x1b[ 1m', '\x1b[1\x7f', '\x1b\u009b', '\u009b31m'),
);

/** A line longer than a hit's 500 code points, with a word somewhere in it. */
const longLine = fc
  .tuple(fc.nat(), fc.integer({ min: 450, max: 900 }), word, fc.constantFrom('x', 'ab', 'x', 'é', '😀', ' '))
  .map(([at, length, w, fill]) => {
    const chars: string[] = Array.from({ length }, () => fill);
    chars.splice(at % (length + 1), 0, w);
    return chars.join('');
  });

/** A piece of valid text: what scripts are made of, and most of a stream. */
const textToken = fc.oneof(
  { arbitrary: printable, weight: 6 },
  { arbitrary: word, weight: 8 },
  { arbitrary: anyChar, weight: 3 },
  { arbitrary: lineBreak, weight: 9 },
  { arbitrary: escape, weight: 4 },
  { arbitrary: deletions, weight: 2 },
  { arbitrary: control, weight: 2 },
  { arbitrary: fc.constantFrom(' ', '  ', '\t'), weight: 2 },
  { arbitrary: longLine, weight: 1 },
);

/** Bytes that are not UTF-8: stray continuations, bad leads, truncated, overlong, surrogates. */
const invalidBytes = fc.oneof(
  fc.constantFrom(
    [0x80],
    [0xbf],
    [0xc0],
    [0xc1, 0x81],
    [0xf5],
    [0xff],
    [0xe2, 0x82],
    [0xf0, 0x9f],
    [0xf0, 0x9f, 0x98],
    [0xed, 0xa0, 0x80],
    [0xf4, 0x90, 0x80, 0x80],
    [0xe0, 0x80, 0xaf],
    [0xf0, 0x80, 0x80],
  ),
  fc.array(fc.integer({ min: 0x80, max: 0xff }), { minLength: 1, maxLength: 3 }),
).map((b) => Uint8Array.from(b));

const byteToken = fc.oneof({ arbitrary: textToken.map(utf8), weight: 9 }, { arbitrary: invalidBytes, weight: 1 });

/** A text stream as bytes. */
export const textStream = (maxTokens = 40) => fc.array(byteToken, { maxLength: maxTokens, size: 'medium' }).map((parts) => bytes(...parts));

/** Script text (GraphQL strings: valid Unicode; PostgreSQL text: no NUL). */
export const scriptText = fc.array(textToken, { minLength: 1, maxLength: 25, size: 'medium' }).map((parts) => parts.join('').replaceAll('\0', ' '));

/** Cuts `stream` into pieces at random byte offsets (some pieces empty). */
function cutStream(stream: Uint8Array, seeds: number[]): Uint8Array[] {
  const points = seeds.map((s) => s % (stream.length + 1)).sort((a, b) => a - b);
  const pieces: Uint8Array[] = [];
  let from = 0;
  for (const p of [...points, stream.length]) {
    pieces.push(stream.slice(from, p));
    from = p;
  }
  // Mostly no empty events; keep the odd one to show they change nothing.
  return pieces.filter((p, k) => p.length > 0 || k % 5 === 1);
}

// fast-check keeps arrays under about 10 elements unless told a size: ask for the lengths given.
const cutSeeds = fc.array(fc.nat(), { maxLength: 14, size: 'medium' });

/** Event times: mostly non-decreasing (equal ones included), sometimes in any order. */
const times = (n: number) =>
  fc
    .tuple(fc.array(fc.integer({ min: 0, max: 5000 }), { minLength: n, maxLength: n }), fc.integer({ min: 0, max: 9 }), fc.constantFrom(1000, 1, 1e6))
    .map(([ms, order, scale]) => (order < 7 ? [...ms].sort((a, b) => a - b) : ms).map((t) => t / scale));

/**
 * Two event lists merged in random order, keeping each list's own order: the input and output
 * sides of a session interleave like a terminal's.
 */
const interleave = <T>(a: T[], b: T[], picks: boolean[]): T[] => {
  const out: T[] = [];
  let i = 0;
  let j = 0;
  for (let k = 0; i < a.length || j < b.length; k++) {
    if (j >= b.length || (i < a.length && picks[k % Math.max(1, picks.length)])) out.push(a[i++]!);
    else out.push(b[j++]!);
  }
  return out;
};

/** Pieces of bytes → events: types and times given, interleaved, then times assigned in order. */
function eventsOf(input: Uint8Array[], output: Uint8Array[], outputTypes: boolean[], picks: boolean[], timeList: number[]): SessionEvent[] {
  const tagged = (pieces: Uint8Array[], type: (k: number) => EventType) => pieces.map((data, k) => ({ type: type(k), data }));
  const merged = interleave(
    tagged(input, () => 'i'),
    tagged(output, (k) => (outputTypes[k % Math.max(1, outputTypes.length)] ? 'e' : 'o')),
    picks,
  );
  return merged.map((e, k) => ({ time: timeList[k] ?? k, type: e.type, data: e.data }));
}

const eventLayout = fc.record({
  // Mostly `o`, now and then `e`: both are OUTPUT, in recorded order.
  outputTypes: fc.array(fc.integer({ min: 0, max: 3 }).map((n) => n === 0), { maxLength: 8 }),
  picks: fc.array(fc.boolean(), { minLength: 1, maxLength: 16 }),
});

/** SQL text for a Query or Parse: text with whitespace runs, sometimes broken UTF-8; never a NUL. */
const sqlText = fc
  .array(
    fc.oneof(
      { arbitrary: word.map(utf8), weight: 4 },
      { arbitrary: printable.map(utf8), weight: 3 },
      { arbitrary: fc.constantFrom(' ', '  ', '\t', '\n', '\r\n', '\v', '\f', ' \t\n ').map(utf8), weight: 4 },
      { arbitrary: anyChar.map(utf8), weight: 1 },
      { arbitrary: invalidBytes, weight: 1 },
      { arbitrary: escape.map(utf8), weight: 1 },
    ),
    { maxLength: 10 },
  )
  .map((parts) => bytes(...parts).map((b) => b || 0x20));

/** Client messages of a Postgres conversation. */
const pgMessage = fc.oneof(
  { arbitrary: sqlText.map((sql) => query(sql)), weight: 6 },
  { arbitrary: fc.tuple(fc.constantFrom('', 's1', 'stmt'), sqlText).map(([name, sql]) => parse(name, sql, [23])), weight: 3 },
  {
    arbitrary: fc.constantFrom(
      bind('', '', [utf8('drop table')]),
      execute(''),
      sync(),
      describeMessage('S', 's1'),
      passwordMessage('drop table secret'),
      typed('d', 'select users copy data'),
    ),
    weight: 2,
  },
  // A length out of range: the parser resumes at the next event.
  { arbitrary: fc.constant(bytes([0x51], int32(2), 'select lost')), weight: 1 },
);

const pgConversation = fc
  .tuple(fc.boolean(), fc.array(pgMessage, { maxLength: 12, size: 'medium' }))
  .map(([handshake, messages]) =>
    bytes(
      ...(handshake ? [sslRequest(), startup(PROTOCOL_3_0, { user: 'bob', database: 'db' }), passwordMessage('hunter2')] : []),
      ...messages,
    ),
  );

type Kind = 'connect' | 'postgres connect' | 'exec' | 'postgres exec';

/** How a session of each kind is opened: the attributes that make it Postgres or not (§4.3). */
const attributes = (kind: Kind) =>
  kind.startsWith('postgres')
    ? fc.constantFrom({ type: 'database', connectionSubtype: 'postgres' }, { type: 'postgres', connectionSubtype: null as string | null })
    : fc.constantFrom(
        { type: 'custom', connectionSubtype: 'ssh' as string | null },
        { type: 'application', connectionSubtype: null },
        { type: 'database', connectionSubtype: 'mysql' },
      );

function sessionOf(kind: Kind): fc.Arbitrary<RandomSession> {
  const postgres = kind.startsWith('postgres');
  const verb = kind.endsWith('exec') ? 'EXEC' : 'CONNECT';
  // CONNECT sessions rarely carry a script; EXEC sessions mostly do, and their `i` events repeat it.
  const script =
    verb === 'EXEC'
      ? fc.oneof({ arbitrary: scriptText, weight: 5 }, { arbitrary: fc.constant(null), weight: 1 })
      : fc.oneof({ arbitrary: scriptText, weight: 1 }, { arbitrary: fc.constant(null), weight: 6 });
  const inputStream: fc.Arbitrary<Uint8Array> =
    kind === 'postgres connect' ? pgConversation : kind === 'connect' ? textStream(30) : fc.constant(new Uint8Array());
  return fc
    .record({
      attrs: attributes(kind),
      script,
      input: inputStream,
      output: textStream(60),
      inputCuts: cutSeeds,
      outputCuts: cutSeeds,
      layout: eventLayout,
    })
    .chain((r) => {
      // EXEC: the script again as input events, which search must not count.
      const input = verb === 'EXEC' ? (r.script === null ? new Uint8Array() : utf8(r.script)) : r.input;
      const inputPieces = cutStream(input, r.inputCuts);
      const outputPieces = cutStream(r.output, r.outputCuts);
      const n = inputPieces.length + outputPieces.length;
      return times(n).map(
        (timeList): RandomSession => ({
          verb,
          postgres,
          type: r.attrs.type,
          connectionSubtype: r.attrs.connectionSubtype,
          script: r.script,
          events: eventsOf(inputPieces, outputPieces, r.layout.outputTypes, r.layout.picks, timeList),
        }),
      );
    });
}

/** Any kind of session, mostly the ones with the most text to clean. */
export const randomSession: fc.Arbitrary<RandomSession> = fc.oneof(
  { arbitrary: sessionOf('connect'), weight: 4 },
  { arbitrary: sessionOf('postgres connect'), weight: 3 },
  { arbitrary: sessionOf('exec'), weight: 2 },
  { arbitrary: sessionOf('postgres exec'), weight: 1 },
);

export const postgresConnectSession = sessionOf('postgres connect');

const cps = (s: string) => Array.from(s);

/** A needle in some letter case: as is, upper, lower, or each character flipped at random. */
const recase = (needle: string) =>
  fc.tuple(fc.constantFrom('as is', 'upper', 'lower', 'mixed'), fc.array(fc.boolean(), { minLength: 1, maxLength: 8 })).map(([how, flips]) => {
    if (how === 'upper') return needle.toUpperCase();
    if (how === 'lower') return needle.toLowerCase();
    if (how === 'mixed') return cps(needle).map((c, k) => (flips[k % flips.length] ? c.toUpperCase() : c.toLowerCase())).join('');
    return needle;
  });

/** A needle that must not match through LIKE: a word with a character turned into % or _. */
const wildcardNeedle = fc
  .tuple(fc.constantFrom(...VOCABULARY), fc.nat(), fc.constantFrom('%', '_', '\\', '%%', '\\%', '\\_'))
  .map(([w, at, wild]) => {
    const chars = cps(w);
    const k = at % chars.length;
    return [...chars.slice(0, k), wild, ...chars.slice(k + 1)].join('');
  });

/** Text that §12 refuses as a needle. */
export const badNeedle = fc.oneof(
  fc.constantFrom('', '   ', '\t\n', 'drop\ntable', 'drop\rtable', 'a'.repeat(MAX_NEEDLE + 1), 'é'.repeat(MAX_NEEDLE + 1), ' \v\f '),
);

/**
 * Needles for these sessions: mostly pieces of their searchable text (so there are hits), in
 * any letter case and sometimes padded with whitespace (trimmed off); sometimes a vocabulary
 * word, a LIKE wildcard, a random string, or (rarely) one the API must refuse.
 */
export function needleFor(sessions: readonly OracleSession[]): fc.Arbitrary<string> {
  const units = sessions.flatMap((s) => oracleUnits(s).map((u) => u.text));
  const piece =
    units.length === 0
      ? fc.constantFrom(...VOCABULARY)
      : fc
          .tuple(
            fc.nat(),
            fc.nat(),
            // Short pieces hit many lines (several hits per session); long ones pin one down.
            fc.oneof({ arbitrary: fc.integer({ min: 1, max: 3 }), weight: 3 }, { arbitrary: fc.integer({ min: 4, max: 10 }), weight: 2 }, fc.integer({ min: 11, max: 40 })),
          )
          .map(([u, start, length]) => {
          const chars = cps(units[u % units.length]!);
          const from = start % chars.length;
          return chars.slice(from, from + length).join('');
        });
  const padded = (a: fc.Arbitrary<string>) =>
    fc.tuple(fc.constantFrom('', '', '', ' ', '\t ', '  '), a, fc.constantFrom('', '', '', ' ', ' \t')).map(([l, n, r]) => l + n + r);
  // A piece of a vocabulary word: words recur across sessions, so these hit several.
  const wordPiece = fc.tuple(fc.constantFrom(...VOCABULARY), fc.nat(), fc.integer({ min: 2, max: 6 })).map(([w, start, length]) => {
    const chars = cps(w);
    const from = start % chars.length;
    return chars.slice(from, from + length).join('');
  });
  return fc.oneof(
    { arbitrary: padded(piece.chain(recase)), weight: 10 },
    { arbitrary: wordPiece.chain(recase), weight: 6 },
    { arbitrary: word.chain(recase), weight: 2 },
    // One common letter: many lines of a session hit, so order and paging have work to do.
    { arbitrary: fc.constantFrom('e', 'a', 'o', 'r', 's', 't', 'x', 'E', 'S', 'x'), weight: 4 },
    { arbitrary: wildcardNeedle, weight: 2 },
    { arbitrary: fc.constantFrom('%', '_', '\\', '%_', '.*', 'a%'), weight: 1 },
    { arbitrary: fc.string({ minLength: 1, maxLength: 4 }), weight: 1 },
    { arbitrary: badNeedle, weight: 1 },
  );
}
