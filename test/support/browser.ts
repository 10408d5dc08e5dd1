import { execFileSync } from 'node:child_process';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';

/*
 * A real browser for the browser tests (npm run test:browser): Debian's chromium, driven by
 * playwright-core. Playwright's own browser download cannot run on our machines; CI installs the
 * distribution's chromium instead.
 */

/** Where `command -v chromium` finds the browser, looked up at run time. */
export function chromiumPath(): string {
  try {
    return execFileSync('sh', ['-c', 'command -v chromium'], { encoding: 'utf8' }).trim();
  } catch {
    throw new Error('chromium not found on PATH: apt-get install -y chromium (npm run test:browser needs it)');
  }
}

export async function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: chromiumPath(),
    headless: true,
    // No sandbox (tests run as root in containers), no GPU, and none of the browser's own
    // background traffic (updates, field trials, first-run pages): every request is the page's.
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--no-first-run'],
  });
}

/**
 * Aborts every request and WebSocket the context's pages (and their workers) try to make to an
 * origin other than `origin`, and returns the list of their URLs, filled as they are attempted.
 */
export async function blockOtherOrigins(context: BrowserContext, origin: string): Promise<string[]> {
  const attempted: string[] = [];
  const foreign = (url: URL | string) => new URL(url).origin !== origin;
  await context.route(foreign, async (route) => {
    attempted.push(route.request().url());
    await route.abort('blockedbyclient');
  });
  await context.routeWebSocket(foreign, async (ws) => {
    attempted.push(ws.url());
    await ws.close();
  });
  return attempted;
}

/**
 * A page in a context of its own whose every request to another origin than `origin` is refused
 * (`otherOrigins` lists them), and whose page errors, console errors and Content-Security-Policy
 * violations are recorded in `errors` (a request the policy refuses, to another origin included,
 * is stopped by the browser before the route could see it: the violation reports it).
 */
export async function watchedPage(
  browser: Browser,
  origin: string,
  viewport = { width: 1280, height: 720 },
): Promise<{ context: BrowserContext; page: Page; errors: string[]; otherOrigins: string[] }> {
  const context = await browser.newContext({ viewport });
  const otherOrigins = await blockOtherOrigins(context, origin);
  const page = await context.newPage();
  const errors: string[] = [];
  page.on('pageerror', (error) => errors.push(`page error: ${error.message}`));
  page.on('console', (message) => {
    if (message.type() === 'error') errors.push(`console: ${message.text()}`);
  });
  await page.addInitScript(() => {
    document.addEventListener('securitypolicyviolation', (event) => {
      console.error(`CSP violation: ${event.effectiveDirective} ${event.blockedURI}`);
    });
  });
  return { context, page, errors, otherOrigins };
}
