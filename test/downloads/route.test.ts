import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { vectors } from '../support/vectors.ts';
import type { TestApp } from '../support/app.ts';
import { codeOf } from '../support/graphql.ts';
import { bytesOf, type EventSpec, type EventTypeName, ingest, KIND_TO_TYPE } from '../support/ingest.ts';
import { body, download, link, PUBLIC_URL, requestLink, stamp, startDownloadApp } from './helpers.ts';

/*
 * Download links over the real HTTP surface (spec §6): sessions ingested through GraphQL, links
 * issued by `downloadLink`, files fetched from the URL it returns, compared byte for byte.
 */

let app: TestApp;
let admin: string;
let orgId: string;

const T0 = Date.UTC(2024, 6, 25, 16, 0, 5, 999);

beforeAll(async () => {
  app = await startDownloadApp();
  app.clock.now = T0;
  orgId = await app.org('acme');
  admin = await app.key(orgId, 'ADMIN', 'root');
});

afterAll(async () => {
  await app?.close();
});

const toEvents = (events: [number, 'i' | 'o' | 'e', string][]): EventSpec[] =>
  events.map(([t, k, b]) => [t, k, new Uint8Array(Buffer.from(b, 'base64'))]);
const types = (kinds: ('i' | 'o' | 'e')[] | null): EventTypeName[] | undefined => kinds?.map((k) => KIND_TO_TYPE[k]);

async function fetchOk(url: string, init: RequestInit = {}): Promise<{ res: Response; bytes: Buffer }> {
  const res = await download(app, url, init);
  const bytes = await body(res);
  expect(res.status, bytes.toString()).toBe(200);
  return { res, bytes };
}

describe('vectors.json downloads, byte for byte', () => {
  for (const vector of vectors.sessions) {
    const downloads = vector.downloads ?? [];
    if (downloads.length === 0) continue;
    describe(vector.name, () => {
      let id: string;
      beforeAll(async () => {
        id = await ingest(app, admin, {
          startDate: vector.startDate,
          verb: vector.verb,
          connectionSubtype: vector.connectionSubtype ?? null,
          events: toEvents(vector.events),
          perCall: 1,
        });
      });
      it.each(downloads.map((d, n) => [`${n}: ${d.extension} events=${d.events?.join(',') ?? 'default'} newline=${d.newline} event-time=${d.eventTime}`, d] as const))(
        '%s',
        async (_name, d) => {
          const l = await link(app, admin, id, {
            extension: d.extension,
            newline: d.newline,
            eventTime: d.eventTime,
            events: types(d.events),
          });
          const { bytes } = await fetchOk(l.downloadUrl);
          if (d.bytes !== undefined) {
            expect(bytes.toString('base64')).toBe(d.bytes);
          } else {
            expect(bytes.toString('utf8')).toBe(JSON.stringify(d.json));
          }
        },
      );
    });
  }

  it('the CONNECT vector session: its input, raw, is the concatenated i payloads', async () => {
    const vector = vectors.sessions.find((s) => s.verb === 'CONNECT')!;
    const id = await ingest(app, admin, {
      startDate: vector.startDate,
      verb: 'CONNECT',
      connectionSubtype: vector.connectionSubtype ?? null,
      events: toEvents(vector.events),
      perCall: 4,
    });
    const l = await link(app, admin, id, { extension: 'bin', events: ['INPUT'] });
    const { bytes, res } = await fetchOk(l.downloadUrl);
    expect(bytes.toString('hex')).toBe(Buffer.concat(vector.events.map(([, , b]) => Buffer.from(b, 'base64'))).toString('hex'));
    expect(res.headers.get('content-type')).toBe('application/octet-stream');
    // Its output (there is none) is an empty file, and an empty JSON array.
    expect((await fetchOk((await link(app, admin, id, { extension: 'bin' })).downloadUrl)).bytes.length).toBe(0);
    expect((await fetchOk((await link(app, admin, id, { extension: 'json' })).downloadUrl)).bytes.toString()).toBe('[]');
    expect((await fetchOk((await link(app, admin, id, { extension: 'csv' })).downloadUrl)).bytes.toString()).toBe('');
  });
});

