import os from 'node:os';
import path from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type Clock, type TestApp } from '../support/app.ts';
import { launchChromium, watchedPage } from '../support/browser.ts';
import { ok } from '../support/graphql.ts';
import { ev, type EventIn, ingest } from '../support/ingest.ts';
import { cstr, typed } from '../pgwire/frames.ts';

/*
 * The viewer page (spec §14) in a real browser, with every other origin cut off: a terminal session
 * played by asciinema-player from its segmented recording (play, seek to the end, read the screen;
 * open at a moment in the middle), a Postgres session's queries, a phone-sized screen, and a link
 * that expired. Screenshots are left in the temporary directory for a person to look at
 * (docs/ keeps copies).
 */

const SHOTS = os.tmpdir();
const clock: Clock = { now: Date.now() };

let app: TestApp;
let browser: Browser;
let key: string;
let terminalId: string;
let postgresId: string;

const VIEW_LINK = /* GraphQL */ `
  mutation View($id: ID!, $at: Float) { viewLink(sessionId: $id, at: $at) { downloadUrl expireAt } }`;

/** A long terminal session: a prompt, ~4 MiB of numbered lines in many appends (several segments), a last command. */
function terminalCalls(): EventIn[][] {
  const calls: EventIn[][] = [[ev(0.1, 'o', '\u001b[1;32mops@web-1\u001b[0m:~$ '), ev(0.5, 'i', 'seq 30000\r'), ev(0.6, 'o', 'seq 30000\r\n')]];
  let t = 1;
  for (let block = 0; block < 30; block++) {
    const lines: string[] = [];
    // Each line carries resets that show nothing: ~4 MiB in all, so about eight segments.
    for (let n = 0; n < 1000; n++) lines.push(`line ${block * 1000 + n + 1} ${'.'.repeat(40)}${'\u001b[0m'.repeat(20)}\r\n`);
    calls.push([ev(t, 'o', lines.join(''))]);
    t += 1;
  }
  calls.push([ev(t, 'o', '\u001b[1;32mops@web-1\u001b[0m:~$ '), ev(t + 1, 'i', 'echo done\r'), ev(t + 1.1, 'o', 'echo done\r\nthe recording ends here ✓\r\n')]);
  return calls;
}

beforeAll(async () => {
  app = await startTestApp({}, { clock });
  const orgId = await app.org('acme');
  key = await app.key(orgId, 'ADMIN', 'admin');
  terminalId = await ingest(
    app,
    key,
    { verb: 'CONNECT', type: 'custom', connectionSubtype: 'ssh', roleName: 'web-1-ssh', metadata: { terminal: { cols: 100, rows: 20 } } },
    terminalCalls(),
  );
  postgresId = await ingest(app, key, {
    verb: 'CONNECT',
    roleName: 'pg-shop',
    events: [
      [1.204518, 'i', typed('Q', cstr("SELECT id, email FROM customers WHERE email LIKE '%@example.com' LIMIT 3;"))],
      [3.5, 'i', typed('Q', cstr('UPDATE orders SET status = \u0027shipped\u0027 WHERE id = 42;'))],
    ],
  });
  browser = await launchChromium();
});

afterAll(async () => {
  await browser?.close();
  await app?.close();
});

async function viewUrl(id: string, at?: number): Promise<string> {
  const { downloadUrl } = ok(await app.gql<{ viewLink: { downloadUrl: string } }>(VIEW_LINK, { id, at }, key)).viewLink;
  // The link is built on the public base URL; the test server answers on its own port.
  const url = new URL(downloadUrl);
  return `${app.url}${url.pathname}${url.search}${url.hash}`;
}

/** A page that records console errors, CSP violations and requests to other origins. */
const openPage = (viewport = { width: 1280, height: 900 }) => watchedPage(browser, new URL(app.url).origin, viewport);

