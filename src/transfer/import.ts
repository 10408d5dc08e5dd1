import fs from 'node:fs';
import path from 'node:path';
import { Assembler } from 'stream-json/assembler.js';
import type { Token } from 'stream-json/parser.js';
import { prisma } from '../db/client.ts';
import { badInput } from '../errors.ts';
import { auditInsert } from '../audit/audit.ts';
import { chainNext, chainStart } from '../integrity/chain.ts';
import { signDigest, signingKeys } from '../integrity/keys.ts';
import { withChunkTx } from '../sessions/chunk-storage.ts';
import type { EncodedChunk } from '../sessions/codec.ts';
import { appendTimes, NO_EVENTS } from '../sessions/event-times.ts';
import { isEventType } from '../sessions/event.ts';
import { decodeStrictBase64 } from '../sessions/ingest.ts';
import type { JsonObject } from '../sessions/stored-shapes.ts';
import { JsonSyntaxError, JsonTokens } from './json-tokens.ts';
import { ProgressLine, type ProgressOptions } from './progress.ts';
import { importedSession, RecordError, recordId, type ImportedSession } from './record.ts';
import { insertRow, type SessionRow } from './rows.ts';
import { EventSpool } from './spool.ts';

/*
 * `reel import`: sessions in the JSON of hoop's `GET /api/sessions/:id?expand=event_stream,session_input`
 * (one Session object or an array of them, event_stream as raw [time, type, base64] tuples).
 *
 * The file is read as a stream of stream-json tokens (json-tokens.ts), one record at a time: the
 * attributes of a record are assembled (they are small), its event_stream is read tuple by tuple
 * into an EventSpool, so memory does not grow with the file or the session. A record is
 * validated whole (attributes and every event) before anything of it is written, then written in
 * one transaction: the session row with its counters and its review (rows.ts), and its event
 * chunks encoded by the codec's encodeAppend as appendSessionEvents stores them (one sequence per
 * ≤ 1 MiB batch, written through the same chunk store). The ingest functions are not used because they cannot write a record
 * atomically, nor keep hoop's stored shapes (metrics, ai_analysis in snake_case, review created_at,
 * a DONE status with its metrics); record.ts applies openSession's checks instead.
 *
 * A session whose id is already in the org is skipped; in another org it is an error. The first
 * bad record stops the import with an error naming it; records before it stay imported.
 */

export interface ImportResult {
  imported: number;
  skipped: number;
}

export interface ImportOptions {
  progress?: ProgressOptions;
  /** Encoded event bytes of one session held in memory before spooling to a temporary file. */
  spoolMemoryBytes?: number;
}

const READ_CHUNK = 1024 * 1024;
/** Chunk rows per INSERT: bounds the memory of one statement to a few MiB. */
const INSERT_BYTES = 4 * 1024 * 1024;
/** Nesting allowed inside a value: record.ts and stored-shapes.ts walk values recursively. */
const MAX_DEPTH = 256;

/** Which record of the file is being read, for error messages: its 1-based position and its id once known. */
class RecordRef {
  id: string | undefined;
  constructor(readonly n: number) {}

  get label(): string {
    return `record ${this.n}${this.id !== undefined ? ` (id ${this.id})` : ''}`;
  }
}

