/**
 * Every error reel raises on purpose, declared here once with its code; call sites use the
 * constructors below. All of them are meant for whoever caused them and say so in their message:
 * a GraphQL client gets the message with the code and details in `extensions` (see
 * graphql/mask-errors.ts), the command line prints `reel: <message>` (see cli.ts). Any other error
 * is unexpected: GraphQL masks and logs it, the command line calls it an unexpected error.
 */
export type ErrorCode =
  // The caller's request: GraphQL clients see these codes.
  | 'UNAUTHENTICATED'
  | 'FORBIDDEN'
  | 'NOT_FOUND'
  | 'BAD_USER_INPUT'
  | 'CONFLICT'
  | 'SESSION_CLOSED'
  | 'UNSUPPORTED_FORMAT'
  | 'EVENT_STREAM_TOO_LARGE'
  | 'RATE_LIMITED'
  // `reel verify`: a session of an export that does not hold.
  | 'VERIFICATION_FAILED'
  // The operator's set-up: only the command line meets these.
  | 'INVALID_CONFIG'
  | 'DATA_DIR_LOCKED';

export class ReelError extends Error {
  override name = 'ReelError';
  constructor(
    readonly code: ErrorCode,
    message: string,
    /** Extra machine-readable details for `extensions` (e.g. the offending index). */
    readonly details: Record<string, unknown> = {},
  ) {
    super(message);
  }
}

type Details = Record<string, unknown>;

// Refusals whose message depends on what was refused.
export const unauthenticated = () => new ReelError('UNAUTHENTICATED', 'a valid API key is required (Authorization: Bearer <key>)');
export const forbidden = (message: string) => new ReelError('FORBIDDEN', message);
export const notFound = (message = 'not found') => new ReelError('NOT_FOUND', message);
export const badInput = (message: string, details: Details = {}) => new ReelError('BAD_USER_INPUT', message, details);
export const conflict = (message: string, details: Details = {}) => new ReelError('CONFLICT', message, details);

/** A key's subscriptions end once it is revoked. */
export const keyRevoked = () => new ReelError('UNAUTHENTICATED', 'the API key was revoked');

/** A key that holds as many live subscriptions as one server allows. */
export const tooManySubscriptions = (limit: number) =>
  new ReelError(
    'RATE_LIMITED',
    `this API key holds ${limit} live subscriptions on this server, the most allowed (REEL_MAX_SUBSCRIPTIONS_PER_KEY); end one first`,
    { limit },
  );

/** A read of a session's events that a deletion of the session cut short (spec §15). */
export const sessionDeletedWhileRead = () => new ReelError('NOT_FOUND', 'the session was deleted while its events were read');

/** `reel verify`: the first session of an export whose events, digest or signature do not hold. */
export const verificationFailed = (sessionId: string, reason: string, verifiedBefore: number) =>
  new ReelError('VERIFICATION_FAILED', `session ${sessionId} fails verification: ${reason} (${verifiedBefore} session(s) before it verified)`, {
    sessionId,
  });

/** Events for a session that was closed. */
export const sessionClosed = () => new ReelError('SESSION_CLOSED', 'the session is closed; no more events');

/** §4.3: the SQL can be told apart only in a Postgres session's stream. */
export const rawQueriesNeedPostgres = () =>
  new ReelError('UNSUPPORTED_FORMAT', 'RAW_QUERIES is only available for Postgres sessions', { format: 'RAW_QUERIES' });

/** §4.4: the rendering would exceed the inline cap of `maxBytes`. */
export const eventStreamTooLarge = (maxBytes: number) =>
  new ReelError(
    'EVENT_STREAM_TOO_LARGE',
    `the rendered event stream is larger than the inline limit of ${maxBytes} bytes; ` +
      'request it as a file with the downloadLink mutation instead',
    { maxBytes },
  );

/** An environment variable with a value reel cannot use; the message names it. */
export const invalidConfig = (variable: string, problem: string) =>
  new ReelError('INVALID_CONFIG', `invalid ${variable}: ${problem}`, { variable });

/** Another live process holds the embedded database's data directory. */
export const dataDirInUse = (dataDir: string, pid: number) =>
  new ReelError(
    'DATA_DIR_LOCKED',
    `the data directory ${dataDir} is in use by another reel process (pid ${pid}); stop it first or use another REEL_DATA_DIR`,
  );

/** The data directory's lock could not be taken, though its holders kept going away. */
export const dataDirNotLocked = (dataDir: string) => new ReelError('DATA_DIR_LOCKED', `could not lock the data directory ${dataDir}`);
