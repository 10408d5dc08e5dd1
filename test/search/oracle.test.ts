import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { queriesFromEvents } from '../../src/pgwire/queries.ts';
import type { EventType, SessionEvent } from '../../src/sessions/event.ts';
import { bytes, fromHex, parse, passwordMessage, query, split, sslRequest, startup, PROTOCOL_3_0, sync } from '../pgwire/frames.ts';
import { vectors } from '../support/vectors.ts';
import {
  checkNeedle,
  decodeEvents,
  decodeWithOffsets,
  linePiece,
  oracleHits,
  oracleUnits,
  wireQueries,
  type OracleSession,
  type Source,
} from './oracle.ts';
import { badNeedle, needleFor, postgresConnectSession, randomSession } from './random-sessions.ts';

/*
 * The oracle of spec §12 against the spec's own examples and cases worked by hand. The real
 * search is tested against this oracle (api-properties.test.ts), so each rule it encodes is
 * pinned here first.
 */

const ev = (time: number, type: EventType, data: string | number[] | Uint8Array): SessionEvent => ({
  time,
  type,
  data: typeof data === 'string' ? new TextEncoder().encode(data) : Uint8Array.from(data),
});

/** A terminal session (CONNECT, not Postgres) with these events. */
const terminal = (...events: SessionEvent[]): OracleSession => ({ verb: 'CONNECT', postgres: false, script: null, events });
/** Output of one `o` event at time 1, as terminal units. */
const cleaned = (text: string | number[]): string[] => units(terminal(ev(1, 'o', text)), 'OUTPUT');
const units = (s: OracleSession, source?: Source): string[] =>
  oracleUnits(s)
    .filter((u) => source === undefined || u.source === source)
    .map((u) => u.text);

