import os from 'node:os';
import path from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { startTestApp, type TestApp } from '../support/app.ts';
import { blockOtherOrigins, launchChromium, watchedPage } from '../support/browser.ts';
import { ok } from '../support/graphql.ts';

/*
 * GraphiQL in a real browser: reel serves the whole page itself, so it works with no way out of
 * the network, and it never even tries another origin (every such request is aborted and
 * recorded). The screenshot is left at SCREENSHOT for a person to look at.
 */

const SCREENSHOT = path.join(os.tmpdir(), 'reel-graphiql.png');
const LIVE_SCREENSHOT = path.join(os.tmpdir(), 'reel-graphiql-live.png');
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
  const { context, page, errors, otherOrigins } = await watchedPage(browser, new URL(app.url).origin);

  const response = await page.goto(`${app.url}/graphql`);
  expect(response?.status()).toBe(200);
  expect(await page.title()).toBe('reel');
  expect(otherOrigins, 'requests to other origins while loading').toEqual([]);

  await typeKeyAndOperation(page, QUERY);

  // GraphiQL sends the operation with its whitespace squeezed out.
  const sent = page.waitForRequest((request) => request.method() === 'POST' && (request.postData() ?? '').includes('sessions(first:5)'));
  await page.locator('.graphiql-execute-button').click();
  expect((await sent).headers()['authorization']).toBe(`Bearer ${key}`);

  await expect.poll(async () => (await resultText(page)).includes(sessionId), { timeout: 20_000 }).toBe(true);
  const result = JSON.parse(await resultText(page));
  expect(result).toEqual({ data: { sessions: { edges: [{ node: { id: sessionId } }] } } });

  await page.screenshot({ path: SCREENSHOT });
  expect(otherOrigins, 'requests to other origins').toEqual([]);
  expect(errors).toEqual([]);
  // What the browser enforced above (with no violation reported).
  expect(await response?.headerValue('content-security-policy')).toContain("default-src 'self'");
  await context.close();
});

it('runs a live subscription over Server-Sent Events, showing each append as it lands', async () => {
  const context = await browser.newContext({ viewport: { width: 1280, height: 720 } });
  const otherOrigins = await blockOtherOrigins(context, new URL(app.url).origin);
  const page = await context.newPage();
  await page.goto(`${app.url}/graphql`);
  await typeKeyAndOperation(page, `subscription { sessionEvents(sessionId: "${sessionId}") { next status events { index type data } } }`);
  // GraphiQL asks with GET and the operation in the URL, as graphql-sse's distinct connections do.
  const sent = page.waitForRequest((request) => decodeURIComponent(request.url()).includes('sessionEvents'));
  await page.locator('.graphiql-execute-button').click();
  expect((await sent).headers()['accept']).toContain('text/event-stream');

  const append = async (sequence: number, text: string) =>
    ok(
      await app.gql(
        `mutation ($id: ID!, $seq: Int!, $data: String!) { appendSessionEvents(sessionId: $id, sequence: $seq, events: [{ time: 1.5, type: OUTPUT, data: $data }]) { eventCount } }`,
        { id: sessionId, seq: sequence, data: Buffer.from(text).toString('base64') },
        key,
      ),
    );
  // GraphiQL shows the latest batch of the subscription.
  for (const [sequence, text] of ['first line\n', 'second line\n'].entries()) {
    await append(sequence, text);
    const data = Buffer.from(text).toString('base64');
    await expect.poll(async () => (await resultText(page)).includes(data), { timeout: 20_000 }).toBe(true);
  }
  expect(JSON.parse(await resultText(page))).toEqual({
    data: { sessionEvents: { next: 2, status: 'OPEN', events: [{ index: 1, type: 'OUTPUT', data: Buffer.from('second line\n').toString('base64') }] } },
  });
  await page.screenshot({ path: LIVE_SCREENSHOT });
  expect(otherOrigins, 'requests to other origins').toEqual([]);
  await context.close();
});

/** Puts the key in GraphiQL's headers editor and `operation` in its operation editor. */
async function typeKeyAndOperation(page: Page, operation: string): Promise<void> {
  // The headers editor is the second tab under the operation editor.
  await page.locator('.graphiql-editor-tools button[data-name="headers"]').click();
  await page.locator('.graphiql-editor-tool .graphiql-editor:not(.hidden)').click();
  await page.keyboard.insertText(JSON.stringify({ Authorization: `Bearer ${key}` }));

  await page.locator('.graphiql-query-editor .graphiql-editor').click();
  await page.keyboard.press('ControlOrMeta+A');
  await page.keyboard.press('Delete');
  await page.keyboard.insertText(operation);
}

/** The result pane is an editor too: its text, with the editor's non-breaking spaces undone. */
async function resultText(page: Page): Promise<string> {
  return (await page.locator('section.result-window .view-lines').innerText()).replaceAll('\u00a0', ' ');
}
