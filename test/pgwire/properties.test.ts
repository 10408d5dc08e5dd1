import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { PgFrontendParser } from '../../src/pgwire/parser.ts';
import { PROTOCOL_3_2, bytes, int16, int32, split, startup, typed, untyped } from './frames.ts';

/** Bytes with no NUL: what a C string in a message can hold. */
const cText = (maxLength: number) => fc.uint8Array({ minLength: 0, maxLength }).map((b) => b.map((x) => x || 0x20));

/** A well-formed message, with the SQL it must yield (if any) and where that SQL's NUL sits. */
interface Message {
  frame: Uint8Array;
  sql?: Uint8Array;
  /** Offset of the SQL's NUL within the frame: the SQL is reported once the stream reaches it. */
  nulAt?: number;
}

const queryMessage = cText(40).map((sql): Message => ({ frame: typed('Q', sql, [0]), sql, nulAt: 5 + sql.length }));

const parseMessage = fc
  .tuple(cText(8), cText(40), fc.array(fc.nat(), { maxLength: 3 }))
  .map(([name, sql, oids]): Message => ({
    frame: typed('P', name, [0], sql, [0], int16(oids.length), ...oids.map(int32)),
    sql,
    nulAt: 5 + name.length + 1 + sql.length,
  }));

// Any type byte but 0 (startup phase), Q and P: its body, whatever it holds, must be skipped.
const otherMessage = fc
  .tuple(
    fc.integer({ min: 1, max: 255 }).filter((t) => t !== 0x51 && t !== 0x50),
    fc.uint8Array({ maxLength: 40 }),
  )
  .map(([type, body]): Message => ({ frame: typed(type, body) }));

const startupPhaseMessage = fc.oneof(
  fc.uint8Array({ minLength: 4, maxLength: 60 }).map((body): Message => ({ frame: untyped(body) })),
  fc.constant<Message>({ frame: startup(PROTOCOL_3_2, { user: 'u', database: 'd' }) }),
);

const conversation = fc.array(fc.oneof(queryMessage, parseMessage, otherMessage, startupPhaseMessage), {
  maxLength: 25,
});

/** Where a stream is cut into events: seeds, reduced modulo the stream's length by `cutAt`. */
const cuts = fc.array(fc.nat(), { maxLength: 12 });

const cutAt = (stream: Uint8Array, seeds: number[]): Uint8Array[] =>
  split(
    stream,
    seeds.map((s) => s % (stream.length + 1)),
  );

function parseEvents(events: Uint8Array[]): Array<{ time: number; sql: Uint8Array }> {
  const parser = new PgFrontendParser();
  return [...events.flatMap((e, i) => parser.push(e, i)), ...parser.end()];
}

/** Index of the event holding stream offset `at`, for events of the given lengths. */
function eventAt(events: Uint8Array[], at: number): number {
  let end = 0;
  for (let i = 0; i < events.length; i++) {
    end += events[i]!.length;
    if (at < end) return i;
  }
  return events.length - 1;
}

describe('PgFrontendParser properties', () => {
  it('never throws on arbitrary bytes split arbitrarily, and reports only non-empty SQL', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), cuts, (stream, at) => {
        const events = cutAt(stream, at);
        const found = parseEvents(events);
        for (const q of found) {
          expect(q.sql.length).toBeGreaterThan(0);
          expect(q.sql.includes(0)).toBe(false);
          expect(q.time).toBeGreaterThanOrEqual(0);
          expect(q.time).toBeLessThan(events.length);
        }
      }),
      { numRuns: 2000 },
    );
  });

  it('never throws on arbitrary bytes mixed with plausible headers', () => {
    // Random bytes rarely form a header with an in-range length; splicing real ones in reaches the
    // body-reading states with garbage around them.
    const piece = fc.oneof(
      fc.uint8Array({ maxLength: 20 }),
      fc.constantFrom('Q', 'P', 'p', 'd').map((t) => bytes(t, int32(6))),
      fc.nat({ max: 30 }).map((n) => bytes(int32(n + 8))),
    );
    fc.assert(
      fc.property(fc.array(piece, { maxLength: 20 }), cuts, (pieces, at) => {
        parseEvents(cutAt(bytes(...pieces), at));
      }),
      { numRuns: 1000 },
    );
  });

  it('reports exactly the SQL of well-formed messages, however the stream is split', () => {
    fc.assert(
      fc.property(conversation, cuts, (messages, at) => {
        const stream = bytes(...messages.map((m) => m.frame));
        const events = cutAt(stream, at);
        const expected: Array<{ time: number; sql: Uint8Array }> = [];
        let offset = 0;
        for (const m of messages) {
          if (m.sql !== undefined && m.sql.length > 0) expected.push({ time: eventAt(events, offset), sql: m.sql });
          offset += m.frame.length;
        }
        expect(parseEvents(events)).toEqual(expected);
        expect(parseEvents([stream]).map((q) => q.sql)).toEqual(expected.map((q) => q.sql));
      }),
      { numRuns: 500 },
    );
  });

  it('reports, for a stream cut short, the SQL whose NUL arrived', () => {
    fc.assert(
      fc.property(conversation, fc.nat(), cuts, (messages, cutSeed, at) => {
        const stream = bytes(...messages.map((m) => m.frame));
        const cut = stream.length === 0 ? 0 : cutSeed % (stream.length + 1);
        const expected: Uint8Array[] = [];
        let offset = 0;
        for (const m of messages) {
          if (m.sql !== undefined && m.sql.length > 0 && offset + m.nulAt! < cut) expected.push(m.sql);
          offset += m.frame.length;
        }
        expect(parseEvents(cutAt(stream.subarray(0, cut), at)).map((q) => q.sql)).toEqual(expected);
      }),
      { numRuns: 500 },
    );
  });
});