describe('cleaning (§12 rules 1–4)', () => {
  it('removes escape sequences from the middle of words: DR\\e[1mOP TABLE is found as "drop table"', () => {
    const s = terminal(ev(2.5, 'o', 'psql> DR\x1b[1mOP TABLE users;\n'));
    expect(units(s)).toEqual(['psql> DROP TABLE users;']);
    expect(oracleHits(s, 'drop table')).toEqual([{ time: 2.5, type: 'o', source: 'OUTPUT', line: 'psql> DROP TABLE users;', position: 0 }]);
  });

  it('applies BS and DEL to the line being typed: lss DEL -la is ls -la', () => {
    expect(units(terminal(ev(0, 'i', 'lss\x7f -la\r')), 'INPUT')).toEqual(['ls -la']);
    expect(cleaned('abc\b\bx')).toEqual(['ax']);
  });

  it('deletes nothing at the start of a line, and never across a line break', () => {
    expect(cleaned('\b\x7fab\n\b\bc')).toEqual(['ab', 'c']);
    expect(cleaned('ab\n\b')).toEqual(['ab']);
  });

  it('deletes a whole character, however many bytes or UTF-16 units it has', () => {
    expect(cleaned('xé\b😀\by')).toEqual(['xy']);
  });

  it('deletes what precedes an escape sequence, since the sequence left nothing behind', () => {
    expect(cleaned('ab\x1b[1m\bc')).toEqual(['ac']);
  });

  it('ends lines at CR LF, lone LF and lone CR; empty lines are not units and do not count as positions', () => {
    const s = terminal(ev(0, 'o', 'one\r\ntwo\rthree\n\n\r\r\nfour\n\rfive'));
    expect(oracleUnits(s).map((u) => [u.text, u.position])).toEqual([
      ['one', 0],
      ['two', 1],
      ['three', 2],
      ['four', 3],
      ['five', 4],
    ]);
  });

  it('does not trim lines, and keeps TAB', () => {
    expect(cleaned('  a\tb  \n\t\n')).toEqual(['  a\tb  ', '\t']);
  });

  it('removes an OSC ended by BEL and one ended by ESC \\', () => {
    expect(cleaned('x\x1b]0;user@host: ~\x07y')).toEqual(['xy']);
    expect(cleaned('see \x1b]8;;https://example.com\x1b\\the link\x1b]8;;\x1b\\ here')).toEqual(['see the link here']);
  });

  it('treats line breaks inside an OSC or string sequence as part of it', () => {
    expect(cleaned('a\x1b]0;two\nlines\r\x07b')).toEqual(['ab']);
    expect(cleaned('a\x1bPq\n#0;2\x07still\x1b\\b')).toEqual(['ab']); // BEL does not end a DCS
    expect(cleaned('a\x1b_x\ny\x1b\\b\x1b^pm\x1b\\c\x1bXsos\x1b\\d')).toEqual(['abcd']);
  });

  it('ends an OSC at an ESC not followed by \\, which starts a new escape', () => {
    expect(cleaned('a\x1b]0;title\x1b[31mb')).toEqual(['ab']); // the ESC begins a CSI, removed too
    expect(cleaned('a\x1b]0;title\x1bMb')).toEqual(['ab']); // ESC M: a complete two-character escape
    expect(cleaned('a\x1b]0;title\x1b\nb')).toEqual(['a', 'b']); // that ESC is interrupted by LF
    expect(cleaned('a\x1b]0;t\x1b\x1b]0;u\x07b')).toEqual(['ab']); // ESC ESC: the second begins the next
  });

  it('drops an escape cut off by the end of the text', () => {
    expect(cleaned('abc\x1b[12')).toEqual(['abc']);
    expect(cleaned('abc\x1b')).toEqual(['abc']);
    expect(cleaned('abc\x1b]0;never ended\nmore')).toEqual(['abc']);
    expect(cleaned('abc\x1bPq data')).toEqual(['abc']);
    expect(cleaned('abc\x1b(')).toEqual(['abc']);
  });

  it('ends an interrupted CSI at the interrupting character, which counts as itself', () => {
    expect(cleaned('x\x1b[12\ny')).toEqual(['x', 'y']); // the line break is kept
    expect(cleaned('x\x1b[1;2 zy')).toEqual(['xy']); // complete: params, intermediate, final z
    expect(cleaned('x\x1b[12éy')).toEqual(['xéy']);
    expect(cleaned('ab\x1b[1\x7fc')).toEqual(['ac']); // DEL interrupts, then deletes b
    expect(cleaned('a\x1b[1\x1b[2mb')).toEqual(['ab']); // ESC interrupts and starts its own
  });

  it('reads CSI as parameters, then intermediates, then a final: a parameter after an intermediate interrupts it', () => {
    // Our reading of the grammar `ESC [ 0x30–0x3F* 0x20–0x2F* 0x40–0x7E`: ESC [ SP is consumed
    // and dropped, and "1m" is text.
    expect(cleaned('a\x1b[ 1mb')).toEqual(['a1mb']);
  });

  it('removes other escapes: ESC, intermediates 0x20–0x2F, one final 0x30–0x7E', () => {
    expect(cleaned('a\x1b(Bb\x1b7c\x1b=d\x1b#8e\x1b%@f')).toEqual(['abcdef']);
    expect(cleaned('a\x1b(\nb')).toEqual(['a', 'b']); // interrupted: ESC ( dropped, LF kept
    expect(cleaned('a\x1bé')).toEqual(['aé']); // ESC interrupted by a non-ASCII character
  });

  it('drops other C0 controls and C1 controls one character each; C1 starts no sequence', () => {
    expect(cleaned([0x61, 0x00, 0x01, 0x07, 0x0b, 0x0c, 0x1c, 0x1f, 0x62])).toEqual(['ab']);
    expect(cleaned('a\u0080\u009fb\u009b31mc')).toEqual(['ab31mc']); // U+009B is not a CSI
  });

  it('does not break lines at U+0085 (NEL)', () => {
    expect(cleaned('one\u0085two')).toEqual(['onetwo']);
  });

  it('keeps DEL and BS semantics separate from C0 dropping: a dropped control deletes nothing', () => {
    expect(cleaned('ab\x00\x01c')).toEqual(['abc']);
  });
});

