import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TestApp } from '../support/app.ts';
import { codeOf, ok } from '../support/graphql.ts';
import { ev, ingest } from '../support/ingest.ts';
import { deleteSession, fetchPath, pathOf, revokeKey, startDownloadApp } from '../downloads/helpers.ts';
import { cstr, typed } from '../pgwire/frames.ts';
import { INIT_BYTES, nextDown, nextUp, SEGMENT_BYTES } from '../../src/view/recording.ts';

/*
 * The viewer's HTTP surface (spec §14) without a browser: viewLink, the page and its refusals in
 * §6's order as small HTML pages, the Content-Security-Policy, and the segmented recording the
 * page's player loads (index and segments, each behind a link of its own). test/browser/viewer.test.ts
 * plays it in a real browser.
 */

let app: TestApp;
let admin: string;
let reviewer: string;
let terminal: string;

const VIEW_LINK = /* GraphQL */ `
  mutation View($id: ID!, $at: Float) { viewLink(sessionId: $id, at: $at) { downloadUrl expireAt } }`;

beforeAll(async () => {
  app = await startDownloadApp();
  app.clock.now = Date.UTC(2026, 0, 1);
  const orgId = await app.org('acme');
  admin = await app.key(orgId, 'ADMIN', 'root');
  reviewer = await app.key(orgId, 'STANDARD', 'bob', { groups: ['dba'] });
  // ~1.3 MiB of output in 1 s steps: three segments of about SEGMENT_BYTES.
  const line = 'x'.repeat(1023) + '\n';
  const calls = Array.from({ length: 13 }, (_, k) => [ev(k, 'o', `${k}:` + line.repeat(100))]);
  terminal = await ingest(
    app,
    admin,
    { verb: 'CONNECT', type: 'custom', connectionSubtype: 'ssh', roleName: 'web <1>', review: { type: 'ONETIME', status: 'APPROVED', groups: [{ group: 'dba', status: 'APPROVED' }] } },
    calls,
  );
});

afterAll(async () => {
  await app?.close();
});

async function viewLink(id: string, key = admin, at?: number) {
  return ok(await app.gql<{ viewLink: { downloadUrl: string; expireAt: string } }>(VIEW_LINK, { id, at }, key)).viewLink;
}

async function get(path: string) {
  const res = await fetchPath(app, path);
  return { status: res.status, type: res.headers.get('content-type'), csp: res.headers.get('content-security-policy'), text: await res.text() };
}

/** The relative URLs a page or an index holds, resolved as a browser would. */
const resolve = (relative: string, base: string) => {
  const url = new URL(relative, `http://reel${base}`);
  return url.pathname + url.search;
};

describe('viewLink', () => {
  it('is a signed page link on the public base URL, with #t= for `at`', async () => {
    const l = await viewLink(terminal, admin, 12.5);
    expect(l.downloadUrl).toMatch(new RegExp(`^${app.config.publicUrl}/sessions/${terminal}/view\\?token=[A-Za-z0-9_.-]+#t=12\\.5$`));
    expect(new Date(l.expireAt).getTime()).toBe(app.clock.now + app.config.downloadTtlSeconds * 1000);
  });

  it('refuses what downloadLink refuses, and a bad `at`', async () => {
    expect(codeOf(await app.gql(VIEW_LINK, { id: terminal }, reviewer))).toBe('FORBIDDEN');
    expect(codeOf(await app.gql(VIEW_LINK, { id: '00000000-0000-4000-8000-000000000000' }, admin))).toBe('NOT_FOUND');
    expect(codeOf(await app.gql(VIEW_LINK, { id: terminal, at: -1 }, admin))).toBe('BAD_USER_INPUT');
    expect(codeOf(await app.gql(VIEW_LINK, { id: terminal }))).toBe('UNAUTHENTICATED');
  });
});