export async function importSessions(
  file: string,
  orgId: string,
  progress: NodeJS.WritableStream,
  options: ImportOptions = {},
): Promise<ImportResult> {
  const totalBytes = (await fs.promises.stat(file)).size;
  const stream = fs.createReadStream(file, { highWaterMark: READ_CHUNK });
  const result: ImportResult = { imported: 0, skipped: 0 };
  let bytesRead = 0;
  const meter = new ProgressLine(progress, `importing ${path.basename(file)}`, totalBytes, options.progress);
  async function* counted(): AsyncGenerator<Buffer> {
    for await (const chunk of stream as AsyncIterable<Buffer>) {
      bytesRead += chunk.length;
      meter.update(bytesRead, result.imported, result.skipped);
      yield chunk;
    }
  }
  let record: RecordRef | undefined;
  try {
    // A UTF-8 byte order mark at the start is dropped by the tokenizer.
    const tokens = await JsonTokens.open(file, counted());
    const first = await tokens.next();
    if (first.name === 'startArray') {
      for (let n = 1; ; n++) {
        const token = await tokens.next();
        if (token.name === 'endArray') break;
        record = new RecordRef(n);
        result[await importRecord(tokens, token, record, orgId, options)]++;
        record = undefined;
        meter.update(bytesRead, result.imported, result.skipped);
      }
    } else if (first.name === 'startObject') {
      record = new RecordRef(1);
      result[await importRecord(tokens, first, record, orgId, options)]++;
      record = undefined;
    } else {
      throw badInput(`expected a session object or an array of sessions, not ${JSON.stringify(await assemble(tokens, first))}`);
    }
    await tokens.end();
    return result;
  } catch (err) {
    const where = record ? `${record.label}: ` : '';
    if (err instanceof RecordError) throw badInput(`${where}${err.message}`);
    if (err instanceof JsonSyntaxError) {
      const at = err.position ? ` at line ${err.position.line}, column ${err.position.column} (character ${err.position.offset})` : '';
      throw badInput(`${where}invalid JSON${at}: ${err.message}`);
    }
    throw err;
  } finally {
    stream.destroy();
    meter.done(bytesRead, result.imported, result.skipped);
  }
}

const opens = (token: Token) => (token.name === 'startObject' || token.name === 'startArray' ? 1 : 0);
const closes = (token: Token) => (token.name === 'endObject' || token.name === 'endArray' ? 1 : 0);

/** Reads over the rest of a value whose first token is `first`, keeping nothing of it. */
export async function skipValue(tokens: JsonTokens, first: Token): Promise<void> {
  for (let depth = opens(first); depth > 0; ) {
    const token = tokens.take() ?? (await tokens.next());
    depth += opens(token) - closes(token);
  }
}

/**
 * Feeds `asm` tokens until it is back at `depth` (the value it was given the first token of is
 * whole), refusing nesting the validation's recursion could not follow.
 */
export async function assembleTo(tokens: JsonTokens, asm: Assembler, depth: number, what: string): Promise<void> {
  while (asm.depth > depth) {
    asm.consume(tokens.take() ?? (await tokens.next()));
    if (asm.depth > MAX_DEPTH) throw new RecordError(`${what} is nested deeper than ${MAX_DEPTH} levels`);
  }
}

/**
 * A string token is a slice of the parser's text buffer, which then stays in memory (a whole read
 * chunk) for as long as the string does; attribute values go on to Prisma, whose debug module keeps
 * the arguments of its last 100 calls. They are copied out (JSON keeps lone surrogates as they are).
 */
export const detach = (_key: string, value: unknown): unknown => (typeof value === 'string' ? JSON.parse(JSON.stringify(value)) : value);

/** The whole (small) value whose first token is `first`. */
async function assemble(tokens: JsonTokens, first: Token, what = 'a value'): Promise<unknown> {
  const asm = new Assembler();
  asm.consume(first);
  await assembleTo(tokens, asm, 0, what);
  return asm.current;
}

/**
 * Imports one Session object, whose first token is `first`; says whether it was new. Its
 * attributes are assembled (they are small), its event_stream is read tuple by tuple into a spool.
 */