describe('decoding', () => {
  it('decodes a character split across two events whole, at the time of the event holding its first byte', () => {
    const s = terminal(ev(0.1, 'o', [0x63, 0x61, 0x66, 0xc3]), ev(0.2, 'o', [0xa9, 0x21]));
    expect(units(s)).toEqual(['café!']);
    expect(oracleHits(s, 'é!')).toEqual([{ time: 0.1, type: 'o', source: 'OUTPUT', line: 'café!', position: 0 }]);
    expect(oracleHits(s, '!')[0]!.time).toBe(0.2);
  });

  it('decodes a 4-byte character split over three events of different types', () => {
    const s = terminal(ev(1, 'e', [0x78, 0xf0]), ev(2, 'o', [0x9f]), ev(3, 'o', [0x98, 0x80, 0x79]));
    expect(units(s)).toEqual(['x😀y']);
    expect(oracleHits(s, '😀')).toEqual([{ time: 1, type: 'e', source: 'OUTPUT', line: 'x😀y', position: 0 }]);
    expect(oracleHits(s, 'y')[0]).toMatchObject({ time: 3, type: 'o' });
  });

  it('replaces invalid bytes with U+FFFD, each at the event holding the first byte it replaces', () => {
    // E2 82 is an unfinished €; A interrupts it and is itself.
    const s = terminal(ev(1, 'o', [0x61, 0xe2]), ev(2, 'o', [0x82]), ev(3, 'o', [0x41, 0xff]));
    expect(units(s)).toEqual(['a\uFFFDA\uFFFD']);
    expect(oracleUnits(s)[0]!.origins.map((o) => o.time)).toEqual([1, 1, 3, 3]);
  });

  it('gives one U+FFFD per maximal subpart, as TextDecoder does', () => {
    // F0 80 80: 80 is outside F0's range, so F0 alone is one, and each 80 another.
    expect(cleaned([0xf0, 0x80, 0x80, 0x41])).toEqual(['\uFFFD\uFFFD\uFFFDA']);
    expect(cleaned([0xf0, 0x9f, 0x98, 0x41])).toEqual(['\uFFFDA']);
  });

  it('keeps a U+FEFF that begins the stream as a character, as the UTF8 rendering does (no BOM sniffing)', () => {
    expect(cleaned('\uFEFFhello\uFEFF')).toEqual(['\uFEFFhello\uFEFF']);
    expect(units(terminal(ev(1, 'o', [0xef, 0xbb]), ev(2, 'o', [0xbf, 0x41])))).toEqual(['\uFEFFA']);
    // Open session, stream cut inside it: an unfinished character, U+FFFD for now.
    expect(units(terminal(ev(1, 'o', [0xef, 0xbb])))).toEqual(['\uFFFD']);
  });

  it('decodes each query’s SQL with TextDecoder as it is, which drops a U+FEFF that begins it', () => {
    const s: OracleSession = { verb: 'CONNECT', postgres: true, script: null, events: [ev(0, 'i', bytes(query('\uFEFFselect 1'), query('select \uFEFF2')))] };
    expect(units(s)).toEqual(['select 1', 'select \uFEFF2']);
  });

  it('finds where each character starts, for any bytes cut anywhere', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 60 }), fc.array(fc.nat(), { maxLength: 6 }), (stream, cuts) => {
        const events = split(stream, cuts.map((c) => c % (stream.length + 1))).map((data, k) => ({ time: k, type: 'o' as const, data }));
        const { cps, origins } = decodeEvents(events);
        expect(String.fromCodePoint(...cps)).toBe(new TextDecoder('utf-8', { ignoreBOM: true }).decode(stream));
        expect(origins).toHaveLength(cps.length);
        // Starts strictly increase, and each is where some character's bytes begin.
        const { starts } = decodeWithOffsets(stream);
        for (let k = 1; k < starts.length; k++) expect(starts[k]).toBeGreaterThan(starts[k - 1]!);
      }),
    );
  });

  it('finds the starts of valid UTF-8 at the sums of the characters’ encoded lengths', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'grapheme', maxLength: 20 }).filter((t) => !t.startsWith('\uFEFF')), (text) => {
        const chars = Array.from(text);
        let at = 0;
        const expected = chars.map((c) => {
          const start = at;
          at += new TextEncoder().encode(c).length;
          return start;
        });
        expect(decodeWithOffsets(new TextEncoder().encode(text)).starts).toEqual(expected);
      }),
    );
  });
});

