import { getIntrospectionQuery } from 'graphql';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.ts';
import { createLogger } from '../../src/logger.ts';
import { createGraphQL } from '../../src/server.ts';

// Operation limits are checked before any resolver runs: no database needed.
const yoga = createGraphQL(loadConfig({}), createLogger('silent'), ['s'.repeat(32)]);

async function post(query: string) {
  const res = await yoga.fetch('http://reel.test/graphql', {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ query }),
  });
  return (await res.json()) as { data?: unknown; errors?: { message: string; extensions?: { code?: string } }[] };
}

describe('operation limits', () => {
  it('refuses many aliases of a field, which could multiply an expensive rendering', async () => {
    const aliases = Array.from({ length: 16 }, (_, i) => `s${i}: session(id: "x") { eventStream(format: UTF8) }`);
    const body = await post(`{ ${aliases.join(' ')} }`);
    expect(body.errors?.[0]?.message).toMatch(/Aliases limit/);
    expect(body.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
  });

  it('counts depth outside introspection only (GraphiQL nests its type queries deeply)', async () => {
    const ofType = (n: number): string => (n === 0 ? 'name' : `ofType { ${ofType(n - 1)} }`);
    const deep = await post(`{ __schema { types { fields { type { ${ofType(10)} } } } } }`);
    expect(deep.errors).toBeUndefined();
  });

  it("answers GraphiQL's introspection without a key", async () => {
    const body = await post(getIntrospectionQuery());
    expect(body.errors).toBeUndefined();
    expect(JSON.stringify(body.data)).toContain('eventStream');
  });
});
