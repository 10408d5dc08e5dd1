import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { prisma } from '../../src/db/client.ts';
import type { TestApp } from '../support/app.ts';
import { type EventSpec, ingest } from '../support/ingest.ts';
import { body, deleteSession, download, expectError, EXPIRED, fetchPath, link, NOT_FOUND, pathOf, revokeKey, startDownloadApp, UNAUTHORIZED } from './helpers.ts';

/*
 * The checks of the download route (spec §6), over HTTP: every parameter bound to the token (401),
 * expiry on the injected clock (410), a deleted session (404), a revoked or no longer allowed issuer
 * (403), in that order; links are reusable and a failed attempt does not burn them.
 */

let app: TestApp;
let orgId: string;
let admin: string;

const T0 = Date.UTC(2024, 6, 25, 16, 0, 0, 0);
const EVENTS: EventSpec[] = [
  [0.268589438, 'i', 'SELECT 1;'],
  [0.5, 'o', 'col1\tcol2\n1\t2\n(1 row)\n'],
  [1.7, 'e', 'ERROR: x\n'],
];
const CSV = 'col1,col2\r\n1,2\r\n(1 row)\r\nERROR: x\r\n';

beforeAll(async () => {
  app = await startDownloadApp();
  orgId = await app.org('acme');
  admin = await app.key(orgId, 'ADMIN', 'root');
});

beforeEach(() => {
  app.clock.now = T0;
});

afterAll(async () => {
  await app?.close();
});

async function expectCsv(res: Response): Promise<void> {
  const text = (await body(res)).toString('utf8');
  expect({ status: res.status, text }).toEqual({ status: 200, text: CSV });
}

/** The path and query of a link, split into path and an ordered list of query pairs. */
function parts(downloadUrl: string): { path: string; query: [string, string][] } {
  const p = pathOf(app, downloadUrl);
  const at = p.indexOf('?');
  return { path: p.slice(0, at), query: [...new URLSearchParams(p.slice(at + 1))] };
}

function build(path: string, query: [string, string][]): string {
  const q = new URLSearchParams(query).toString();
  return q ? `${path}?${q}` : path;
}