describe('sources by kind of session', () => {
  it('splits a script at LF, drops one trailing CR, cleans nothing else, at time 0 as input', () => {
    const s: OracleSession = {
      verb: 'EXEC',
      postgres: false,
      script: 'echo 1\r\n\r\n  ls\x1b[1m -la\b\r\r\nlast\rline',
      events: [ev(5, 'i', 'echo 1\r\n'), ev(6, 'o', 'echo output\n')],
    };
    expect(oracleUnits(s).map((u) => [u.source, u.position, u.text])).toEqual([
      ['SCRIPT', 0, 'echo 1'],
      ['SCRIPT', 1, '  ls\x1b[1m -la\b\r'],
      ['SCRIPT', 2, 'last\rline'],
      ['OUTPUT', 0, 'echo output'],
    ]);
    // EXEC: the `i` events repeat the script and are not units of their own.
    expect(oracleHits(s, 'echo')).toEqual([
      { time: 0, type: 'i', source: 'SCRIPT', line: 'echo 1', position: 0 },
      { time: 6, type: 'o', source: 'OUTPUT', line: 'echo output', position: 0 },
    ]);
  });

  it('searches the §4.1 psql exec session through its output only (no script given)', () => {
    const session = vectors.sessions.find((s) => s.verb === 'EXEC')!;
    const s: OracleSession = {
      verb: 'EXEC',
      postgres: true,
      script: null,
      events: session.events.map(([time, type, data]) => ({ time, type, data: Buffer.from(data, 'base64') })),
    };
    expect(oracleUnits(s).map((u) => [u.source, u.text])).toEqual([
      ['OUTPUT', 'col1\tcol2'],
      ['OUTPUT', '1\t2'],
      ['OUTPUT', '(1 row)'],
      ['OUTPUT', 'ERROR: x'],
    ]);
    expect(oracleHits(s, 'select')).toEqual([]);
    expect(oracleHits(s, 'error')).toEqual([{ time: 1.7, type: 'e', source: 'OUTPUT', line: 'ERROR: x', position: 3 }]);
  });

  it('searches a Postgres CONNECT session through its queries only: §5’s example session', () => {
    const session = vectors.sessions.find((s) => s.verb === 'CONNECT')!;
    const s: OracleSession = {
      verb: 'CONNECT',
      postgres: true,
      script: null,
      events: [
        ...session.events.map(([time, type, data]) => ({ time, type, data: Buffer.from(data, 'base64') })),
        ev(0.45, 'o', 'select now() output text\n'), // server frames: never searched
      ],
    };
    expect(oracleUnits(s)).toEqual([
      { source: 'QUERY', position: 0, text: 'select now();', origins: Array(13).fill({ time: 0.4, type: 'i' }) },
      { source: 'QUERY', position: 1, text: 'SELECT $1::int', origins: Array(14).fill({ time: 0.5, type: 'i' }) },
    ]);
    expect(oracleHits(s, 'SELECT')).toEqual([
      { time: 0.4, type: 'i', source: 'QUERY', line: 'select now();', position: 0 },
      { time: 0.5, type: 'i', source: 'QUERY', line: 'SELECT $1::int', position: 1 },
    ]);
    expect(oracleHits(s, 'output')).toEqual([]);
    expect(oracleHits(s, 'secret')).toEqual([]); // the password message is never searched
  });

  it('reads the public pgwire vectors as queries', () => {
    for (const v of vectors.pgwireVectors) {
      const s: OracleSession = { verb: 'CONNECT', postgres: true, script: null, events: [ev(3, 'i', fromHex(v.hex))] };
      expect(units(s, 'QUERY')).toEqual(v.queries);
    }
    const like: OracleSession = { verb: 'CONNECT', postgres: true, script: null, events: [ev(3, 'i', fromHex(vectors.pgwireVectors[1]!.hex))] };
    expect(oracleHits(like, "LIKE '%JOHN%'")).toHaveLength(1);
  });

  it('collapses whitespace runs in queries, trims them, skips empty ones, and keeps the message’s time', () => {
    const stream = bytes(
      sslRequest(),
      startup(PROTOCOL_3_0, { user: 'bob', database: 'db' }),
      passwordMessage('drop table secret'),
      query('  SELECT *\n\tFROM\r\n users \v\f WHERE  x  \n'),
      query(' \n\t '),
      query(''),
      parse('s1', 'DROP\n\nTABLE\tusers'),
      sync(),
    );
    // Cut everywhere: each byte its own event, each event its own time.
    const events = Array.from(stream, (b, k) => ev(k, 'i', [b]));
    const s: OracleSession = { verb: 'CONNECT', postgres: true, script: null, events };
    const selectAt = stream.indexOf(0x51); // the first Q
    expect(oracleUnits(s).map((u) => [u.text, u.origins[0]!.time])).toEqual([
      ['SELECT * FROM users WHERE x', selectAt],
      ['DROP TABLE users', expect.any(Number)],
    ]);
    expect(oracleHits(s, 'drop table')).toEqual([
      { time: stream.indexOf(0x50, selectAt), type: 'i', source: 'QUERY', line: 'DROP TABLE users', position: 1 },
    ]);
  });

  it('extracts queries exactly as RAW_QUERIES does (queriesFromEvents, wire mode)', async () => {
    await fc.assert(
      fc.asyncProperty(postgresConnectSession, async (s) => {
        const expected = [];
        for await (const q of queriesFromEvents(s.events, 'wire')) expected.push(q);
        expect(wireQueries(s.events)).toEqual(expected);
      }),
      { numRuns: 50 },
    );
  });

  it('gives a non-Postgres CONNECT session INPUT from `i` events and OUTPUT from `o` and `e` events in recorded order', () => {
    const s = terminal(ev(1, 'i', 'whoami\r'), ev(2, 'o', 'ro'), ev(3, 'e', 'ot\n'), ev(4, 'i', 'exit\r'), ev(5, 'o', 'bye'));
    expect(oracleUnits(s).map((u) => [u.source, u.position, u.text])).toEqual([
      ['INPUT', 0, 'whoami'],
      ['INPUT', 1, 'exit'],
      ['OUTPUT', 0, 'root'],
      ['OUTPUT', 1, 'bye'],
    ]);
    expect(oracleHits(s, 'root')).toEqual([{ time: 2, type: 'o', source: 'OUTPUT', line: 'root', position: 0 }]);
    expect(oracleHits(s, 'oo')).toEqual([{ time: 2, type: 'o', source: 'OUTPUT', line: 'root', position: 0 }]);
    expect(oracleHits(s, 'ot')).toEqual([{ time: 3, type: 'e', source: 'OUTPUT', line: 'root', position: 0 }]);
    expect(oracleHits(s, 't')).toEqual([
      { time: 3, type: 'e', source: 'OUTPUT', line: 'root', position: 0 },
      { time: 4, type: 'i', source: 'INPUT', line: 'exit', position: 1 },
    ]);
  });

  it('gives a CONNECT session with a script its SCRIPT units too', () => {
    const s: OracleSession = { verb: 'CONNECT', postgres: false, script: 'top', events: [ev(0, 'i', 'top\r')] };
    expect(oracleUnits(s).map((u) => u.source)).toEqual(['SCRIPT', 'INPUT']);
  });
});

