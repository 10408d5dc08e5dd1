/**
 * Rate limits off (§16: 0 turns a limit off): tests of other features send requests far faster
 * than any client should, and would be refused. test/ops/rate-limits.test.ts turns them on.
 */
export const NO_RATE_LIMITS = {
  REEL_RATE_LIMIT_PER_SECOND: '0',
  REEL_INGEST_RATE_LIMIT_PER_SECOND: '0',
  REEL_LINK_RATE_LIMIT_PER_MINUTE: '0',
} as const;
