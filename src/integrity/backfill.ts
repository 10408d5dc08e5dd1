import type { Logger } from '../logger.ts';
import { withChunkTx } from '../sessions/chunk-storage.ts';
import { eachSessionWhere } from '../sessions/each-session.ts';
import { signDigest, signingKeys } from './keys.ts';
import { appendDigests } from './session-chain.ts';
import { foldChain } from './chain.ts';

/*
 * Sessions stored before the hash chain existed get theirs (spec §15): folded from the digests their
 * chunks already carry (no event is read), in a transaction holding the session's row, so an append
 * racing it either comes before (and is folded in) or after (and advances the chain as usual). A
 * closed session is signed too. Bounded: a session at a time, a digest (64 hex characters) per
 * append in memory.
 */

async function chainSession(sessionId: string): Promise<void> {
  await withChunkTx(async (tx) => {
    const [row] = await tx.query<{ next_sequence: number; chain_count: number; status: string; signed: boolean }>(
      'SELECT next_sequence, chain_count, status::text AS status, signature IS NOT NULL AS signed FROM sessions WHERE id = $1::uuid FOR UPDATE',
      [sessionId],
    );
    if (!row || row.chain_count === row.next_sequence) return; // gone, or done meanwhile
    const digest = foldChain(sessionId, await appendDigests((sql, params) => tx.query(sql, params), sessionId, row.next_sequence));
    // A closed session is signed here only if it never was: a signature is never replaced.
    const signed = row.status === 'DONE' && !row.signed ? signDigest(signingKeys(), digest) : null;
    await tx.query(
      `UPDATE sessions SET chain_digest = decode($2, 'hex'), chain_count = next_sequence,
              signature = COALESCE(signature, decode($3, 'hex')), signing_key_id = CASE WHEN signature IS NULL THEN $4 ELSE signing_key_id END
       WHERE id = $1::uuid`,
      [sessionId, digest.toString('hex'), signed?.signature.toString('hex') ?? null, signed?.keyId ?? null],
    );
  });
}

/** Chains every session whose chain is behind its appends; returns how many. Stops between sessions when `stop()` says so. */
export async function backfillChains(stop: () => boolean = () => false, logger?: Logger): Promise<number> {
  const done = await eachSessionWhere('s.chain_count <> s.next_sequence', chainSession, stop);
  if (done > 0) logger?.info({ sessions: done }, 'hash chains computed for sessions stored before them');
  return done;
}