describe('matching', () => {
  it('lower-cases both sides character by character with the simple mapping', () => {
    const s = terminal(ev(1, 'o', 'İSTANBUL \u212Aelvin ΣΊΣΥΦΟΣ STRASSE straße\n'));
    expect(oracleHits(s, 'istanbul')).toHaveLength(1); // İ → i (first of i + U+0307)
    expect(oracleHits(s, 'kelvin')).toHaveLength(1); // KELVIN SIGN → k
    expect(oracleHits(s, 'σίσυφοσ')).toHaveLength(1); // no final-sigma rule
    expect(oracleHits(s, 'σίσυφος')).toHaveLength(0);
    expect(oracleHits(s, 'STRASSE')).toHaveLength(1);
    expect(oracleHits(s, 'STRAẞE')).toHaveLength(1); // U+1E9E → ß
    expect(oracleHits(terminal(ev(1, 'o', 'istanbul')), 'İstanbul')).toHaveLength(1);
  });

  it('matches literally: no LIKE wildcards, no escapes, no regular expressions', () => {
    const s = terminal(ev(1, 'o', '50% done a_b C:\\tmp\n'));
    expect(oracleHits(s, '50%')).toHaveLength(1);
    expect(oracleHits(s, '5%')).toHaveLength(0);
    expect(oracleHits(s, 'a_b')).toHaveLength(1);
    expect(oracleHits(s, 'a%b')).toHaveLength(0);
    expect(oracleHits(s, 'd_ne')).toHaveLength(0);
    expect(oracleHits(s, 'C:\\tmp')).toHaveLength(1);
    expect(oracleHits(s, 'C:tmp')).toHaveLength(0);
    expect(oracleHits(s, '.*')).toHaveLength(0);
  });

  it('gives one hit per unit, timed at the first match’s first character', () => {
    const s = terminal(ev(1, 'o', 'drop '), ev(2, 'o', 'drop\n'));
    expect(oracleHits(s, 'drop')).toEqual([{ time: 1, type: 'o', source: 'OUTPUT', line: 'drop drop', position: 0 }]);
    expect(oracleHits(s, 'p d')).toEqual([{ time: 1, type: 'o', source: 'OUTPUT', line: 'drop drop', position: 0 }]);
    expect(oracleHits(s, ' drop')).toEqual([{ time: 1, type: 'o', source: 'OUTPUT', line: 'drop drop', position: 0 }]); // trimmed
    expect(oracleHits(s, 'op\tdr')).toEqual([]);
  });

  it('times a hit by the match, not by the line’s first character, after deletions too', () => {
    const s = terminal(ev(1, 'i', 'xx'), ev(2, 'i', '\b\bsudo'), ev(3, 'i', ' rm\r'));
    expect(oracleHits(s, 'sudo rm')).toEqual([{ time: 2, type: 'i', source: 'INPUT', line: 'sudo rm', position: 0 }]);
    expect(oracleHits(s, 'rm')[0]!.time).toBe(3);
  });
});

