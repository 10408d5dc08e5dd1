import { chainStart, foldChain } from './chain.ts';

/** A session row's chain columns (Prisma's names). */
export interface ChainColumns {
  id: string;
  nextSequence: number;
  chainDigest: Uint8Array | null;
  chainCount: number;
}

export type Query = <T>(sql: string, params: unknown[]) => Promise<T[]>;

/**
 * The digests of a session's first `appends` appends, in order, as its chunks carry them (part 0 of
 * each sequence): appends stored after the caller read the session row are left out.
 */
export async function appendDigests(query: Query, sessionId: string, appends: number): Promise<Buffer[]> {
  const rows = await query<{ digest: string }>(
    'SELECT digest FROM session_event_chunks WHERE session_id = $1::uuid AND part = 0 AND sequence < $2 ORDER BY sequence',
    [sessionId, appends],
  );
  return rows.map((r) => Buffer.from(r.digest, 'hex'));
}

/**
 * A session's chain over every append it holds: the row's own when in step, else (a session stored
 * before the chain existed, not yet backfilled) folded from its chunks' digests — the same value.
 */
export async function sessionChain(query: Query, s: ChainColumns): Promise<{ digest: Buffer; appendCount: number; inStep: boolean }> {
  if (s.chainCount === s.nextSequence) {
    return { digest: s.chainDigest ? Buffer.from(s.chainDigest) : chainStart(s.id), appendCount: s.nextSequence, inStep: true };
  }
  return { digest: foldChain(s.id, await appendDigests(query, s.id, s.nextSequence)), appendCount: s.nextSequence, inStep: false };
}