describe('the link', () => {
  let id: string;
  beforeAll(async () => {
    id = await ingest(app, admin, { events: toEvents(vectors.sessions[0]!.events), perCall: 2 });
  });

  it('has the reference shape on the public base URL, keeping its path prefix', async () => {
    const l = await link(app, admin, id, { extension: 'csv', newline: true });
    const m = new RegExp(
      `^${PUBLIC_URL.replace(/[.]/g, '\\.')}/api/sessions/([^/?]+)/download\\?token=([^&]+)&extension=csv&newline=1&event-time=0&events=o,e$`,
    ).exec(l.downloadUrl);
    expect(m, l.downloadUrl).not.toBeNull();
    expect(m![1]).toBe(id);
    expect(decodeURIComponent(m![2]!)).not.toBe('');
    // Values are URL-encoded: the token survives a round trip through URLSearchParams unchanged.
    expect(encodeURIComponent(decodeURIComponent(m![2]!))).toBe(m![2]);
  });

  it('encodes each argument: event-time, newline off, events in i,o,e order', async () => {
    const a = new URL((await link(app, admin, id, { extension: 'JSON', eventTime: true, events: ['ERROR', 'INPUT'] })).downloadUrl);
    expect([...a.searchParams.keys()]).toEqual(['token', 'extension', 'newline', 'event-time', 'events']);
    expect(a.searchParams.get('extension')).toBe('JSON');
    expect(a.searchParams.get('newline')).toBe('0');
    expect(a.searchParams.get('event-time')).toBe('1');
    expect(a.searchParams.get('events')).toBe('i,e');
    const b = new URL((await link(app, admin, id, { extension: 'txt', events: ['OUTPUT', 'OUTPUT'] })).downloadUrl);
    expect(b.searchParams.get('events')).toBe('o');
    const c = new URL((await link(app, admin, id, { extension: 'txt' })).downloadUrl);
    expect(c.search).toMatch(/&extension=txt&newline=0&event-time=0&events=o,e$/);
  });

  it('a SCRIPT link: <base>/api/sessions/<id>/download/script?token=…', async () => {
    const l = await link(app, admin, id, { extension: 'txt', target: 'SCRIPT' });
    expect(l.downloadUrl).toMatch(new RegExp(`^${PUBLIC_URL.replace(/[.]/g, '\\.')}/api/sessions/${id}/download/script\\?token=[^&]+$`));
  });

  it('expires after REEL_DOWNLOAD_TTL_SECONDS, 300 by default, counted from the (injected) clock', async () => {
    const l = await link(app, admin, id, { extension: 'txt' });
    expect(l.expireAt).toBe(new Date(app.clock.now + 300_000).toISOString());
  });
});

