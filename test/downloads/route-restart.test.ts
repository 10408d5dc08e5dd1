import fs from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';

/** Each server start opens (and on a new directory creates) the database: several per test. */
const SLOW = { timeout: 180_000 };
import { createTestDatabase, type TestDatabase } from '../support/db.ts';
import type { TestApp } from '../support/app.ts';
import { type EventSpec, ingest } from '../support/ingest.ts';
import { body, download, expectError, link, startDownloadApp, UNAUTHORIZED } from './helpers.ts';

/*
 * Links are stateless (spec §6): they work across restarts of the server on the same data (the
 * secret is generated once into the data directory, or configured), and a rotated secret keeps
 * accepting links signed with the old one while it is listed in REEL_DOWNLOAD_OLD_SECRETS.
 * Servers here run one after the other (the process has one database at a time).
 */

const EVENTS: EventSpec[] = [
  [0.268589438, 'i', 'SELECT 1;'],
  [0.5, 'o', 'col1\tcol2\n1\t2\n(1 row)\n'],
  [1.7, 'e', 'ERROR: x\n'],
];
const RAW = 'col1\tcol2\n1\t2\n(1 row)\nERROR: x\n';
const SECRET_A = 'secret-A-0123456789abcdef0123456789abcdef';
const SECRET_B = 'secret-B-fedcba9876543210fedcba9876543210';

let database: TestDatabase | undefined;
let current: TestApp | undefined;

afterEach(async () => {
  await current?.stop();
  current = undefined;
  await database?.drop();
  database = undefined;
}, 60_000);

/** Stops the running server (if any) and starts one on the same database with `env`. */
async function restart(env: Record<string, string> = {}): Promise<TestApp> {
  await current?.stop();
  current = undefined;
  database ??= await createTestDatabase();
  current = await startDownloadApp(env, { database, clock: { now: Date.now() } });
  return current;
}

async function fetchText(app: TestApp, url: string): Promise<{ status: number; text: string }> {
  const res = await download(app, url);
  return { status: res.status, text: (await body(res)).toString('utf8') };
}

describe('restarts', () => {
  it('a link survives a restart on the same data dir / database (generated secret)', SLOW, async () => {
    let app = await restart();
    const org = await app.org('acme');
    const admin = await app.key(org, 'ADMIN', 'root');
    const id = await ingest(app, admin, { script: 'SELECT 1;', events: EVENTS });
    const raw = await link(app, admin, id, { extension: 'txt' });
    const script = await link(app, admin, id, { extension: 'txt', target: 'SCRIPT' });
    expect(await fetchText(app, raw.downloadUrl)).toEqual({ status: 200, text: RAW });

    const file = path.join(database!.dataDir, 'download-secret');
    const secret = fs.readFileSync(file, 'utf8');
    expect(secret.trim().length).toBeGreaterThanOrEqual(32);
    expect(fs.statSync(file).mode & 0o077).toBe(0);

    app = await restart();
    expect(await fetchText(app, raw.downloadUrl)).toEqual({ status: 200, text: RAW });
    expect(await fetchText(app, script.downloadUrl)).toEqual({ status: 200, text: 'SELECT 1;' });
    expect(fs.readFileSync(file, 'utf8')).toBe(secret);

    app = await restart();
    expect(await fetchText(app, raw.downloadUrl)).toEqual({ status: 200, text: RAW });
  });

  it('REEL_DOWNLOAD_SECRET: links survive restarts; no secret is generated; rotation via REEL_DOWNLOAD_OLD_SECRETS', SLOW, async () => {
    let app = await restart({ REEL_DOWNLOAD_SECRET: SECRET_A });
    const org = await app.org('acme');
    const admin = await app.key(org, 'ADMIN', 'root');
    const id = await ingest(app, admin, { events: EVENTS });
    const signedA = await link(app, admin, id, { extension: 'txt' });
    expect(fs.existsSync(path.join(database!.dataDir, 'download-secret'))).toBe(false);

    app = await restart({ REEL_DOWNLOAD_SECRET: SECRET_A });
    expect(await fetchText(app, signedA.downloadUrl)).toEqual({ status: 200, text: RAW });

    // Rotate: B is current, A still accepted.
    app = await restart({ REEL_DOWNLOAD_SECRET: SECRET_B, REEL_DOWNLOAD_OLD_SECRETS: SECRET_A });
    expect(await fetchText(app, signedA.downloadUrl)).toEqual({ status: 200, text: RAW });
    const signedB = await link(app, admin, id, { extension: 'txt' });
    expect(await fetchText(app, signedB.downloadUrl)).toEqual({ status: 200, text: RAW });

    // A dropped: its links stop working, B's keep working.
    app = await restart({ REEL_DOWNLOAD_SECRET: SECRET_B });
    await expectError(await download(app, signedA.downloadUrl), 401, UNAUTHORIZED);
    expect(await fetchText(app, signedB.downloadUrl)).toEqual({ status: 200, text: RAW });

    // Back to the generated secret: links signed with a configured one are not accepted.
    app = await restart();
    await expectError(await download(app, signedB.downloadUrl), 401, UNAUTHORIZED);
    expect(fs.existsSync(path.join(database!.dataDir, 'download-secret'))).toBe(true);
  });

  it('another data dir (another generated secret) on the same database does not accept the link', SLOW, async () => {
    let app = await restart();
    const org = await app.org('acme');
    const admin = await app.key(org, 'ADMIN', 'root');
    const id = await ingest(app, admin, { events: EVENTS });
    const l = await link(app, admin, id, { extension: 'txt' });
    if (database!.kind === 'postgres') {
      // Same PostgreSQL database, a different data directory (a replica without a shared secret).
      await app.stop();
      current = undefined;
      const otherDir = fs.mkdtempSync(`${database!.dataDir}-other-`);
      try {
        app = await startDownloadApp({ REEL_DATA_DIR: otherDir }, { database: database!, clock: { now: Date.now() } });
        current = app;
        await expectError(await download(app, l.downloadUrl), 401, UNAUTHORIZED);
      } finally {
        await current?.stop();
        current = undefined;
        fs.rmSync(otherDir, { recursive: true, force: true });
      }
    } else {
      // PGlite: the secret file is the data dir's; replacing it is what another directory amounts to.
      await app.stop();
      current = undefined;
      fs.writeFileSync(path.join(database!.dataDir, 'download-secret'), 'f'.repeat(64));
      app = await restart();
      await expectError(await download(app, l.downloadUrl), 401, UNAUTHORIZED);
    }
  });

  it('a trailing slash on REEL_PUBLIC_URL does not double the slash; the path prefix is kept', SLOW, async () => {
    const app = await restart({ REEL_PUBLIC_URL: 'http://127.0.0.1:9/some/prefix/' });
    const org = await app.org('acme');
    const admin = await app.key(org, 'ADMIN', 'root');
    const id = await ingest(app, admin, { events: EVENTS });
    const l = await link(app, admin, id, { extension: 'txt' });
    expect(l.downloadUrl.startsWith(`http://127.0.0.1:9/some/prefix/api/sessions/${id}/download?token=`)).toBe(true);
    expect(await fetchText(app, l.downloadUrl)).toEqual({ status: 200, text: RAW });
  });
});
