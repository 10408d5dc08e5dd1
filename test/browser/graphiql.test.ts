import os from 'node:os';
import path from 'node:path';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { startTestApp, type TestApp } from '../support/app.ts';
import { blockOtherOrigins, launchChromium } from '../support/browser.ts';
import { ok } from '../support/graphql.ts';

/*
 * GraphiQL in a real browser: reel serves the whole page itself, so it works with no way out of
 * the network, and it never even tries another origin (every such request is aborted and
 * recorded). The screenshot is left at SCREENSHOT for a person to look at.
 */

const SCREENSHOT = path.join(os.tmpdir(), 'reel-graphiql.png');
const QUERY = '{ sessions(first: 5) { edges { node { id } } } }';

let app: TestApp;
let browser: Browser;
let key: string;
let sessionId: string;

beforeAll(async () => {
  app = await startTestApp();
  key = await app.key(await app.org('acme'), 'ADMIN', 'admin');
  const opened = await app.gql<{ openSession: { id: string } }>(
    `mutation { openSession(input: { roleName: "pg-prod", type: "database", connectionSubtype: "postgres", verb: EXEC, userId: "alice" }) { id } }`,
    {},
    key,
  );
  sessionId = ok(opened).openSession.id;
  browser = await launchChromium();
});

afterAll(async () => {
  await browser?.close();
  await app?.close();
});

it('serves GraphiQL whole from reel: it runs a query with the key from its headers editor and asks no other origin for anything', async () => {
  const context = await browser.newContext({ viewport: { width: 1280, height: 720 } });
  const origin = new URL(app.url).origin;
  const otherOrigins = await blockOtherOrigins(context, origin);
  const page = await context.newPage();
  const errors: string[] = [];
  page.on('pageerror', (error) => errors.push(`page error: ${error.message}`));
  page.on('console', (message) => {
    if (message.type() === 'error') errors.push(`console: ${message.text()}`);
  });
  // Anything the Content-Security-Policy refuses (a request to another origin included: the browser
  // stops it before the route above could see it) is reported as an error: record it.
  await page.addInitScript(() => {
    document.addEventListener('securitypolicyviolation', (event) => {
      console.error(`CSP violation: ${event.effectiveDirective} ${event.blockedURI}`);
    });
  });

  const response = await page.goto(`${app.url}/graphql`);
  expect(response?.status()).toBe(200);
  expect(await page.title()).toBe('reel');
  expect(otherOrigins, 'requests to other origins while loading').toEqual([]);

  // The headers editor is the second tab under the operation editor.
  await page.locator('.graphiql-editor-tools button[data-name="headers"]').click();
  await page.locator('.graphiql-editor-tool .graphiql-editor:not(.hidden)').click();
  await page.keyboard.insertText(JSON.stringify({ Authorization: `Bearer ${key}` }));

  await page.locator('.graphiql-query-editor .graphiql-editor').click();
  await page.keyboard.press('ControlOrMeta+A');
  await page.keyboard.press('Delete');
  await page.keyboard.insertText(QUERY);

  // GraphiQL sends the operation with its whitespace squeezed out.
  const sent = page.waitForRequest((request) => request.method() === 'POST' && (request.postData() ?? '').includes('sessions(first:5)'));
  await page.locator('.graphiql-execute-button').click();
  expect((await sent).headers()['authorization']).toBe(`Bearer ${key}`);

  // The result pane is an editor too: its text, with the editor's non-breaking spaces undone.
  const resultPane = page.locator('section.result-window .view-lines');
  await expect.poll(async () => (await resultPane.innerText()).includes(sessionId), { timeout: 20_000 }).toBe(true);
  const result = JSON.parse((await resultPane.innerText()).replaceAll('\u00a0', ' '));
  expect(result).toEqual({ data: { sessions: { edges: [{ node: { id: sessionId } }] } } });

  await page.screenshot({ path: SCREENSHOT });
  expect(otherOrigins, 'requests to other origins').toEqual([]);
  expect(errors).toEqual([]);
  // What the browser enforced above (with no violation reported).
  expect(await response?.headerValue('content-security-policy')).toContain("default-src 'self'");
  await context.close();
});
