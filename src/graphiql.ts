import { createHash } from 'node:crypto';
import type { GraphiQLOptions, Plugin } from 'graphql-yoga';

/*
 * GraphiQL served whole from reel: @graphql-yoga/render-graphiql inlines GraphiQL's scripts, styles
 * and editor workers into one page (yoga's default page fetches them from a public CDN, which a
 * network with no way out never reaches, and a page that holds an admin key should not run
 * third-party code anyway). The page goes out with a Content-Security-Policy that allows nothing
 * from another origin: see docs/decisions.md.
 */

interface Page {
  html: string;
  policy: string;
}

// The page is ~9 MB; it depends only on the options, so it is rendered once per set of options
// and shared by every yoga instance, rather than on every request. Its module is as large, and is
// loaded on the first request for the page, not by every process that imports the server (the
// command line does).
const pages = new Map<string, Promise<Page>>();

function pageFor(options: GraphiQLOptions): Promise<Page> {
  const key = JSON.stringify(options);
  let page = pages.get(key);
  if (!page) {
    page = import('@graphql-yoga/render-graphiql').then(({ renderGraphiQL }) => {
      const html = renderGraphiQL(options);
      return { html, policy: contentSecurityPolicy(html) };
    });
    pages.set(key, page);
  }
  return page;
}

/**
 * The policy for one rendering of the page: its inline scripts run by hash, nothing else runs;
 * every fetch, image and font stays on this origin (the page's icons and fonts are data: URLs).
 */
function contentSecurityPolicy(html: string): string {
  const scripts = [...html.matchAll(/<script>([\s\S]*?)<\/script/gi)].map(
    (match) => `'sha256-${createHash('sha256').update(match[1]!).digest('base64')}'`,
  );
  return [
    "default-src 'self'",
    `script-src ${scripts.join(' ')}`,
    // The page sets style attributes through markup and Monaco adds a <style> at run time: no
    // hash can cover those (docs/decisions.md).
    "style-src 'self' 'unsafe-inline'",
    "img-src 'self' data:",
    "font-src 'self' data:",
    // The editors' workers are built in the page from blob: URLs.
    'worker-src blob:',
    "connect-src 'self'",
    "object-src 'none'",
    "base-uri 'none'",
    "form-action 'self'",
    "frame-ancestors 'none'",
  ].join('; ');
}

/**
 * GraphiQL for createYoga: `options` go to its `graphiql`, `render` to its `renderGraphiQL`, and
 * `plugin` (which adds the page's Content-Security-Policy) to its `plugins`.
 */
export function selfContainedGraphiQL(options: GraphiQLOptions): {
  options: GraphiQLOptions;
  render: (options?: GraphiQLOptions) => Promise<string>;
  plugin: Plugin;
} {
  return {
    options,
    render: async (given) => (await pageFor(given ?? options)).html,
    plugin: {
      async onResponse({ request, response }) {
        // GraphiQL is the only HTML yoga answers with here (the landing page is off).
        if (request.method === 'GET' && response.headers.get('content-type')?.startsWith('text/html')) {
          response.headers.set('Content-Security-Policy', (await pageFor(options)).policy);
        }
      },
    },
  };
}
