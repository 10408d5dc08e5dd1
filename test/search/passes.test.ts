import fc from 'fast-check';
import { expect, it } from 'vitest';
import { decodeRuns, type Block } from '../../src/search/blocks.ts';
import { Extractor, initialState, readFrom, type IndexState, type OpenBlock } from '../../src/search/extract.ts';
import type { SessionEvent } from '../../src/sessions/event.ts';
import { randomSession } from './random-sessions.ts';

/*
 * The indexer reads a session in passes (as appends arrive, and PASS_BYTES at a time), each going on
 * from the state the last one saved and the block it left under way. Whatever the cut, the blocks
 * must be those of one pass over the whole stream: that is what makes indexing in steps invisible.
 */

/** Runs passes ending after each event index in `cuts`, storing blocks as the indexer does. */
function inPasses(events: readonly SessionEvent[], state: IndexState, cuts: readonly number[], blockText: number): Map<string, Block> {
  const stored = new Map<string, Block>();
  for (const upTo of [...cuts, events.length]) {
    const open: Partial<Record<number, OpenBlock>> = {};
    for (const [source, s] of Object.entries(state)) {
      const block = stored.get(`${source}/${s!.block}`);
      if (block) open[Number(source)] = { text: block.text, runs: decodeRuns(block.runs) };
    }
    const extractor = new Extractor(state, open, blockText);
    const from = readFrom(state);
    for (let i = from; i < upTo; i++) extractor.push(i, events[i]!);
    const out = extractor.end(Math.max(upTo, from));
    for (const [source, first] of Object.entries(out.from)) {
      for (const key of [...stored.keys()]) {
        const [s, b] = key.split('/').map(Number);
        if (s === Number(source) && b! >= first!) stored.delete(key);
      }
    }
    for (const block of out.blocks) stored.set(`${block.source}/${block.block}`, block);
    state = out.state;
  }
  return stored;
}

const comparable = (blocks: Map<string, Block>) =>
  [...blocks.entries()].sort(([a], [b]) => a.localeCompare(b)).map(([key, b]) => ({ key, ...b, runs: decodeRuns(b.runs) }));

it('gives the same blocks however the stream is cut into passes', () => {
  fc.assert(
    // Small blocks, so that passes also end right after blocks are closed, and take up ones that were.
    fc.property(randomSession, fc.array(fc.nat(), { maxLength: 6 }), fc.integer({ min: 1, max: 200 }), (session, picks, blockText) => {
      const kind = { verb: session.verb, postgres: session.postgres };
      const events = session.events;
      const cuts = [...new Set(picks.map((p) => p % (events.length + 1)))].sort((a, b) => a - b);
      const whole = comparable(inPasses(events, initialState(kind), [], blockText));
      expect(comparable(inPasses(events, initialState(kind), cuts, blockText))).toEqual(whole);
    }),
    { seed: 20261201, numRuns: 300 },
  );
});