describe('tampering with the link → 401 unauthorized', () => {
  let id: string;
  let otherId: string;
  let url: string;
  let scriptUrl: string;

  beforeAll(async () => {
    id = await ingest(app, admin, { script: 'SELECT 1;', events: EVENTS, perCall: 1 });
    otherId = await ingest(app, admin, { script: 'SELECT 2;', events: EVENTS, perCall: 3 });
    app.clock.now = T0;
    url = (await link(app, admin, id, { extension: 'csv', newline: false, eventTime: false })).downloadUrl;
    scriptUrl = (await link(app, admin, id, { extension: 'txt', target: 'SCRIPT' })).downloadUrl;
  });

  it('the untouched link works (also re-encoded, or with its parameters in another order)', async () => {
    await expectCsv(await download(app, url));
    const { path, query } = parts(url);
    // URLSearchParams encodes the comma of `events=o,e` as %2C: same values, same link.
    await expectCsv(await fetchPath(app, build(path, query)));
    await expectCsv(await fetchPath(app, build(path, [...query].reverse())));
  });

  const set = (name: string, value: string) => (q: [string, string][]) =>
    q.map(([k, v]): [string, string] => (k === name ? [k, value] : [k, v]));
  const drop = (name: string) => (q: [string, string][]) => q.filter(([k]) => k !== name);
  const add = (name: string, value: string) => (q: [string, string][]) => [...q, [name, value] as [string, string]];
  const dup = (name: string) => (q: [string, string][]) => [...q, q.find(([k]) => k === name)!];

  const queryChanges: [string, (q: [string, string][]) => [string, string][]][] = [
    ['extension csv → json', set('extension', 'json')],
    ['extension csv → CSV', set('extension', 'CSV')],
    ['extension csv → txt', set('extension', 'txt')],
    ['extension empty', set('extension', '')],
    ['extension missing', drop('extension')],
    ['newline 0 → 1', set('newline', '1')],
    ['newline 0 → false', set('newline', 'false')],
    ['newline 0 → empty', set('newline', '')],
    ['newline missing', drop('newline')],
    ['event-time 0 → 1', set('event-time', '1')],
    ['event-time 0 → 00', set('event-time', '00')],
    ['event-time missing', drop('event-time')],
    ['events o,e → e,o', set('events', 'e,o')],
    ['events o,e → o', set('events', 'o')],
    ['events o,e → i,o,e', set('events', 'i,o,e')],
    ['events o,e → o,e,', set('events', 'o,e,')],
    ['events o,e → O,E', set('events', 'O,E')],
    ['events empty', set('events', '')],
    ['events missing', drop('events')],
    ['token missing', drop('token')],
    ['token empty', set('token', '')],
    ['token duplicated', dup('token')],
    ['extension duplicated', dup('extension')],
    ['events duplicated', dup('events')],
    ['newline duplicated', dup('newline')],
    ['an extra parameter', add('download', '1')],
    ['an extra parameter named like a claim', add('eventTime', '1')],
    ['an extra target parameter', add('target', 'SCRIPT')],
  ];
  it.each(queryChanges)('%s', async (_name, change) => {
    const { path, query } = parts(url);
    await expectError(await fetchPath(app, build(path, change(query))), 401, UNAUTHORIZED);
  });

  describe('the token itself', () => {
    const tokenOf = (u: string) => new URL(u).searchParams.get('token')!;
    const withToken = (token: string) => {
      const { path, query } = parts(url);
      return build(path, set('token', token)(query));
    };
    const flip = (s: string, at: number) => {
      const i = at < 0 ? s.length + at : at;
      const c = s[i] === 'A' ? 'B' : 'A';
      return s.slice(0, i) + c + s.slice(i + 1);
    };

    it('a changed character anywhere (first, middle, last) → 401', async () => {
      const token = tokenOf(url);
      for (const at of [0, Math.floor(token.length / 2), token.indexOf('.') - 1, token.indexOf('.') + 1, -1]) {
        await expectError(await fetchPath(app, withToken(flip(token, at))), 401, UNAUTHORIZED);
      }
    });

    it('truncated, extended, or padded → 401', async () => {
      const token = tokenOf(url);
      for (const t of [token.slice(0, -1), `${token}A`, `${token}=`, token.slice(0, token.indexOf('.')), `x${token}`, ` ${token}`]) {
        await expectError(await fetchPath(app, withToken(t)), 401, UNAUTHORIZED);
      }
    });

    it('a genuine token of another link (other parameters, other session, other target) → 401', async () => {
      const others = [
        (await link(app, admin, id, { extension: 'csv', newline: true })).downloadUrl,
        (await link(app, admin, id, { extension: 'json' })).downloadUrl,
        (await link(app, admin, otherId, { extension: 'csv' })).downloadUrl,
        scriptUrl,
      ];
      for (const other of others) {
        await expectError(await fetchPath(app, withToken(tokenOf(other))), 401, UNAUTHORIZED);
      }
    });

    it('a token issued by another org\'s admin for its own session → 401 here', async () => {
      const other = await app.org('other-org');
      const otherAdmin = await app.key(other, 'ADMIN', 'root');
      const foreign = await ingest(app, otherAdmin, { events: EVENTS });
      const foreignUrl = (await link(app, otherAdmin, foreign, { extension: 'csv' })).downloadUrl;
      await expectError(await fetchPath(app, withToken(tokenOf(foreignUrl))), 401, UNAUTHORIZED);
    });
  });

  describe('the session id in the path', () => {
    it('another session of the same org (which the issuer may read) → 401', async () => {
      await expectError(await fetchPath(app, pathOf(app, url).replace(id, otherId)), 401, UNAUTHORIZED);
    });
    it('a malformed or unknown id → 401 (not 404: nothing is revealed before the token holds)', async () => {
      for (const bad of ['not-a-uuid', '00000000-0000-4000-8000-000000000000', `${id}x`, '%ZZ']) {
        await expectError(await fetchPath(app, pathOf(app, url).replace(id, bad)), 401, UNAUTHORIZED);
      }
    });
  });

  describe('switching the target', () => {
    it('an EVENT_STREAM link on the script route → 401', async () => {
      const { path, query } = parts(url);
      await expectError(await fetchPath(app, build(`${path}/script`, query)), 401, UNAUTHORIZED);
      await expectError(await fetchPath(app, build(`${path}/script`, query.filter(([k]) => k === 'token'))), 401, UNAUTHORIZED);
    });

    it('a SCRIPT link on the stream route → 401', async () => {
      const { path, query } = parts(scriptUrl);
      const streamPath = path.replace(/\/script$/, '');
      await expectError(await fetchPath(app, build(streamPath, query)), 401, UNAUTHORIZED);
      for (const params of [
        [['extension', 'txt'], ['newline', '0'], ['event-time', '0'], ['events', '']],
        [['extension', 'txt'], ['newline', '0'], ['event-time', '0'], ['events', 'o,e']],
      ] as [string, string][][]) {
        await expectError(await fetchPath(app, build(streamPath, [...query, ...params])), 401, UNAUTHORIZED);
      }
    });

    it('a SCRIPT link with any added parameter → 401; untouched it works', async () => {
      const { path, query } = parts(scriptUrl);
      await expectError(await fetchPath(app, build(path, [...query, ['extension', 'txt']])), 401, UNAUTHORIZED);
      await expectError(await fetchPath(app, build(path, [...query, ...query])), 401, UNAUTHORIZED);
      const res = await download(app, scriptUrl);
      expect((await body(res)).toString()).toBe('SELECT 1;');
    });
  });

  it('no token at all → 401', async () => {
    await expectError(await fetchPath(app, `/api/sessions/${id}/download`), 401, UNAUTHORIZED);
    await expectError(await fetchPath(app, `/api/sessions/${id}/download?extension=csv&newline=0&event-time=0&events=o,e`), 401, UNAUTHORIZED);
    await expectError(await fetchPath(app, `/api/sessions/${id}/download/script`), 401, UNAUTHORIZED);
  });

  it('after all that, the real link still works (a failed attempt does not burn it)', async () => {
    await expectCsv(await download(app, url));
    expect((await body(await download(app, scriptUrl))).toString()).toBe('SELECT 1;');
  });
});