describe('the page', () => {
  it('shows the attributes, escaped, under a policy that allows only its own origin', async () => {
    const page = pathOf(app, (await viewLink(terminal)).downloadUrl);
    const res = await get(page);
    expect(res.status).toBe(200);
    expect(res.type).toBe('text/html; charset=utf-8');
    expect(res.csp).toBe(
      "default-src 'none'; script-src 'self' 'wasm-unsafe-eval'; style-src 'self'; connect-src 'self'; img-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
    );
    expect(res.text).toContain('<h1>web &lt;1&gt;</h1>');
    expect(res.text).toContain('ONETIME · APPROVED · dba: APPROVED');
    // No inline script: a script element with content is the JSON data element, which runs nothing.
    expect([...res.text.matchAll(/<script([^>]*)>[^<]/gi)].map((m) => m[1])).toEqual([' type="application/json" id="view-data"']);
    expect(res.text).not.toMatch(/https?:\/\//); // every link relative: nothing from another origin
    // Its assets are reel's own.
    for (const asset of res.text.matchAll(/(?:src|href)="(\.\.\/\.\.\/view\/assets\/[^"]+)"/g)) {
      const got = await get(resolve(asset[1]!, page));
      expect(got.status, asset[1]).toBe(200);
    }
  });

  it('refuses in §6 order with small HTML pages: 401, 410, 404, 403', async () => {
    const id = await ingest(app, admin, { connectionSubtype: null, type: 'custom', events: [[1, 'o', 'a']] });
    const page = pathOf(app, (await viewLink(id)).downloadUrl);
    const refused = async (path: string, status: number) => {
      const res = await get(path);
      expect({ status: res.status, type: res.type }).toEqual({ status, type: 'text/html; charset=utf-8' });
      expect(res.text).toContain(`<h1>${status}</h1>`);
      expect(res.csp).toContain("default-src 'none'");
    };
    await refused(page.replace(/token=([^&]{5})/, 'token=$1x'), 401);
    await refused(page.replace(`/sessions/${id}/`, `/sessions/${terminal}/`), 401);
    await refused(`${page}&from=1`, 401);
    // A download link's token opens no page.
    const download = await app.gql<{ downloadLink: { downloadUrl: string } }>(
      `mutation($id: ID!) { downloadLink(sessionId: $id, extension: "html") { downloadUrl } }`,
      { id },
      admin,
    );
    const token = new URL(ok(download).downloadLink.downloadUrl).searchParams.get('token')!;
    await refused(`/sessions/${id}/view?token=${token}`, 401);

    const saved = app.clock.now;
    app.clock.now += 3600_000;
    await refused(page.replace(/token=([^&]{5})/, 'token=$1x'), 401);
    await refused(page, 410);
    app.clock.now = saved;

    const other = await ingest(app, admin, { connectionSubtype: null, type: 'custom', events: [[1, 'o', 'a']] });
    const gone = pathOf(app, (await viewLink(other)).downloadUrl);
    await deleteSession(other);
    await refused(gone, 404);

    const key = await app.key((await app.gql<{ session: { orgId: string } }>(`query($id: ID!) { session(id: $id) { orgId } }`, { id }, admin)).data!.session.orgId, 'AUDITOR', `auditor-${Date.now()}`);
    const revoked = pathOf(app, (await viewLink(id, key)).downloadUrl);
    expect((await get(revoked)).status).toBe(200);
    await revokeKey(key);
    await refused(revoked, 403);
  });

  it("lists a Postgres session's queries, with their times, beside their output", async () => {
    const id = await ingest(app, admin, {
      verb: 'EXEC',
      events: [
        [0.25, 'i', 'SELECT 1;'],
        [0.5, 'o', 'col\n1\n<b>\n'],
        [2, 'i', 'SELECT 2;'],
        [2.1, 'e', 'ERROR: x\n'],
      ],
    });
    const res = await get(pathOf(app, (await viewLink(id)).downloadUrl));
    const rows = [...res.text.matchAll(/<tr><td class="time"><time datetime="([^"]+)">([^<]+)<\/time><\/td><td><pre class="sql">([^<]*)<\/pre><\/td><td><pre>([^<]*)<\/pre>/g)].map(
      (m) => m.slice(1),
    );
    expect(rows).toEqual([
      ['2024-07-25T15:56:35.567Z', '0.250 s', 'SELECT 1;', 'col\n1\n&lt;b&gt;\n'],
      ['2024-07-25T15:56:37.317Z', '2.000 s', 'SELECT 2;', 'ERROR: x\n'],
    ]);
    // The CONNECT kind: the wire protocol parsed.
    const connect = await ingest(app, admin, { verb: 'CONNECT', events: [[1.5, 'i', typed('Q', cstr('select now()'))]] });
    expect((await get(pathOf(app, (await viewLink(connect)).downloadUrl))).text).toContain('<pre class="sql">select now()</pre>');
  });
});