describe('needles', () => {
  it('trims ASCII whitespace and refuses empty, CR or LF, and more than 256 code points', () => {
    expect(checkNeedle('  drop\t')).toBe('drop');
    expect(checkNeedle('\v\fdrop table \r\n')).toBe('drop table');
    expect(checkNeedle('a\tb')).toBe('a\tb');
    expect(checkNeedle('\u00A0x\u00A0')).toBe('\u00A0x\u00A0'); // not ASCII whitespace
    expect(checkNeedle('😀'.repeat(256))).toBe('😀'.repeat(256));
    expect(checkNeedle(` ${'a'.repeat(256)} `)).toBe('a'.repeat(256));
    for (const bad of ['', ' \t ', 'a\nb', 'a\rb', 'a'.repeat(257), '😀'.repeat(257)]) {
      expect(() => checkNeedle(bad), JSON.stringify(bad)).toThrow('bad needle');
    }
  });

  it('refuses every needle the random needles call bad', () => {
    fc.assert(
      fc.property(badNeedle, (needle) => {
        expect(() => checkNeedle(needle)).toThrow('bad needle');
      }),
    );
  });
});

describe('hit lines', () => {
  const long = (n: number, at: number, word: string) => 'x'.repeat(at) + word + 'y'.repeat(n - at - word.length);

  it('is the whole unit up to 500 code points (counted as code points, not UTF-16 units)', () => {
    const unit = '😀'.repeat(498) + 'ab';
    expect(oracleHits(terminal(ev(0, 'o', unit)), 'ab')[0]!.line).toBe(unit);
  });

  it('is 500 code points of a longer unit, the match 100 code points in where it can be', () => {
    const cps = (s: string) => Array.from(s);
    for (const [at, start] of [
      [0, 0],
      [50, 0],
      [100, 0],
      [300, 200],
      [600, 500],
      [960, 500], // near the end: the last 500
      [996, 500],
    ] as const) {
      const unit = long(1000, at, 'HIT!');
      const line = oracleHits(terminal(ev(0, 'o', unit)), 'hit!')[0]!.line;
      expect(line, `match at ${at}`).toBe(unit.slice(start, start + 500));
      expect(line).toContain('HIT!');
      expect(cps(line)).toHaveLength(500);
    }
    expect(linePiece(Array.from({ length: 501 }, (_, k) => k), 250)).toEqual(Array.from({ length: 500 }, (_, k) => k + 1));
  });

  it('cuts at code points, never inside a surrogate pair', () => {
    const unit = '😀'.repeat(700) + 'needle' + '😀'.repeat(700);
    const line = oracleHits(terminal(ev(0, 'o', unit)), 'needle')[0]!.line;
    expect(Array.from(line)).toHaveLength(500);
    expect(line).toBe('😀'.repeat(100) + 'needle' + '😀'.repeat(394));
  });
});

