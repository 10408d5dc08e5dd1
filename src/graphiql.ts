import { renderGraphiQL } from '@graphql-yoga/render-graphiql';
import type { GraphiQLOptions } from 'graphql-yoga';

/*
 * GraphiQL served whole from reel: @graphql-yoga/render-graphiql inlines GraphiQL's scripts, styles
 * and editor workers into one page (yoga's default page fetches them from a public CDN, which a
 * network with no way out never reaches, and a page that holds an admin key should not run
 * third-party code anyway). See docs/decisions.md.
 */

// The page is ~9 MB; it depends only on the options, so it is rendered once per set of options
// and shared by every yoga instance, rather than on every request.
const pages = new Map<string, string>();

function pageFor(options: GraphiQLOptions): string {
  const key = JSON.stringify(options);
  let page = pages.get(key);
  if (!page) {
    page = renderGraphiQL(options);
    pages.set(key, page);
  }
  return page;
}

/** GraphiQL for createYoga: `options` go to its `graphiql`, `render` to its `renderGraphiQL`. */
export function selfContainedGraphiQL(options: GraphiQLOptions): {
  options: GraphiQLOptions;
  render: (options?: GraphiQLOptions) => string;
} {
  return { options, render: (given) => pageFor(given ?? options) };
}
