import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TestApp } from '../support/app.ts';
import { ingest, type EventSpec } from '../support/ingest.ts';
import { body, download, link, startDownloadApp } from '../downloads/helpers.ts';

/*
 * Asciicast v2 downloads (spec §14) through a download link, byte for byte: the header, one line per
 * selected event, each code's payloads decoded as one stream.
 */

let app: TestApp;
let admin: string;

beforeAll(async () => {
  app = await startDownloadApp();
  const orgId = await app.org('acme');
  admin = await app.key(orgId, 'ADMIN', 'root');
});

afterAll(async () => {
  await app?.close();
});

const START = '2024-07-25T15:56:35.317Z';
const TIMESTAMP = 1721922995; // START as whole Unix seconds
const check = Buffer.from('✓'); // e2 9c 93

async function cast(events: EventSpec[], options: { metadata?: unknown; roleName?: string; kinds?: ('INPUT' | 'OUTPUT' | 'ERROR')[]; from?: number; to?: number; extension?: string } = {}) {
  const id = await ingest(app, admin, {
    startDate: START,
    connectionSubtype: null,
    type: 'custom',
    roleName: options.roleName ?? 'bash',
    metadata: options.metadata,
    events,
  });
  const l = await link(app, admin, id, { extension: options.extension ?? 'cast', events: options.kinds, from: options.from, to: options.to });
  const res = await download(app, l.downloadUrl);
  expect(res.status).toBe(200);
  return { type: res.headers.get('content-type'), text: (await body(res)).toString('utf8') };
}

const header = (width = 80, height = 24, title = 'bash') =>
  `{"version": 2, "width": ${width}, "height": ${height}, "timestamp": ${TIMESTAMP}, "title": ${JSON.stringify(title)}}\n`;

describe('asciicast downloads', () => {
  it('a header and one line per output and error event, as "o", with the recorded times', async () => {
    const got = await cast([
      [0.268589438, 'i', 'ls\r'],
      [0.5, 'o', 'a\tb\r\n'],
      [1.7, 'e', '\u001b[31merr\u001b[0m "q" \\'],
      [2, 'o', ''],
    ]);
    expect(got.type).toBe('application/x-asciicast');
    expect(got.text).toBe(
      header() +
        '[0.5, "o", "a\\tb\\r\\n"]\n' +
        '[1.7, "o", "\\u001b[31merr\\u001b[0m \\"q\\" \\\\"]\n' +
        '[2, "o", ""]\n',
    );
  });

  it('input as "i" when selected; a split character is completed into the later event of its code', async () => {
    const got = await cast(
      [
        [1, 'o', check.subarray(0, 1)],
        [2, 'i', check.subarray(0, 2)],
        [3, 'e', Buffer.concat([check.subarray(1), Buffer.from('!')])],
        [4, 'i', check.subarray(2)],
        [5, 'o', Buffer.from([0xff, 0x41])],
        [6, 'o', check.subarray(0, 2)],
      ],
      { kinds: ['INPUT', 'OUTPUT', 'ERROR'] },
    );
    // The bytes still incomplete at the end (the last event's) are dropped.
    expect(got.text).toBe(header() + '[1, "o", ""]\n[2, "i", ""]\n[3, "o", "✓!"]\n[4, "i", "✓"]\n[5, "o", "\uFFFDA"]\n[6, "o", ""]\n');
  });

  it('takes the size from metadata.terminal when both are positive integers, and escapes the title', async () => {
    const events: EventSpec[] = [[0.1, 'o', 'x']];
    const line = '[0.1, "o", "x"]\n';
    expect((await cast(events, { metadata: { terminal: { cols: 132, rows: 43 } } })).text).toBe(header(132, 43) + line);
    for (const terminal of [{ cols: 132 }, { cols: 0, rows: 43 }, { cols: 1.5, rows: 43 }, { cols: '132', rows: '43' }, null]) {
      expect((await cast(events, { metadata: { terminal } })).text).toBe(header() + line);
    }
    expect((await cast(events, { roleName: 'pg "prod" ✓' })).text).toBe(header(80, 24, 'pg "prod" ✓') + line);
    // Any letter case of a name ending in cast.
    expect((await cast(events, { extension: 'myCAST' })).type).toBe('application/x-asciicast');
  });

  it('in a window: times as recorded, decoding from the window\'s first event', async () => {
    const got = await cast(
      [
        [1, 'o', check.subarray(0, 2)],
        [2, 'o', Buffer.concat([check.subarray(2), Buffer.from('b')])],
        [3, 'o', 'c'],
      ],
      { from: 2, to: 3 },
    );
    expect(got.text).toBe(header() + '[2, "o", "\uFFFDb"]\n');
  });
});