interface Segment {
  snapshot: { cols: number; rows: number; init: string };
  events: [number, string, string][];
}

describe('the segmented recording the player loads', () => {
  it('an index of segments of about SEGMENT_BYTES, each a window with the output before it as its snapshot', async () => {
    const page = pathOf(app, (await viewLink(terminal)).downloadUrl);
    const html = (await get(page)).text;
    const data = JSON.parse(/<script type="application\/json" id="view-data">([^<]*)<\/script>/.exec(html)![1]!);
    const indexPath = resolve(data.recording, page);
    expect(indexPath).toMatch(new RegExp(`^/sessions/${terminal}/view/recording\\?token=`));
    const index = JSON.parse((await get(indexPath)).text);
    expect(index).toMatchObject({ version: 1, duration: 12, term: { cols: 80, rows: 24 } });
    const starts = index.segments.map((s: { start: number }) => s.start);
    expect(starts[0]).toBe(0);
    expect(starts.length).toBeGreaterThanOrEqual(2);
    expect(starts.length).toBeLessThanOrEqual(Math.ceil((13 * 100 * 1024) / SEGMENT_BYTES));

    const all: [number, string, string][] = [];
    for (const [k, segment] of index.segments.entries()) {
      const res = await get(resolve(segment.url, indexPath));
      expect(res.status).toBe(200);
      const body: Segment = JSON.parse(res.text);
      const end = index.segments[k + 1]?.start ?? nextUp(index.duration);
      // The player's rules: the first event at the start, the last just below the next start (the duration at the end).
      expect(body.events[0]).toEqual([segment.start, 'o', '']);
      expect(body.events.at(-1)).toEqual([nextDown(end), 'o', '']);
      for (const [t] of body.events) expect(t >= segment.start && t < end).toBe(true);
      expect(body.snapshot).toMatchObject({ cols: 80, rows: 24 });
      if (k === 0) expect(body.snapshot.init).toBe('');
      else {
        // The output just before the segment, from a line's start, at most INIT_BYTES.
        expect(Buffer.byteLength(body.snapshot.init)).toBeLessThanOrEqual(INIT_BYTES);
        expect(body.snapshot.init.endsWith('x\n')).toBe(true);
        expect(body.snapshot.init.length).toBeGreaterThan(1000);
      }
      all.push(...body.events.filter(([, , text]) => text !== ''));
    }
    expect(index.segments.at(-1).start).toBeLessThan(12);
    // Together, the segments are the whole output.
    expect(all.map(([t]) => t)).toEqual(Array.from({ length: 13 }, (_, k) => k));
    expect(all.map(([, , text]) => text.slice(0, 3))).toEqual(Array.from({ length: 13 }, (_, k) => `${k}:x`.slice(0, 3)));

    // Each part opens with its own link only.
    const segment = resolve(index.segments[1].url, indexPath);
    expect((await get(segment.replace('/view/segment', '/view/recording'))).status).toBe(401);
    expect((await get(segment.replace(/from=[^&]+/, 'from=0'))).status).toBe(401);
    expect((await get(segment.replace(/since=[^&]+/, 'since=0.5'))).status).toBe(401);
    expect((await get(`${segment}&to=99`)).status).toBe(401);
    expect((await get(indexPath.replace('/view/recording', '/view'))).status).toBe(401);
  });
});