async function importRecord(
  tokens: JsonTokens,
  first: Token,
  record: RecordRef,
  orgId: string,
  options: ImportOptions,
): Promise<keyof ImportResult> {
  if (first.name !== 'startObject') {
    // Read over it, so a syntax error inside it is reported as such rather than as a type error.
    await skipValue(tokens, first);
    const what = first.name === 'startArray' ? 'an array' : JSON.stringify(new Assembler().consume(first).current);
    throw new RecordError(`a session must be a JSON object, not ${what}`);
  }
  // Attributes at depth 1: the record object itself; each is assembled but event_stream.
  const asm = new Assembler<JsonObject>({ reviver: detach });
  asm.consume(first);
  const spool = new EventSpool(options.spoolMemoryBytes);
  let skip = false;
  let sawStream = false;
  try {
    for (;;) {
      const token = tokens.take() ?? (await tokens.next());
      if (token.name !== 'keyValue') break; // the record's endObject
      const key = token.value;
      if (key === 'event_stream') {
        if (sawStream) throw new RecordError('event_stream appears twice');
        sawStream = true;
        await readEventStream(tokens, skip ? undefined : spool);
        continue;
      }
      asm.consume(token);
      asm.consume(tokens.take() ?? (await tokens.next()));
      await assembleTo(tokens, asm, 1, key);
      if (key === 'id') {
        const attrs = asm.current!;
        record.id = typeof attrs.id === 'string' ? attrs.id : JSON.stringify(attrs.id);
        const id = recordId(attrs);
        // Known early (hoop writes id first): an already-imported session's events need no spooling.
        if (id && (await existing(id, orgId)) === 'here') {
          skip = true;
          spool.dispose();
        }
      }
    }
    if (skip) return 'skipped';
    spool.finish();
    const session = importedSession(asm.current!, spool.inputBytes + spool.outputBytes + spool.errorBytes);
    record.id = session.id;
    return await writeSession(session, spool, orgId);
  } finally {
    spool.dispose();
  }
}

/** Where a session id already is: in this org, or nowhere; in another org it is an error. */
async function existing(id: string, orgId: string): Promise<'here' | 'none'> {
  const found = await prisma().session.findUnique({ where: { id }, select: { orgId: true } });
  if (!found) return 'none';
  if (found.orgId !== orgId) throw new RecordError('a session with this id exists in another organisation');
  return 'here';
}

/** Streams the tuples of event_stream into the spool (validating each), or just over them when skipping. */
export async function readEventStream(tokens: JsonTokens, spool: EventSpool | undefined): Promise<void> {
  const first = await tokens.next();
  if (first.name !== 'startArray') {
    const value = await assemble(tokens, first, 'event_stream');
    if (value === null) return; // hoop's raw-queries with no query; nothing recorded
    throw new RecordError(`event_stream must be an array of [time, type, data] tuples, not ${JSON.stringify(value).slice(0, 40)}`);
  }
  if (!spool) return skipValue(tokens, first);
  // One tuple at a time: assembled, checked, encoded into the spool, and let go.
  const tuple = new Assembler();
  for (let index = 0; ; index++) {
    const token = tokens.take() ?? (await tokens.next());
    if (token.name === 'endArray') return;
    tuple.consume(token);
    await assembleTo(tokens, tuple, 0, `event_stream[${index}]`);
    spool.add(decodeTuple(tuple.current, index));
  }
}

function decodeTuple(tuple: unknown, index: number) {
  const at = `event_stream[${index}]`;
  if (typeof tuple === 'string') {
    throw new RecordError(
      `${at} is a string: this is a rendered stream (event_stream=utf8 or base64); export the sessions from hoop without the event_stream parameter`,
    );
  }
  if (!Array.isArray(tuple) || tuple.length !== 3) throw new RecordError(`${at} must be a [time, type, data] tuple`);
  const [time, type, data] = tuple as [unknown, unknown, unknown];
  if (typeof time !== 'number' || !Number.isFinite(time) || time < 0) {
    throw new RecordError(`${at} time must be a number of seconds ≥ 0, not ${JSON.stringify(time)}`);
  }
  if (!isEventType(type)) throw new RecordError(`${at} type must be "i", "o" or "e", not ${JSON.stringify(type)}`);
  const bytes = typeof data === 'string' ? decodeStrictBase64(data) : undefined;
  if (!bytes) throw new RecordError(`${at} data is not valid base64`);
  return { time: time + 0, type, data: bytes }; // -0 as +0, as appends store it
}

