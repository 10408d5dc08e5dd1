import { getIntrospectionQuery } from 'graphql';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.ts';
import { createLogger } from '../../src/logger.ts';
import { createGraphQL } from '../../src/server.ts';

// Operation limits are checked before any resolver runs: no database needed.
const yoga = createGraphQL(loadConfig({}), createLogger('silent'), ['s'.repeat(32)]);

async function post(query: string, variables?: Record<string, unknown>) {
  const res = await yoga.fetch('http://reel.test/graphql', {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ query, variables }),
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

  describe('page sizes', () => {
    const largest = /at most 100/;

    it.each([
      ['a literal far over the cost limit', '{ sessions(first: 100000) { edges { node { id } } } }', 'first: 100000'],
      ['a literal just over the largest page', '{ sessions(first: 101) { edges { node { id } } } }', 'first: 101'],
      ['a literal `last`', '{ sessions(last: 500) { edges { node { id } } } }', 'last: 500'],
      ['a literal inside a fragment', 'fragment F on Query { sessions(first: 1000) { edges { cursor } } } { ...F }', 'first: 1000'],
    ])('names the largest page for %s, before any cost limit', async (_name, query, asked) => {
      const body = await post(query);
      expect(body.errors).toHaveLength(1);
      expect(body.errors?.[0]?.message).toContain(`sessions(${asked})`);
      expect(body.errors?.[0]?.message).toMatch(largest);
      expect(body.errors?.[0]?.message).not.toMatch(/cost/i);
      expect(body.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
      expect(body.data).toBeUndefined();
    });

    it('names the largest page for a size given as a variable', async () => {
      const body = await post('query ($n: Int) { sessions(first: $n) { edges { node { id } } } }', { n: 250 });
      expect(body.errors).toHaveLength(1);
      expect(body.errors?.[0]?.message).toContain('sessions(first: 250)');
      expect(body.errors?.[0]?.message).toMatch(largest);
      expect(body.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
    });

    it('still applies the cost limit to what fits in a page', async () => {
      const fields = 'id status roleName startDate endDate userId userEmail type verb connectionSubtype';
      const body = await post(`{ a: sessions(first: 100) { edges { node { ${fields} } } } b: sessions(first: 100) { edges { node { ${fields} } } } c: sessions(first: 100) { edges { node { ${fields} } } } }`);
      expect(body.errors?.[0]?.message).toMatch(/Cost limit/);
      expect(body.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
    });
  });
});
