import {
  getNamedType,
  GraphQLError,
  Kind,
  TypeInfo,
  visit,
  visitWithTypeInfo,
  type ValidationRule,
} from 'graphql';
import type { Plugin } from 'graphql-yoga';

/** The largest page any connection returns, and the page size when `first`/`last` are omitted. */
export const MAX_PAGE_SIZE = 100;
export const DEFAULT_PAGE_SIZE = 20;

const PAGE_ARGS = new Set(['first', 'last']);

function pageSizeError(field: string, arg: string, value: number): GraphQLError {
  return new GraphQLError(
    `${field}(${arg}: ${value}) asks for more than the largest page: ${arg} may be at most ${MAX_PAGE_SIZE}; ` +
      (arg === 'first' ? 'page on with `after: pageInfo.endCursor`' : 'page back with `before: pageInfo.startCursor`'),
    { extensions: { code: 'BAD_USER_INPUT', maxPageSize: MAX_PAGE_SIZE } },
  );
}

/**
 * A page size over the largest page is the caller's mistake, said in those words. Pothos would
 * otherwise return MAX_PAGE_SIZE rows silently, and a literal page size in the thousands trips the
 * cost limit first, whose message names no page size at all.
 */
export function checkPageSize(field: string, args: { first?: number | null; last?: number | null }): void {
  for (const arg of PAGE_ARGS) {
    const value = args[arg as 'first' | 'last'];
    if (value != null && value > MAX_PAGE_SIZE) throw pageSizeError(field, arg, value);
  }
}

/**
 * Literal page sizes, checked before the cost limit sees them. The rule looks at the whole document
 * (every operation and fragment) when validation enters it, so it runs ahead of the cost limit's
 * operation visitor, which stops validation at the first operation over its budget. Page sizes given
 * as variables are checked by each connection's resolver (`checkPageSize`).
 */
const pageSizeRule: ValidationRule = (context) => ({
  Document(document) {
    const typeInfo = new TypeInfo(context.getSchema());
    visit(
      document,
      visitWithTypeInfo(typeInfo, {
        Field(field) {
          const returns = typeInfo.getType();
          if (!returns || !getNamedType(returns).name.endsWith('Connection')) return;
          for (const arg of field.arguments ?? []) {
            if (PAGE_ARGS.has(arg.name.value) && arg.value.kind === Kind.INT) {
              const value = Number(arg.value.value);
              if (value > MAX_PAGE_SIZE) throw pageSizeError(field.name.value, arg.name.value, value);
            }
          }
        },
      }),
    );
  },
});

/** Registers the page-size rule; list it before the cost limit. */
export function usePageSizeLimit(): Plugin {
  return {
    onValidate({ addValidationRule }) {
      addValidationRule(pageSizeRule);
    },
  };
}