/** The requests a page makes for segments of the recording, as they are made. */
function segmentRequests(page: Page): string[] {
  const urls: string[] = [];
  page.on('request', (r) => {
    if (new URL(r.url()).pathname.endsWith('/view/segment')) urls.push(r.url());
  });
  return urls;
}

/** How many segments the page's recording has (its index, fetched as the player does). */
const segmentCount = (page: Page) =>
  page.evaluate(async () => {
    const data = JSON.parse(document.getElementById('view-data')!.textContent!);
    return (await (await fetch(data.recording)).json()).segments.length as number;
  });

/** The lines of the player's terminal screen. */
const screen = (page: Page) => page.$$eval('.ap-term .ap-line', (rows) => rows.map((r) => (r.textContent ?? '').trimEnd()));

describe('the viewer page', () => {
  it('plays a terminal session: play, seek to the end, and the screen shows how it ended', async () => {
    const { context, page, errors, otherOrigins } = await openPage();
    const segments = segmentRequests(page);
    const response = await page.goto(await viewUrl(terminalId));
    expect(response?.status()).toBe(200);
    expect(await response?.headerValue('content-security-policy')).toContain("default-src 'none'");
    expect(await page.locator('h1').textContent()).toBe('web-1-ssh');
    expect(await page.locator('.attributes').textContent()).toContain('DONE');

    // The player's own play button, then its clock moves.
    await page.locator('.ap-player').click();
    await expect.poll(() => page.evaluate(async () => (await (window as unknown as { reelPlayer: { getCurrentTime(): number } }).reelPlayer.getCurrentTime()) ?? 0), { timeout: 20_000 }).toBeGreaterThan(0.5);
    // It plays before the whole recording is in.
    const total = await segmentCount(page);
    expect(total).toBeGreaterThanOrEqual(6);
    expect(segments.length).toBeLessThan(total);
    await page.evaluate(() => (window as unknown as { reelPlayer: { seek(at: string): Promise<unknown> } }).reelPlayer.seek('100%'));
    await expect.poll(async () => (await screen(page)).join('\n'), { timeout: 20_000 }).toContain('the recording ends here ✓');
    const lines = await screen(page);
    expect(lines).toContain('line 30000 ........................................');
    expect(lines.some((l) => l.startsWith('line 29999 '))).toBe(true);
    await page.screenshot({ path: path.join(SHOTS, 'reel-viewer-terminal.png') });

    // The recording came in segments, each behind a signed link of its own.
    const duration = await page.evaluate(async () => (window as unknown as { reelPlayer: { getDuration(): number } }).reelPlayer.getDuration());
    expect(duration).toBeCloseTo(32.1, 5);
    expect(otherOrigins).toEqual([]);
    expect(errors).toEqual([]);
    await context.close();
  });

  it('opens at a moment (#t=), loading only the segments around it', async () => {
    const { context, page, errors } = await openPage();
    const segments = segmentRequests(page);
    // 15.5 s: line 15000 was written at 15 s; the player loads the segment that holds it (not all of them).
    await page.goto(await viewUrl(terminalId, 15.5));
    await expect.poll(async () => (await screen(page)).join('\n'), { timeout: 20_000 }).toContain('line 15000 ');
    expect(segments.length).toBeGreaterThan(0);
    expect(segments.length).toBeLessThanOrEqual(3);
    expect(await segmentCount(page)).toBeGreaterThan(3);
    expect(errors).toEqual([]);
    await context.close();
  });

  it('changes speed where it is: the player is made again at the same moment', async () => {
    const { context, page, errors } = await openPage();
    await page.goto(await viewUrl(terminalId, 20.25));
    await expect.poll(async () => (await screen(page)).join('\n'), { timeout: 20_000 }).toContain('line 20000 ');
    await page.selectOption('#speed', '4');
    const time = () => page.evaluate(async () => (await (window as unknown as { reelPlayer: { getCurrentTime(): number } }).reelPlayer.getCurrentTime()) ?? 0);
    await expect.poll(time, { timeout: 20_000 }).toBeCloseTo(20.25, 1);
    expect((await screen(page)).join('\n')).toContain('line 20000 ');
    expect(errors).toEqual([]);
    await context.close();
  });

  it("lists a Postgres session's queries with their times, on a phone-sized screen too", async () => {
    for (const [name, viewport] of [
      ['postgres', { width: 1280, height: 720 }],
      ['postgres-phone', { width: 390, height: 844 }],
    ] as const) {
      const { context, page, errors, otherOrigins } = await openPage(viewport);
      const response = await page.goto(await viewUrl(postgresId));
      expect(response?.status()).toBe(200);
      const rows = await page.locator('table.transcript tbody tr').allTextContents();
      expect(rows).toHaveLength(2);
      expect(rows[0]).toContain("SELECT id, email FROM customers WHERE email LIKE '%@example.com' LIMIT 3;");
      expect(rows[0]).toContain('1.205 s');
      expect(rows[1]).toContain("UPDATE orders SET status = 'shipped' WHERE id = 42;");
      // Nothing wider than the screen.
      expect(await page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(viewport.width);
      await page.screenshot({ path: path.join(SHOTS, `reel-viewer-${name}.png`), fullPage: true });
      expect(otherOrigins).toEqual([]);
      expect(errors).toEqual([]);
      await context.close();
    }
  });

  it('a terminal session on a phone-sized screen', async () => {
    const { context, page, errors } = await openPage({ width: 390, height: 844 });
    await page.goto(await viewUrl(terminalId, 31.5));
    await expect.poll(async () => (await screen(page)).join('\n'), { timeout: 20_000 }).toContain('line 30000 ');
    expect(await page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(390);
    await page.screenshot({ path: path.join(SHOTS, 'reel-viewer-terminal-phone.png'), fullPage: true });
    expect(errors).toEqual([]);
    await context.close();
  });

  it("asciinema-player plays reel's asciicast download as it is", async () => {
    const { context, page, errors, otherOrigins } = await openPage();
    await page.goto(await viewUrl(terminalId));
    const { downloadUrl } = ok(
      await app.gql<{ downloadLink: { downloadUrl: string } }>(
        `mutation ($id: ID!) { downloadLink(sessionId: $id, extension: "cast", from: 29) { downloadUrl } }`,
        { id: terminalId },
        key,
      ),
    ).downloadLink;
    const cast = new URL(downloadUrl);
    // A second player on the page, given the file's URL (same origin) as a plain asciicast source.
    await page.evaluate(async (src) => {
      const element = document.createElement('div');
      element.id = 'cast-player';
      document.body.append(element);
      const player = (window as unknown as { AsciinemaPlayer: { create(src: string, el: HTMLElement, opts: object): { seek(at: string): Promise<unknown> } } }).AsciinemaPlayer.create(src, element, { fit: false });
      await player.seek('100%');
    }, `${cast.pathname}${cast.search}`);
    const castScreen = () => page.$$eval('#cast-player .ap-line', (rows) => rows.map((r) => (r.textContent ?? '').trimEnd()).join('\n'));
    await expect.poll(castScreen, { timeout: 20_000 }).toContain('the recording ends here ✓');
    expect(await castScreen()).toContain('line 30000 ');
    expect(otherOrigins).toEqual([]);
    expect(errors).toEqual([]);
    await context.close();
  });

  it('an expired link is a small page with status 410', async () => {
    const url = await viewUrl(postgresId);
    const saved = clock.now;
    clock.now += 24 * 3600 * 1000;
    try {
      const { context, page } = await openPage();
      const response = await page.goto(url);
      expect(response?.status()).toBe(410);
      expect(await page.locator('h1').textContent()).toBe('410');
      await context.close();
    } finally {
      clock.now = saved;
    }
  });
});
