import fs from 'node:fs';
import type { KeyObject } from 'node:crypto';
import { Assembler } from 'stream-json/assembler.js';
import type { Token } from 'stream-json/parser.js';
import { badInput } from '../errors.ts';
import { decodeEvents } from '../sessions/codec.ts';
import type { JsonObject } from '../sessions/stored-shapes.ts';
import { assembleTo, detach, readEventStream, skipValue } from '../transfer/import.ts';
import { JsonSyntaxError, JsonTokens } from '../transfer/json-tokens.ts';
import { RecordError } from '../transfer/record.ts';
import { EventSpool } from '../transfer/spool.ts';
import { AppendHash, CHAIN_ALGORITHM, chainNext, chainStart } from './chain.ts';
import { verifyDigest } from './keys.ts';

/*
 * `reel verify`: recomputes every session of an export (docs/integrity.md) from its events alone —
 * the chain over its appends, cut by `integrity.append_events` — and checks the exported digest
 * and, for a closed session, its signature with the given public keys. The file is read as a
 * stream, a session's events spooled like an import's, so memory does not grow with it.
 */

export interface Verification {
  verified: number;
  /** Of those, sessions still open: their events match their digest, but no signature vouches for them. */
  unsigned: number;
  /** The first session that does not hold, and why. */
  failed?: { id: string; reason: string };
}

interface Integrity {
  algorithm: string;
  digest: string;
  appendCount: number;
  signature: string | null;
  keyId: string | null;
  appendEvents: number[];
}

function integrityOf(value: unknown): Integrity | string {
  if (typeof value !== 'object' || value === null) return 'it has no integrity block (export it with a reel that signs sessions)';
  const v = value as Record<string, unknown>;
  const counts = v.append_events;
  if (
    typeof v.algorithm !== 'string' ||
    typeof v.digest !== 'string' ||
    typeof v.append_count !== 'number' ||
    !Array.isArray(counts) ||
    !counts.every((n) => Number.isSafeInteger(n) && (n as number) >= 0) ||
    !(v.signature === null || typeof v.signature === 'string') ||
    !(v.key_id === null || typeof v.key_id === 'string')
  ) {
    return 'its integrity block is malformed';
  }
  return { algorithm: v.algorithm, digest: v.digest, appendCount: v.append_count, signature: v.signature, keyId: v.key_id, appendEvents: counts as number[] };
}

/** The chain of a session's spooled events, cut into appends of the given sizes; a reason when they do not fit. */
async function chainOf(id: string, spool: EventSpool, appendEvents: number[]): Promise<Buffer | string> {
  let h = chainStart(id);
  let append = 0;
  let hash = new AppendHash();
  let inAppend = 0;
  // Ends the append in hand, and any empty ones after it (they advance the chain too).
  const next = () => {
    do {
      h = chainNext(h, hash.digest());
      hash = new AppendHash();
      append++;
    } while (append < appendEvents.length && appendEvents[append] === 0);
    inAppend = 0;
  };
  if (appendEvents[0] === 0) next();
  for await (const chunk of spool.chunks()) {
    for (const e of decodeEvents(chunk.data)) {
      if (append >= appendEvents.length) return 'it has more events than its appends hold';
      hash.add(e);
      if (++inAppend === appendEvents[append]) next();
    }
  }
  if (append !== appendEvents.length) return 'it has fewer events than its appends hold';
  return h;
}

async function verifyRecord(
  tokens: JsonTokens,
  first: Token,
  keys: Map<string, KeyObject>,
  requireSigned: boolean,
): Promise<{ id: string; reason?: string; unsigned?: true }> {
  if (first.name !== 'startObject') {
    await skipValue(tokens, first);
    return { id: '?', reason: 'it is not a JSON object' };
  }
  const asm = new Assembler<JsonObject>({ reviver: detach });
  asm.consume(first);
  const spool = new EventSpool();
  const idOf = () => (typeof asm.current?.id === 'string' ? asm.current.id.toLowerCase() : '?');
  try {
    for (;;) {
      const token = tokens.take() ?? (await tokens.next());
      if (token.name !== 'keyValue') break;
      if (token.value === 'event_stream') {
        try {
          await readEventStream(tokens, spool);
        } catch (err) {
          if (err instanceof RecordError) return { id: idOf(), reason: `its event_stream is not valid: ${err.message}` };
          throw err;
        }
        continue;
      }
      asm.consume(token);
      asm.consume(tokens.take() ?? (await tokens.next()));
      await assembleTo(tokens, asm, 1, token.value);
    }
    spool.finish();
    const attrs = asm.current!;
    const id = idOf();
    const integrity = integrityOf(attrs.integrity);
    if (typeof integrity === 'string') return { id, reason: integrity };
    if (integrity.algorithm !== CHAIN_ALGORITHM) return { id, reason: `its algorithm ${integrity.algorithm} is not ${CHAIN_ALGORITHM}` };
    if (integrity.appendEvents.length !== integrity.appendCount) return { id, reason: 'append_events does not list append_count appends' };
    const chain = await chainOf(id, spool, integrity.appendEvents);
    if (typeof chain === 'string') return { id, reason: chain };
    if (chain.toString('hex') !== integrity.digest.toLowerCase()) return { id, reason: 'its events do not give its digest (they were changed)' };
    const closed = typeof attrs.status === 'string' && attrs.status.toLowerCase() === 'done';
    if (integrity.signature === null) {
      if (closed) return { id, reason: 'it is closed but not signed' };
      return requireSigned ? { id, reason: 'it is not signed (it was open when exported)' } : { id, unsigned: true };
    }
    const key = integrity.keyId === null ? undefined : keys.get(integrity.keyId);
    if (!key) return { id, reason: `it is signed by key ${integrity.keyId ?? '(none)'}, which is not among the public keys given` };
    if (!verifyDigest(key, chain, Buffer.from(integrity.signature, 'base64'))) return { id, reason: 'its signature does not hold for its digest' };
    return { id };
  } finally {
    spool.dispose();
  }
}

/**
 * Verifies every session of the export `file` against the public keys `keys` (by key id); with
 * `requireSigned`, a session exported while open (so not signed) fails too.
 */
export async function verifyExport(file: string, keys: Map<string, KeyObject>, requireSigned = false): Promise<Verification> {
  const stream = fs.createReadStream(file, { highWaterMark: 1024 * 1024 });
  try {
    const tokens = await JsonTokens.open(file, stream as AsyncIterable<Buffer>);
    const first = await tokens.next();
    const records = first.name === 'startArray' ? undefined : first;
    let verified = 0;
    let unsigned = 0;
    for (;;) {
      const token = records ?? (await tokens.next());
      if (token.name === 'endArray') break;
      const result = await verifyRecord(tokens, token, keys, requireSigned);
      if (result.reason) return { verified, unsigned, failed: { id: result.id, reason: result.reason } };
      verified++;
      if (result.unsigned) unsigned++;
      if (records) break;
    }
    await tokens.end();
    return { verified, unsigned };
  } catch (err) {
    if (err instanceof JsonSyntaxError) throw badInput(`${file} is not valid JSON: ${err.message}`);
    throw err;
  } finally {
    stream.destroy();
  }
}
