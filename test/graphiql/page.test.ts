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

  it('comes with a Content-Security-Policy that allows no other origin and no script but its own', async () => {
    const policy = (await openPage()).headers.get('content-security-policy') ?? '';
    const directives = new Map(policy.split(/;\s*/).map((d) => [d.split(' ')[0], d.split(' ').slice(1)] as const));
    expect(directives.get('default-src')).toEqual(["'self'"]);
    const scripts = directives.get('script-src') ?? [];
    expect(scripts.length).toBeGreaterThan(0);
    for (const source of scripts) expect(source).toMatch(/^'sha256-[A-Za-z0-9+/]+=*'$/);
    expect(directives.get('connect-src')).toEqual(["'self'"]);
    expect(directives.get('frame-ancestors')).toEqual(["'none'"]);
    for (const sources of directives.values()) {
      for (const source of sources) expect(source).not.toMatch(/^(https?:|\*|[a-z0-9.-]+\.[a-z]{2,})/i);
    }
  });
});
