import { database } from '../db/client.ts';
import { badInput } from '../errors.ts';
import type { Prisma } from '../generated/prisma/client.ts';
import type { EventType } from '../sessions/event.ts';
import { decodeRuns, runAt, SOURCES, type Source } from './blocks.ts';
import { containsPattern, hitLine } from './needle.ts';
import { needleKeys } from './trigrams.ts';

/*
 * Reading the index (spec §12): which sessions hold a needle, and a session's hits, a page at a time.
 */

/**
 * Candidate blocks (by the index) past which a needle counts as common, and is looked for by a
 * walk instead of through the index (tests set it to 0 to take the walks on small data).
 */
export const searchPaths = { commonBlocks: 200 };

/**
 * The sessions whose searchable text holds the (folded) needle, as a filter of a sessions listing.
 * The index says first how common the needle is. A rare one: the sessions holding it are found
 * through the index, exactly, and the listing keeps those. A common one: the listing walks the
 * sessions newest first and looks into each one's blocks, which ends after a page's worth (a
 * planner estimating the index's selectivity would rather read every candidate block first).
 */
/**
 * Whether fewer than `commonBlocks` blocks (of one session, when given) hold every key of a needle:
 * counting them reads only their keys. A needle with no keys (under three characters) is common.
 */
async function isRare(keys: number[], sessionId?: string): Promise<boolean> {
  if (keys.length === 0) return false;
  const [candidates] = await database().withConnection((conn) =>
    conn.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM (SELECT 1 FROM session_search_blocks
       WHERE trigrams @> $1::smallint[] ${sessionId ? 'AND session_id = $2::uuid' : ''} LIMIT ${searchPaths.commonBlocks}) AS c`,
      sessionId ? [keys, sessionId] : [keys],
    ),
  );
  return candidates!.n < searchPaths.commonBlocks;
}

export async function textWhere(needle: string): Promise<Prisma.SessionWhereInput> {
  const keys = needleKeys(needle);
  const like = containsPattern(needle);
  if (await isRare(keys)) {
    const rows = await database().withConnection((conn) =>
      conn.query<{ id: string }>(
        `SELECT DISTINCT session_id::text AS id FROM session_search_blocks WHERE trigrams @> $1::smallint[] AND folded LIKE $2`,
        [keys, like],
      ),
    );
    return { id: { in: rows.map((r) => r.id) } };
  }
  // Prisma's `contains` is LIKE with the value between % signs, unescaped: the pattern is ours.
  return { searchBlocks: { some: { folded: { contains: like.slice(1, -1) } } } };
}

export interface SearchHit {
  time: number;
  type: EventType;
  source: Source;
  line: string;
}

/** Where a hit sorts: time, then source, then the unit's position in its source. */
interface HitKey {
  time: number;
  source: number;
  unit: number;
}

const compareKeys = (a: HitKey, b: HitKey): number => a.time - b.time || a.source - b.source || a.unit - b.unit;

const hitCursor = (key: HitKey): string => Buffer.from(JSON.stringify([key.time, key.source, key.unit])).toString('base64url');

function parseCursor(cursor: string): HitKey {
  try {
    const [time, source, unit] = JSON.parse(Buffer.from(cursor, 'base64url').toString()) as unknown[];
    if (typeof time === 'number' && Number.isInteger(source) && Number.isInteger(unit)) {
      return { time, source: source as number, unit: unit as number };
    }
  } catch {
    // reported below
  }
  throw badInput('invalid cursor: pass a cursor of this field as it was returned');
}

type BlockRow = {
  /** Whether the block holds the needle (the walk reads blocks that do not, without their text). */
  hit?: boolean;
  source: number;
  block: number;
  first_unit: number;
  min_time: number;
  text: string;
  folded: string;
  runs: Uint8Array;
};

/** Blocks read per query while collecting a page. */
const BLOCKS_PER_READ = 64;

export interface HitPage {
  hits: (SearchHit & { cursor: string })[];
  hasNextPage: boolean;
}

/** A leading character on each text: PGlite drops a U+FEFF that starts a text value it returns. */
const BLOCK_COLUMNS = `source, block, first_unit, min_time, '>' || text AS text, '>' || folded AS folded, runs`;

async function readBlocks(sql: string, params: unknown[]): Promise<BlockRow[]> {
  const rows = await database().withConnection((conn) => conn.query<BlockRow>(sql, params));
  for (const row of rows) {
    if (row.text !== null) row.text = row.text.slice(1);
    if (row.folded !== null) row.folded = row.folded.slice(1);
  }
  return rows;
}

/**
 * One page of a session's hits for a (folded) needle, after `after` (a cursor). As for listings
 * (textWhere), the index says first how common the needle is in the session. A rare one: its
 * blocks come through the index, all of them. A common one: blocks are read in order of their
 * earliest time, and a block whose earliest time is past the last hit of a full page cannot hold
 * an earlier one, so a needle with millions of hits reads a few blocks.
 */
export async function findHits(sessionId: string, needle: string, first: number, after: string | null | undefined): Promise<HitPage> {
  const from = after ? parseCursor(after) : undefined;
  const pattern = containsPattern(needle);
  const keys = needleKeys(needle);
  // The page and one more hit, to tell whether there is a next page.
  const want = first + 1;
  const found: (SearchHit & { key: HitKey })[] = [];
  const keep = (row: BlockRow) => {
    collect(row, needle, from, found);
    found.sort((a, b) => compareKeys(a.key, b.key));
    found.length = Math.min(found.length, want);
  };

  if (await isRare(keys, sessionId)) {
    const rows = await readBlocks(
      `SELECT ${BLOCK_COLUMNS} FROM session_search_blocks
       WHERE session_id = $1::uuid AND trigrams @> $2::smallint[] AND folded LIKE $3 AND max_time >= $4`,
      [sessionId, keys, pattern, from?.time ?? -Infinity],
    );
    rows.forEach(keep);
    return page(found, first);
  }

  let last: { min_time: number; source: number; block: number } | undefined;
  for (;;) {
    // The next BLOCKS_PER_READ blocks in time order, whatever they hold, then which of them hold the
    // needle: a planner estimating the filters as selective would rather read and sort every block
    // of the session first (3 s for a 256 MiB one). Only the blocks that hold it bring their text.
    const rows = await readBlocks(
      `SELECT source, block, first_unit, min_time, hit,
              CASE WHEN hit THEN '>' || text END AS text, CASE WHEN hit THEN '>' || folded END AS folded,
              CASE WHEN hit THEN runs END AS runs
       FROM (SELECT *, (max_time >= $2 AND trigrams @> $6::smallint[] AND folded LIKE $7) AS hit
             FROM (SELECT * FROM session_search_blocks
                   WHERE session_id = $1::uuid AND (min_time, source, block) > ($3, $4, $5)
                   ORDER BY min_time, source, block LIMIT ${BLOCKS_PER_READ}) AS next) AS blocks
       ORDER BY min_time, source, block`,
      [sessionId, from?.time ?? -Infinity, last?.min_time ?? -Infinity, last?.source ?? -1, last?.block ?? -1, keys, pattern],
    );
    for (const row of rows) {
      // Hits are at or after the block's earliest time: once a page is full, later blocks are too late.
      if (found.length >= want && row.min_time > found[want - 1]!.key.time) return page(found, first);
      if (row.hit) keep(row);
    }
    if (rows.length < BLOCKS_PER_READ) return page(found, first);
    const end = rows[rows.length - 1]!;
    last = { min_time: end.min_time, source: end.source, block: end.block };
  }
}

function page(found: (SearchHit & { key: HitKey })[], first: number): HitPage {
  return {
    hits: found.slice(0, first).map(({ key, ...hit }) => ({ ...hit, cursor: hitCursor(key) })),
    hasNextPage: found.length > first,
  };
}

/** The hits of one block after `from`: one per unit that holds the needle, at its first match. */
function collect(row: BlockRow, needle: string, from: HitKey | undefined, into: (SearchHit & { key: HitKey })[]): void {
  const { folded } = row;
  const runs = decodeRuns(row.runs);
  // `pos` is always the start of unit number `unit`; folded text has the same UTF-16 indexes as text.
  let pos = 0;
  let unit = row.first_unit;
  while (pos <= folded.length) {
    const match = folded.indexOf(needle, pos);
    if (match < 0) return;
    // Skip to the unit that holds the match (no needle holds an LF, so the match is inside one).
    for (let lf = folded.indexOf('\n', pos); lf !== -1 && lf < match; lf = folded.indexOf('\n', lf + 1)) {
      unit++;
      pos = lf + 1;
    }
    let end = folded.indexOf('\n', match);
    if (end < 0) end = folded.length;
    const run = runAt(runs, match);
    const key = { time: run.time, source: row.source, unit };
    if (!from || compareKeys(key, from) > 0) {
      into.push({ key, time: run.time, type: run.type, source: SOURCES[row.source]!, line: hitLine(row.text.slice(pos, end), match - pos) });
    }
    pos = end + 1;
    unit++;
  }
}