/**
 * Writes a validated session in one transaction, with raw SQL beside the chunk store (whose binary
 * COPY the chunks need on PGlite, and whose transaction Prisma cannot join).
 */
async function writeSession(s: ImportedSession, spool: EventSpool, orgId: string): Promise<keyof ImportResult> {
  try {
    return await withChunkTx(async (tx) => {
      const { review, ...attributes } = s;
      const session: SessionRow = {
        ...attributes,
        orgId,
        nextSequence: spool.sequences,
        eventCount: BigInt(spool.eventCount),
        inputBytes: BigInt(spool.inputBytes),
        outputBytes: BigInt(spool.outputBytes),
        errorBytes: BigInt(spool.errorBytes),
        untilTime: spool.times.until,
        timeOrdered: spool.times.ordered,
        // Set below, once the chunks (and so the appends' digests) have gone by.
        chainDigest: null,
        chainCount: 0,
        signature: null,
        signingKeyId: null,
      };
      // A concurrent import of the same id waits for the other transaction, then finds it.
      if ((await tx.query(...insertRow('sessions', session, 'ON CONFLICT (id) DO NOTHING RETURNING id'))).length === 0) {
        const [found] = await tx.query<{ org_id: string }>('SELECT org_id::text AS org_id FROM sessions WHERE id = $1::uuid', [s.id]);
        if (found?.org_id !== orgId) throw new RecordError('a session with this id exists in another organisation');
        return 'skipped';
      }
      const opened = { imported: true, roleName: s.roleName, type: s.type, verb: s.verb, status: s.status };
      await tx.query(...auditInsert([{ orgId, action: 'SESSION_OPENED', actor: 'cli', sessionId: s.id, details: opened }]));
      if (review) {
        const { groups, ...reviewAttributes } = review;
        await tx.query(...insertRow('reviews', { ...reviewAttributes, sessionId: s.id, createdAt: review.createdAt ?? new Date() }));
        for (const group of groups) await tx.query(...insertRow('review_groups', { ...group, reviewId: review.id }));
      }
      let batch: EncodedChunk[] = [];
      let size = 0;
      let firstEvent = 0;
      let times = NO_EVENTS;
      const insert = async () => {
        const appended = appendTimes(times, batch);
        await tx.insertChunks(s.id, batch, firstEvent, appended.untilTimes);
        times = appended.after;
        for (const chunk of batch) firstEvent += chunk.eventCount;
        batch = [];
        size = 0;
      };
      let chain = chainStart(s.id);
      for await (const chunk of spool.chunks()) {
        if (chunk.part === 0) chain = chainNext(chain, Buffer.from(chunk.digest, 'hex'));
        batch.push(chunk);
        size += chunk.data.length;
        if (size >= INSERT_BYTES) await insert();
      }
      if (batch.length > 0) await insert();
      // Imported appends are chained like recorded ones; a closed session is signed now.
      const signed = s.status === 'DONE' ? signDigest(signingKeys(), chain) : null;
      await tx.query(
        `UPDATE sessions SET chain_digest = decode($2, 'hex'), chain_count = $3, signature = decode($4, 'hex'), signing_key_id = $5 WHERE id = $1::uuid`,
        [s.id, chain.toString('hex'), spool.sequences, signed?.signature.toString('hex') ?? null, signed?.keyId ?? null],
      );
      return 'imported';
    });
  } catch (err) {
    // The session id was free: a unique violation is the review's or a group's id, taken by another session.
    if ((err as { code?: unknown }).code === '23505') {
      throw new RecordError('its review (or a review group) has an id already used by another session');
    }
    throw err;
  }
}
