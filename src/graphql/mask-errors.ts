import { GraphQLError } from 'graphql';
import type { MaskError } from 'graphql-yoga';
import { ReelError } from '../errors.ts';
import type { Logger } from '../logger.ts';

/**
 * What a GraphQL client is told about an error. The domain's errors keep their message, with
 * their code and details in `extensions`; errors in the request itself (syntax, validation, bad
 * variables, Pothos' argument checks) are BAD_USER_INPUT; anything else is logged and masked as
 * INTERNAL_SERVER_ERROR.
 */
export function maskErrors(logger: Logger): MaskError {
  return (error, message) => {
    // Judged by shape, not `instanceof`: a second copy of graphql in the process must not
    // turn the domain's errors into masked ones.
    const graphqlError = isGraphQLError(error) ? error : undefined;
    const original = graphqlError ? graphqlError.originalError : error;
    const location = graphqlError ? { nodes: graphqlError.nodes, path: graphqlError.path } : {};
    if (original instanceof ReelError) {
      return new GraphQLError(original.message, {
        ...location,
        extensions: { code: original.code, ...original.details },
      });
    }
    // GraphQL's own errors (syntax, validation, bad variables) and Pothos' argument checks
    // (a malformed cursor, a negative page size) are the caller's: say so, with a code.
    if (graphqlError && (original == null || isGraphQLError(original))) {
      return graphqlError.extensions.code
        ? graphqlError
        : new GraphQLError(graphqlError.message, {
            ...location,
            extensions: { ...graphqlError.extensions, code: 'BAD_USER_INPUT' },
          });
    }
    if (original instanceof Error && original.name === 'PothosValidationError') {
      return new GraphQLError(original.message, { ...location, extensions: { code: 'BAD_USER_INPUT' } });
    }
    // A bare JSON SyntaxError, not raised inside an operation, is the request's own: yoga parses
    // `variables` and `extensions` of a GET query string or a form body with JSON.parse and lets
    // its error through unwrapped (found by the fuzz run, docs/fuzz.md). A 400, not a masked 500.
    if (!graphqlError && original instanceof SyntaxError) {
      return new GraphQLError('The request\'s variables or extensions are not valid JSON.', {
        extensions: { code: 'BAD_USER_INPUT', http: { status: 400 } },
      });
    }
    // graphql-js parses recursively: a value nested a few thousand levels deep (`id: [[[[…]]]]`)
    // overflows the stack while the document is parsed, before any limit can look at it. Raised
    // there, not inside an operation, it is the document's fault (found by the fuzz run).
    if (!graphqlError && original instanceof RangeError && /call stack/i.test(original.message)) {
      return new GraphQLError('The document is nested too deeply.', { extensions: { code: 'BAD_USER_INPUT', http: { status: 400 } } });
    }
    logger.error({ err: original, path: graphqlError?.path }, 'unexpected error');
    return new GraphQLError(message, { ...location, extensions: { code: 'INTERNAL_SERVER_ERROR' } });
  };
}

function isGraphQLError(error: unknown): error is GraphQLError {
  return error instanceof Error && error.name === 'GraphQLError' && 'extensions' in error;
}