describe('response headers', () => {
  let id: string;
  beforeAll(async () => {
    id = await ingest(app, admin, { roleName: 'pg-prod', events: toEvents(vectors.sessions[0]!.events) });
  });

  const cases: [string, string][] = [
    ['csv', 'text/csv; charset=utf-8'],
    ['CSV', 'text/csv; charset=utf-8'],
    ['xCsV', 'text/csv; charset=utf-8'],
    ['json', 'application/json; charset=utf-8'],
    ['JSON', 'application/json; charset=utf-8'],
    ['ndjson', 'application/json; charset=utf-8'],
    ['txt', 'application/octet-stream'],
    ['csv1', 'application/octet-stream'],
    ['jsonx', 'application/octet-stream'],
    ['log', 'application/octet-stream'],
  ];
  it.each(cases)('extension %s → %s', async (extension, contentType) => {
    const { res } = await fetchOk((await link(app, admin, id, { extension })).downloadUrl);
    expect(res.headers.get('content-type')).toBe(contentType);
    expect(res.headers.get('content-disposition')).toBe(`attachment; filename="pg-prod-${id}-${stamp(app.clock.now)}.${extension}"`);
    expect(res.headers.get('cache-control')).toBe('no-store');
    expect(res.headers.get('x-content-type-options')).toBe('nosniff');
  });

  it('the file name carries the download time (UTC, from the clock), not the issue time', async () => {
    const l = await link(app, admin, id, { extension: 'csv' });
    const first = await fetchOk(l.downloadUrl);
    expect(first.res.headers.get('content-disposition')).toBe(`attachment; filename="pg-prod-${id}-20240725-160005.csv"`);
    const saved = app.clock.now;
    app.clock.now = saved + 61_000;
    try {
      const later = await fetchOk(l.downloadUrl);
      expect(later.res.headers.get('content-disposition')).toBe(`attachment; filename="pg-prod-${id}-20240725-160106.csv"`);
      expect(later.bytes.equals(first.bytes)).toBe(true);
    } finally {
      app.clock.now = saved;
    }
  });

  it('a role name outside [A-Za-z0-9._-] is reduced, with filename* for a non-ASCII name', async () => {
    const sid = await ingest(app, admin, { roleName: 'prod ü/db"x;1', events: [[0, 'o', 'x']] });
    const { res } = await fetchOk((await link(app, admin, sid, { extension: 'csv' })).downloadUrl);
    const header = res.headers.get('content-disposition')!;
    const tail = `-${sid}-${stamp(app.clock.now)}.csv`;
    const m = /^attachment; filename="([^"]*)"; filename\*=UTF-8''([A-Za-z0-9!#$&+\-.^_`|~%]+)$/.exec(header);
    expect(m, header).not.toBeNull();
    expect(m![1]).toBe(`proddbx1${tail}`);
    const extended = decodeURIComponent(m![2]!);
    expect(extended).toContain('ü');
    expect(extended.endsWith(tail)).toBe(true);
  });

  it('an ASCII role name with unsafe characters only is reduced (no quote, slash or CR/LF reaches the header)', async () => {
    const sid = await ingest(app, admin, { roleName: '../a b\\c"d', events: [[0, 'o', 'x']] });
    const { res } = await fetchOk((await link(app, admin, sid, { extension: 'txt' })).downloadUrl);
    const header = res.headers.get('content-disposition')!;
    const m = /^attachment; filename="([^"]*)"/.exec(header);
    expect(m![1]).toBe(`..abcd-${sid}-${stamp(app.clock.now)}.txt`);
    expect(m![1]).toMatch(/^[A-Za-z0-9._-]+$/);
  });

  it('HEAD answers the same headers and no body', async () => {
    const l = await link(app, admin, id, { extension: 'csv' });
    const get = await fetchOk(l.downloadUrl);
    const head = await download(app, l.downloadUrl, { method: 'HEAD' });
    expect(head.status).toBe(200);
    expect((await body(head)).length).toBe(0);
    for (const name of ['content-type', 'content-disposition', 'cache-control', 'x-content-type-options']) {
      expect(head.headers.get(name), name).toBe(get.res.headers.get(name));
    }
    // A HEAD is not a use either: the link still works.
    expect((await fetchOk(l.downloadUrl)).bytes.equals(get.bytes)).toBe(true);
  });

  it('HEAD of a bad link is 401', async () => {
    const l = await link(app, admin, id, { extension: 'csv' });
    const res = await download(app, l.downloadUrl.replace('extension=csv', 'extension=json'), { method: 'HEAD' });
    expect(res.status).toBe(401);
  });
});

describe('target SCRIPT', () => {
  const script = 'SELECT 1;\n-- naïve "quoted", €\r\nSELECT 2;';
  let id: string;
  beforeAll(async () => {
    id = await ingest(app, admin, { script, events: [[0, 'i', script], [0.1, 'o', 'out\n']] });
  });

  it('serves the script as text/plain, byte for byte', async () => {
    const l = await link(app, admin, id, { extension: 'csv', target: 'SCRIPT' });
    const { res, bytes } = await fetchOk(l.downloadUrl);
    expect(bytes.equals(Buffer.from(script, 'utf8'))).toBe(true);
    expect(res.headers.get('content-type')).toBe('text/plain; charset=utf-8');
    expect(res.headers.get('cache-control')).toBe('no-store');
    expect(res.headers.get('x-content-type-options')).toBe('nosniff');
    expect(res.headers.get('content-disposition')).toMatch(new RegExp(`^attachment; filename="pg-prod-${id}-${stamp(app.clock.now)}\\.[A-Za-z0-9]+"$`));
  });

  it('HEAD: headers, no body', async () => {
    const l = await link(app, admin, id, { extension: 'txt', target: 'SCRIPT' });
    const res = await download(app, l.downloadUrl, { method: 'HEAD' });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('text/plain; charset=utf-8');
    expect((await body(res)).length).toBe(0);
  });
});