describe('reuse', () => {
  it('the same link works many times until it expires', async () => {
    const id = await ingest(app, admin, { events: EVENTS });
    const { downloadUrl } = await link(app, admin, id, { extension: 'csv' });
    for (let n = 0; n < 3; n++) await expectCsv(await download(app, downloadUrl));
    // Concurrent uses too.
    await Promise.all([1, 2, 3].map(async () => expectCsv(await download(app, downloadUrl))));
  });

  it('a failed attempt with a wrong token does not burn the real link', async () => {
    const id = await ingest(app, admin, { events: EVENTS });
    const { downloadUrl } = await link(app, admin, id, { extension: 'csv' });
    const wrong = downloadUrl.replace(/token=([^&]+)/, (_m, t: string) => `token=${t.slice(0, -2)}${t.endsWith('AA') ? 'BB' : 'AA'}`);
    expect(wrong).not.toBe(downloadUrl);
    await expectError(await download(app, wrong), 401, UNAUTHORIZED);
    await expectCsv(await download(app, downloadUrl));
    await expectError(await download(app, wrong), 401, UNAUTHORIZED);
    await expectCsv(await download(app, downloadUrl));
  });
});

describe('expiry → 410 (injected clock, no sleeping)', () => {
  it('works up to the last millisecond of the default 300 s, then 410', async () => {
    const id = await ingest(app, admin, { events: EVENTS });
    app.clock.now = T0;
    const l = await link(app, admin, id, { extension: 'csv' });
    expect(l.expireAt).toBe(new Date(T0 + 300_000).toISOString());
    app.clock.now = T0 + 299_999;
    await expectCsv(await download(app, l.downloadUrl));
    app.clock.now = T0 + 300_000;
    await expectError(await download(app, l.downloadUrl), 410, EXPIRED);
    app.clock.now = T0 + 86_400_000;
    await expectError(await download(app, l.downloadUrl), 410, EXPIRED);
    // A HEAD sees the same.
    expect((await download(app, l.downloadUrl, { method: 'HEAD' })).status).toBe(410);
  });

  it('SCRIPT links expire too', async () => {
    const id = await ingest(app, admin, { script: 'SELECT 1;', events: EVENTS });
    const l = await link(app, admin, id, { extension: 'txt', target: 'SCRIPT' });
    app.clock.now = T0 + 300_000;
    await expectError(await download(app, l.downloadUrl), 410, EXPIRED);
  });

  it('a tampered expired link is 401, not 410 (the token is checked first)', async () => {
    const id = await ingest(app, admin, { events: EVENTS });
    const l = await link(app, admin, id, { extension: 'csv' });
    app.clock.now = T0 + 600_000;
    await expectError(await download(app, l.downloadUrl.replace('newline=0', 'newline=1')), 401, UNAUTHORIZED);
    await expectError(await download(app, l.downloadUrl), 410, EXPIRED);
  });
});