describe('order of hits', () => {
  it('orders by time, then SCRIPT, INPUT, QUERY, OUTPUT, then position', () => {
    const s: OracleSession = {
      verb: 'CONNECT',
      postgres: false,
      script: 'hit script 1\nhit script 2',
      events: [ev(0, 'o', 'hit out 1\n'), ev(0, 'i', 'hit in 1\r'), ev(0, 'o', 'hit out 2\n'), ev(0, 'i', 'hit in 2\r'), ev(0, 'i', 'late '), ev(1, 'i', 'hit\r')],
    };
    expect(oracleHits(s, 'hit').map((h) => [h.time, h.source, h.position])).toEqual([
      [0, 'SCRIPT', 0],
      [0, 'SCRIPT', 1],
      [0, 'INPUT', 0],
      [0, 'INPUT', 1],
      [0, 'OUTPUT', 0],
      [0, 'OUTPUT', 1],
      [1, 'INPUT', 2],
    ]);
  });

  it('puts a script before queries of the same time', () => {
    const s: OracleSession = { verb: 'CONNECT', postgres: true, script: 'select 0', events: [ev(0, 'i', query('select 1'))] };
    expect(oracleHits(s, 'select').map((h) => h.source)).toEqual(['SCRIPT', 'QUERY']);
  });

  it('orders by hit time even when events were recorded out of time order', () => {
    const s = terminal(ev(5, 'o', 'hit a\n'), ev(1, 'o', 'hit b\n'), ev(3, 'o', 'x '), ev(0.5, 'o', 'hit c'));
    // The hit of "x hit c" is timed at its match (0.5), not at the line's first character (3).
    expect(oracleHits(s, 'hit').map((h) => [h.time, h.position, h.line])).toEqual([
      [0.5, 2, 'x hit c'],
      [1, 1, 'hit b'],
      [5, 0, 'hit a'],
    ]);
    expect(oracleHits(s, 'x')[0]!.time).toBe(3);
  });
});

describe('random sessions', () => {
  it('are searchable by the oracle, and their needles mostly hit', () => {
    let hits = 0;
    let needles = 0;
    fc.assert(
      fc.property(
        fc.array(randomSession, { minLength: 1, maxLength: 3 }).chain((ss) => fc.tuple(fc.constant(ss), needleFor(ss))),
        ([sessions, needle]) => {
          let valid = true;
          try {
            checkNeedle(needle);
          } catch {
            valid = false;
          }
          if (!valid) return;
          needles++;
          for (const s of sessions) {
            const found = oracleHits(s, needle);
            hits += found.length > 0 ? 1 : 0;
            for (const h of found) expect(Array.from(h.line).length).toBeLessThanOrEqual(500);
          }
        },
      ),
      { numRuns: 40, seed: 1 },
    );
    expect(hits).toBeGreaterThan(needles / 2);
  });
});