describe('CSV', () => {
  const csvOf = async (events: EventSpec[], args: { newline?: boolean; eventTime?: boolean; events?: EventTypeName[] } = {}) => {
    const id = await ingest(app, admin, { events, perCall: 1 });
    const { bytes, res } = await fetchOk((await link(app, admin, id, { extension: 'csv', ...args })).downloadUrl);
    expect(res.headers.get('content-type')).toBe('text/csv; charset=utf-8');
    return bytes.toString('utf8');
  };

  it('nasty fields: quotes, commas, CR, tabs at the ends, formulas, numbers', async () => {
    const text = await csvOf([
      [0, 'o', `"quoted"\ta,b\t-5\t=cmd|' /C calc'!A0\n`],
      [0.1, 'o', '\tlead and trail\t\r\n'],
      [0.2, 'o', 'cr\rinside\t@SUM(A1)\t+7.5e3\t-.5\t-\t+\r\n'],
      [0.3, 'o', '\n\n\r\n'],
      [0.4, 'e', '-12.50\t-1e-3\t1-2\t--5\t=1+2\t@\n'],
      [0.5, 'o', 'plain\t=SUM(A1)\ta,"b"\tline\rbreak\n'],
      [0.6, 'o', 'last\t"a,""b'],
    ]);
    expect(text).toBe(
      [
        `"""quoted""","a,b",-5,'=cmd|' /C calc'!A0`,
        `,lead and trail,`,
        `"cr\rinside",'@SUM(A1),+7.5e3,-.5,'-,'+`,
        `-12.50,-1e-3,1-2,'--5,'=1+2,'@`,
        `plain,'=SUM(A1),"a,""b""","line\rbreak"`,
        `last,"""a,""""b"`,
        '',
      ].join('\r\n'),
    );
  });

  it('a formula guard on a field that must also be quoted', async () => {
    expect(await csvOf([[0, 'o', '=HYPERLINK("http://x","y")\t-a,b\n']])).toBe(`"'=HYPERLINK(""http://x"",""y"")","'-a,b"\r\n`);
  });

  it('lines and fields spanning events; event time of the line\'s first byte', async () => {
    const events: EventSpec[] = [
      [1, 'o', 'ab'],
      [2, 'o', 'c\td\nx'],
      [2.5, 'i', 'ignored\n'],
      [3.0005, 'e', 'y\n\n-z'],
    ];
    expect(await csvOf(events)).toBe('abc,d\r\nxy\r\n\'-z\r\n');
    expect(await csvOf(events, { eventTime: true })).toBe(
      '2024-07-25T15:56:36.317Z,abc,d\r\n2024-07-25T15:56:37.317Z,xy\r\n2024-07-25T15:56:38.317Z,\'-z\r\n',
    );
    expect(await csvOf(events, { newline: true, eventTime: true, events: ['INPUT', 'OUTPUT'] })).toBe(
      [
        '2024-07-25T15:56:36.317Z,ab',
        '2024-07-25T15:56:37.317Z,c,d',
        '2024-07-25T15:56:37.317Z,x',
        '2024-07-25T15:56:37.817Z,ignored',
        '',
      ].join('\r\n'),
    );
  });

  it('UTF-8 split across events decodes whole; invalid bytes become U+FFFD', async () => {
    const text = await csvOf([
      [0, 'o', Uint8Array.of(0x68, 0xc3)],
      [0.1, 'o', Uint8Array.of(0xa9, 0x09, 0xe2, 0x82)],
      [0.2, 'o', Uint8Array.of(0xac, 0x0a)],
      [0.3, 'o', Uint8Array.of(0xf0)],
      [0.4, 'o', Uint8Array.of(0x9f)],
      [0.5, 'o', Uint8Array.of(0x98)],
      [0.6, 'o', Uint8Array.of(0x80, 0x09, 0xff, 0x41, 0x0a)],
    ]);
    expect(text).toBe('hé,€\r\n😀,\uFFFDA\r\n');
  });
});

describe('JSON', () => {
  it('UTF-8 split across events: each payload is decoded on its own (§6 "payload decoded as UTF-8")', async () => {
    const id = await ingest(app, admin, {
      events: [
        [0, 'o', Uint8Array.of(0x68, 0xc3)],
        [0.25, 'e', Uint8Array.of(0xa9, 0x09, 0xe2, 0x82)],
        [1.5, 'o', Uint8Array.of(0xac, 0x0a)],
        [2, 'o', '😀 "q" \\ \x00\x1b[0m'],
      ],
    });
    const { bytes } = await fetchOk((await link(app, admin, id, { extension: 'json', newline: true, eventTime: true })).downloadUrl);
    const parsed = JSON.parse(bytes.toString('utf8')) as unknown;
    expect(parsed).toEqual([
      { time: '2024-07-25T15:56:35.317Z', type: 'o', stream: 'h\uFFFD' },
      { time: '2024-07-25T15:56:35.567Z', type: 'e', stream: '\uFFFD\t\uFFFD' },
      { time: '2024-07-25T15:56:36.817Z', type: 'o', stream: '\uFFFD\n' },
      { time: '2024-07-25T15:56:37.317Z', type: 'o', stream: '😀 "q" \\ \x00\x1b[0m' },
    ]);
    // newline and event-time do not apply to JSON: the same bytes as without them.
    const plain = await fetchOk((await link(app, admin, id, { extension: 'json' })).downloadUrl);
    expect(plain.bytes.equals(bytes)).toBe(true);
  });

  it('the raw file of the same session keeps the bytes unchanged', async () => {
    const events: EventSpec[] = [
      [0, 'o', Uint8Array.of(0x68, 0xc3)],
      [0.25, 'e', Uint8Array.of(0xa9, 0x09, 0xe2, 0x82)],
      [1.5, 'o', Uint8Array.of(0xac, 0x0a, 0x00, 0xff)],
    ];
    const id = await ingest(app, admin, { events });
    const { bytes } = await fetchOk((await link(app, admin, id, { extension: 'bin' })).downloadUrl);
    expect(bytes.equals(Buffer.concat(events.map(([, , d]) => bytesOf(d))))).toBe(true);
  });
});

