import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.ts';
import { createLogger } from '../../src/logger.ts';
import { createGraphQL } from '../../src/server.ts';

/* The GraphiQL page as an HTTP client sees it (test/browser/graphiql.test.ts drives it in a browser). */

const yoga = createGraphQL(loadConfig({}), createLogger('silent'), ['s'.repeat(32)]);
const openPage = () => yoga.fetch('http://localhost/graphql', { headers: { accept: 'text/html' } });

describe('GraphiQL', () => {
  it('is one page titled reel that loads nothing from another origin', async () => {
    const res = await openPage();
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/html/);
    const html = await res.text();
    expect(html).toContain('<title>reel</title>');
    expect(html).not.toContain('__TITLE__');
    // Every script and style is inline: no tag points anywhere, let alone at a CDN.
    expect(html).not.toMatch(/<script[^>]*\bsrc=/i);
    expect(html).not.toMatch(/<link[^>]*\bhref="(?!data:)/i);
  });
});
