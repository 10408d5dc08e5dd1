/**
 * Errors the domain raises on purpose. Each carries a code that reaches GraphQL clients as
 * `extensions.code`; anything else is an unexpected error, masked and logged.
 */
export type ErrorCode =
  | 'UNAUTHENTICATED'
  | 'FORBIDDEN'
  | 'NOT_FOUND'
  | 'BAD_USER_INPUT'
  | 'CONFLICT'
  | 'SESSION_CLOSED'
  | 'UNSUPPORTED_FORMAT'
  | 'EVENT_STREAM_TOO_LARGE';

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

export const unauthenticated = (message = 'a valid API key is required (Authorization: Bearer <key>)') =>
  new ReelError('UNAUTHENTICATED', message);
export const forbidden = (message: string) => new ReelError('FORBIDDEN', message);
export const notFound = (message = 'not found') => new ReelError('NOT_FOUND', message);
export const badInput = (message: string, details: Record<string, unknown> = {}) =>
  new ReelError('BAD_USER_INPUT', message, details);
export const conflict = (message: string, details: Record<string, unknown> = {}) =>
  new ReelError('CONFLICT', message, details);