describe('downloadLink errors', () => {
  let id: string;
  let otherOrgSession: string;
  beforeAll(async () => {
    id = await ingest(app, admin, { userId: 'alice', review: { type: 'ONETIME', status: 'APPROVED', groups: [{ group: 'dba', status: 'APPROVED' }] }, events: [[0, 'o', 'x\n']] });
    const other = await app.org('globex');
    otherOrgSession = await ingest(app, await app.key(other, 'RECORDER', 'rec'), { events: [[0, 'o', 'secret\n']] });
  });

  it.each([['c.sv'], [''], ['a'.repeat(17)], ['csv '], ['ü'], ['../x']])('extension %j → BAD_USER_INPUT', async (extension) => {
    expect(codeOf(await requestLink(app, admin, id, { extension }))).toBe('BAD_USER_INPUT');
  });

  it('16 ASCII letters or digits is fine', async () => {
    const l = await link(app, admin, id, { extension: 'A1'.repeat(8) });
    expect(new URL(l.downloadUrl).searchParams.get('extension')).toBe('A1'.repeat(8));
  });

  it('events: [] → BAD_USER_INPUT', async () => {
    expect(codeOf(await requestLink(app, admin, id, { extension: 'csv', events: [] }))).toBe('BAD_USER_INPUT');
  });

  it('a reviewer (STANDARD in a review group) may see the session but not download it → FORBIDDEN', async () => {
    const reviewer = await app.key(orgId, 'STANDARD', 'bob', { groups: ['dba'] });
    const seen = await app.gql<{ session: { id: string } | null }>('query($id: ID!) { session(id: $id) { id } }', { id }, reviewer);
    expect(seen.data?.session?.id).toBe(id);
    expect(codeOf(await requestLink(app, reviewer, id, { extension: 'csv' }))).toBe('FORBIDDEN');
    expect(codeOf(await requestLink(app, reviewer, id, { extension: 'txt', target: 'SCRIPT' }))).toBe('FORBIDDEN');
  });

  it('RECORDER → FORBIDDEN', async () => {
    const recorder = await app.key(orgId, 'RECORDER', 'rec');
    expect(codeOf(await requestLink(app, recorder, id, { extension: 'csv' }))).toBe('FORBIDDEN');
  });

  it('another org\'s session, an unknown id, a malformed id → NOT_FOUND', async () => {
    expect(codeOf(await requestLink(app, admin, otherOrgSession, { extension: 'csv' }))).toBe('NOT_FOUND');
    expect(codeOf(await requestLink(app, admin, '00000000-0000-4000-8000-000000000000', { extension: 'csv' }))).toBe('NOT_FOUND');
    expect(codeOf(await requestLink(app, admin, 'not-a-uuid', { extension: 'csv' }))).toBe('NOT_FOUND');
  });

  it('a STANDARD key that neither owns nor reviews the session → NOT_FOUND', async () => {
    const carol = await app.key(orgId, 'STANDARD', 'carol', { groups: ['ops'] });
    expect(codeOf(await requestLink(app, carol, id, { extension: 'csv' }))).toBe('NOT_FOUND');
  });

  it('no key → UNAUTHENTICATED', async () => {
    expect(codeOf(await requestLink(app, undefined, id, { extension: 'csv' }))).toBe('UNAUTHENTICATED');
  });

  it('the owner (STANDARD), an AUDITOR and an ADMIN may download', async () => {
    for (const key of [
      await app.key(orgId, 'STANDARD', 'alice'),
      await app.key(orgId, 'AUDITOR', 'audit'),
      admin,
    ]) {
      const l = await link(app, key, id, { extension: 'txt' });
      expect((await fetchOk(l.downloadUrl)).bytes.toString()).toBe('x\n');
    }
  });
});
