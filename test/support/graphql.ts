import { expect } from 'vitest';

/** What a GraphQL POST answered: the HTTP status and the parsed body. */
export interface GraphQLResult<T = Record<string, unknown>> {
  status: number;
  data: T | null | undefined;
  errors: { message: string; extensions?: { code?: string; [k: string]: unknown }; path?: (string | number)[] }[] | undefined;
}

/** Posts a GraphQL operation to `baseUrl`/graphql over HTTP, as a client would. */
export async function postGraphQL<T>(
  baseUrl: string,
  query: string,
  variables?: Record<string, unknown>,
  key?: string,
  signal?: AbortSignal,
): Promise<GraphQLResult<T>> {
  const res = await fetch(`${baseUrl}/graphql`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(key && { authorization: `Bearer ${key}` }) },
    body: JSON.stringify({ query, variables }),
    ...(signal && { signal }),
  });
  const text = await res.text();
  let body: { data?: never; errors?: never } = {};
  try {
    body = JSON.parse(text);
  } catch {
    throw new Error(`non-JSON response ${res.status}: ${text.slice(0, 200)}`);
  }
  return { status: res.status, data: body.data, errors: body.errors };
}

/** Asserts a result without errors and returns its data. */
export function ok<T>(res: GraphQLResult<T>): T {
  expect(res.errors, JSON.stringify(res.errors)).toBeUndefined();
  expect(res.data).toBeTruthy();
  return res.data as T;
}

/** Asserts a result with exactly one error and returns it. */
export function failed<T>(res: GraphQLResult<T>) {
  expect(res.errors, `expected an error, got ${JSON.stringify(res.data)}`).toBeDefined();
  expect(res.errors, JSON.stringify(res.errors)).toHaveLength(1);
  return res.errors![0]!;
}

/** The `extensions.code` of a result's only error. */
export function codeOf<T>(res: GraphQLResult<T>): string | undefined {
  return failed(res).extensions?.code;
}