describe('session gone → 404', () => {
  it('a session deleted after the link was made', async () => {
    const id = await ingest(app, admin, { script: 'SELECT 1;', events: EVENTS });
    const l = await link(app, admin, id, { extension: 'csv' });
    const s = await link(app, admin, id, { extension: 'txt', target: 'SCRIPT' });
    await expectCsv(await download(app, l.downloadUrl));
    await deleteSession(id);
    await expectError(await download(app, l.downloadUrl), 404, NOT_FOUND);
    await expectError(await download(app, s.downloadUrl), 404, NOT_FOUND);
  });

  it('order: a tampered link to a deleted session is 401; an expired one is 410', async () => {
    const id = await ingest(app, admin, { events: EVENTS });
    const l = await link(app, admin, id, { extension: 'csv' });
    await deleteSession(id);
    await expectError(await download(app, l.downloadUrl.replace('extension=csv', 'extension=json')), 401, UNAUTHORIZED);
    await expectError(await download(app, l.downloadUrl), 404, NOT_FOUND);
    app.clock.now = T0 + 300_000;
    await expectError(await download(app, l.downloadUrl), 410, EXPIRED);
  });
});

describe('issuer revoked or no longer allowed → 403', () => {
  async function expect403(res: Response): Promise<void> {
    const text = await res.text();
    expect(res.status, text).toBe(403);
    expect(res.headers.get('content-type')).toBe('application/json; charset=utf-8');
    const parsed = JSON.parse(text) as { message: unknown; status: unknown };
    expect(parsed.status).toBe(403);
    expect(typeof parsed.message).toBe('string');
  }

  it('a revoked issuer key', async () => {
    const key = await app.key(orgId, 'ADMIN', 'temp-admin');
    const id = await ingest(app, admin, { script: 'SELECT 1;', events: EVENTS });
    const l = await link(app, key, id, { extension: 'csv' });
    const s = await link(app, key, id, { extension: 'txt', target: 'SCRIPT' });
    await expectCsv(await download(app, l.downloadUrl));
    await revokeKey(key);
    await expect403(await download(app, l.downloadUrl));
    await expect403(await download(app, s.downloadUrl));
    // Links of other, live issuers are unaffected.
    await expectCsv(await download(app, (await link(app, admin, id, { extension: 'csv' })).downloadUrl));
  });

  it('an owner (STANDARD) who no longer owns the session', async () => {
    const alice = await app.key(orgId, 'STANDARD', 'alice');
    const id = await ingest(app, admin, { userId: 'alice', events: EVENTS });
    const l = await link(app, alice, id, { extension: 'csv' });
    await expectCsv(await download(app, l.downloadUrl));
    await prisma().session.update({ where: { id }, data: { userId: 'mallory' } });
    await expect403(await download(app, l.downloadUrl));
  });

  it('order: revoked issuer + tampered → 401, + expired → 410, + session deleted → 404', async () => {
    const key = await app.key(orgId, 'AUDITOR', 'temp-auditor');
    const id = await ingest(app, admin, { events: EVENTS });
    const l = await link(app, key, id, { extension: 'csv' });
    await revokeKey(key);
    await expectError(await download(app, l.downloadUrl.replace('events=o,e', 'events=o')), 401, UNAUTHORIZED);
    await deleteSession(id);
    await expectError(await download(app, l.downloadUrl), 404, NOT_FOUND);
    app.clock.now = T0 + 300_000;
    await expectError(await download(app, l.downloadUrl), 410, EXPIRED);
  });
});

describe('REEL_DOWNLOAD_TTL_SECONDS', () => {
  it('sets the lifetime of new links', async () => {
    // A second server would replace this file's database; stop ours first, use the same database.
    await app.stop();
    const short = await startDownloadApp({ REEL_DOWNLOAD_TTL_SECONDS: '60' }, { database: app.database, clock: app.clock });
    try {
      const id = await ingest(short, admin, { events: EVENTS });
      app.clock.now = T0;
      const l = await link(short, admin, id, { extension: 'csv' });
      expect(l.expireAt).toBe(new Date(T0 + 60_000).toISOString());
      app.clock.now = T0 + 59_999;
      await expectCsv(await download(short, l.downloadUrl));
      app.clock.now = T0 + 60_000;
      await expectError(await download(short, l.downloadUrl), 410, EXPIRED);
    } finally {
      await short.stop();
      app = await startDownloadApp({}, { database: app.database, clock: app.clock });
    }
  });
});
