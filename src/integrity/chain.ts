import { createHash } from 'node:crypto';
import type { SessionEvent } from '../sessions/event.ts';

/*
 * The hash chain of a session's appends (spec §15; docs/integrity.md defines it for verifiers):
 *   h₋₁ = SHA-256(the session id as lower-case UUID text, UTF-8)
 *   hₙ  = SHA-256(hₙ₋₁ ‖ SHA-256(canonical bytes of append n))
 * where the canonical bytes of an append are its events in order, each
 *   float64 big-endian time ‖ one byte type ('i', 'o' or 'e') ‖ uint32 big-endian length ‖ data
 * — exactly the bytes the chunk store keeps (sessions/codec.ts), whose SHA-256 every chunk row
 * already carries as `digest` (the append's, to recognise a retried append). So the chain advances
 * in the statement that stores the append, from a digest computed anyway, with no second pass.
 */

export const CHAIN_ALGORITHM = 'sha256-chain';

const sha256 = (...parts: Uint8Array[]) => {
  const hash = createHash('sha256');
  for (const p of parts) hash.update(p);
  return hash.digest();
};

/** h₋₁: the chain of a session with no append. */
export const chainStart = (sessionId: string): Buffer => sha256(Buffer.from(sessionId.toLowerCase(), 'utf8'));

/** hₙ from hₙ₋₁ and the digest of append n's canonical bytes. */
export const chainNext = (previous: Uint8Array, appendDigest: Uint8Array): Buffer => sha256(previous, appendDigest);

/** The chain after the appends whose digests are given, in order. */
export function foldChain(sessionId: string, appendDigests: Iterable<Uint8Array>): Buffer {
  let h = chainStart(sessionId);
  for (const d of appendDigests) h = chainNext(h, d);
  return h;
}

/** SHA-256 of an append's canonical bytes, fed an event at a time. */
export class AppendHash {
  private readonly hash = createHash('sha256');
  private readonly header = Buffer.alloc(13);

  add(e: SessionEvent): void {
    this.header.writeDoubleBE(e.time, 0);
    this.header[8] = e.type.charCodeAt(0);
    this.header.writeUInt32BE(e.data.length, 9);
    this.hash.update(this.header);
    this.hash.update(e.data);
  }

  digest(): Buffer {
    return this.hash.digest();
  }
}

/** SHA-256 of an append's canonical bytes, from its events (what a verifier computes from an export). */
export function appendDigest(events: Iterable<SessionEvent>): Buffer {
  const h = new AppendHash();
  for (const e of events) h.add(e);
  return h.digest();
}

/**
 * SQL SET clauses advancing the chain of the session row `row` (as it was before the statement) by
 * the append whose digest the SQL expression `digestHex` gives (hex text) — when the chain is in
 * step with the row's appends; a session stored before the chain existed is left to the backfill.
 */
export function chainSetSql(row: string, digestHex: string): string {
  const inStep = `${row}.chain_count = ${row}.next_sequence`;
  const start = `sha256(convert_to(${row}.id::text, 'UTF8'))`;
  return (
    `chain_digest = CASE WHEN ${inStep} THEN sha256(COALESCE(${row}.chain_digest, ${start}) || decode(${digestHex}, 'hex')) ELSE ${row}.chain_digest END, ` +
    `chain_count = CASE WHEN ${inStep} THEN ${row}.chain_count + 1 ELSE ${row}.chain_count END`
  );
}
