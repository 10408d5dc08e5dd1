import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { lockDataDir } from '../../src/db/lock.ts';
import { reel, reelInProcess } from '../support/cli.ts';
import { createTestDatabase, type TestDatabase } from '../support/db.ts';

let database: TestDatabase;
let env: Record<string, string | undefined>;

beforeAll(async () => {
  database = await createTestDatabase();
  env = { REEL_DATA_DIR: database.dataDir, DATABASE_URL: database.databaseUrl };
});
afterAll(async () => {
  await database.drop();
});

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

// Each command is a process of its own (tsx start-up, database open): give them room on a busy machine.
describe('the command line', { timeout: 180_000 }, () => {
  it('runs as a program: prints the id last and exits 0, or one line and a non-zero exit', () => {
    const org = reel(['orgs', 'create', 'first'], env);
    expect(org.code).toBe(0);
    expect(org.last).toMatch(UUID);
    const again = reel(['orgs', 'create', 'first'], env);
    expect(again.code).toBe(1);
    expect(again.stderr.trim()).toMatch(/^reel: an organisation named "first" already exists/);
  });

  it('manages organisations and keys end to end', async () => {
    const reel = reelInProcess;
    const org = await reel(['orgs', 'create', 'acme'], env);
    expect(org.code).toBe(0);
    expect(org.last).toMatch(UUID);

    const listed = await reel(['orgs', 'list'], env);
    expect(listed.code).toBe(0);
    expect(listed.stdout).toContain(`${org.last}\tacme`);

    const key = await reel(
      ['keys', 'create', '--org', 'acme', '--role', 'STANDARD', '--subject', 'alice', '--email', 'a@acme.test', '--groups', 'dba, sre'],
      env,
    );
    expect(key.code).toBe(0);
    expect(key.last).toMatch(/^reel_[A-Za-z0-9_-]{43}$/);

    // By org id as well as by name; the key itself never appears in a listing.
    const keys = await reel(['keys', 'list', '--org', org.last], env);
    expect(keys.code).toBe(0);
    expect(keys.stdout).toContain('STANDARD\talice\tdba,sre\tactive');
    expect(keys.stdout).not.toContain(key.last);

    const revoked = await reel(['keys', 'revoke', key.last], env);
    expect(revoked.code).toBe(0);
    const listedRevoked = (await reel(['keys', 'list', '--org', 'acme'], env)).stdout;
    expect(listedRevoked).toMatch(/STANDARD\talice\tdba,sre\trevoked /);
    // Revoking again is harmless, by the key or by its id, and keeps the first revocation's time.
    expect((await reel(['keys', 'revoke', key.last], env)).code).toBe(0);
    const keyId = /^(\S+)\t.*\talice\t/m.exec(listedRevoked)?.[1];
    expect((await reel(['keys', 'revoke', keyId!], env)).stdout).toContain(`revoked key ${keyId}`);
    expect((await reel(['keys', 'list', '--org', 'acme'], env)).stdout).toBe(listedRevoked);
  });

  it.each([
    [['orgs', 'create', 'acme'], /already exists/],
    [['keys', 'create', '--org', 'nope', '--role', 'ADMIN', '--subject', 's'], /no organisation "nope"/],
    [['keys', 'create', '--org', 'acme', '--role', 'ROOT', '--subject', 's'], /ROOT/],
    [['keys', 'create', '--org', 'acme', '--role', 'ADMIN'], /--subject/],
    [['keys', 'revoke', 'reel_not-a-key'], /no such key/],
    [['export', '00000000-0000-0000-0000-000000000001', '--org', 'acme'], /not found/],
    [['import', '/nonexistent.json', '--org', 'acme'], /no such file/],
    [['frobnicate'], /unknown command/],
  ])('rejects %j with a one-line reason and a non-zero exit', async (args, reason) => {
    const result = await reelInProcess(args, env);
    expect(result.code).not.toBe(0);
    expect(result.stderr).toMatch(reason);
    expect(result.stderr).not.toMatch(/unexpected error/);
    expect(result.stderr.trim().split('\n').filter((l) => !/^\s*$/.test(l)).length).toBeLessThanOrEqual(2);
  });

  it('stops on a bad configuration value, naming the variable', async () => {
    const result = await reelInProcess(['orgs', 'list'], { ...env, REEL_DOWNLOAD_TTL_SECONDS: 'soon' });
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/REEL_DOWNLOAD_TTL_SECONDS/);
    expect(result.stderr).toBe('reel: invalid REEL_DOWNLOAD_TTL_SECONDS: must be a whole number\n');
  });

  it('stops, saying why, when another live process holds the embedded data directory', async () => {
    const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'reel-locked-'));
    const release = lockDataDir(dataDir); // held by this process, which is alive
    try {
      const result = await reelInProcess(['orgs', 'list'], { REEL_DATA_DIR: dataDir });
      expect(result.code).toBe(1);
      expect(result.stderr).toBe(
        `reel: the data directory ${dataDir} is in use by another reel process (pid ${process.pid}); ` +
          'stop it first or use another REEL_DATA_DIR\n',
      );
    } finally {
      release();
      fs.rmSync(dataDir, { recursive: true, force: true });
    }
  });
});
