import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { reel } from '../support/cli.ts';
import { createTestDatabase, type TestDatabase } from '../support/db.ts';
import { PG_ID, records, SESSIONS, SSH_ID, tempDir } from './helpers.ts';

let database: TestDatabase;
let env: Record<string, string | undefined>;
let dir: string;

beforeAll(async () => {
  database = await createTestDatabase();
  env = { REEL_DATA_DIR: database.dataDir, DATABASE_URL: database.databaseUrl };
  dir = tempDir();
});

afterAll(async () => {
  await database?.drop();
  if (dir) fs.rmSync(dir, { recursive: true, force: true });
});

// Each command is a process of its own (tsx start-up, database open): give them room.
describe('reel import / export on the command line', { timeout: 240_000 }, () => {
  it('imports a file, skips it the second time, and exports it back', () => {
    expect(reel(['orgs', 'create', 'acme'], env).code).toBe(0);

    const first = reel(['import', SESSIONS, '--org', 'acme'], env);
    expect(first).toMatchObject({ code: 0, stdout: 'imported 2 session(s), 0 already present\n', stderr: '' });
    const again = reel(['import', SESSIONS, '--org', 'acme'], env);
    expect(again).toMatchObject({ code: 0, stdout: 'imported 0 session(s), 2 already present\n', stderr: '' });

    const out = reel(['export', SSH_ID, PG_ID, '--org', 'acme'], env);
    expect(out.code).toBe(0);
    expect(out.stderr).toBe('');
    const sessions = JSON.parse(out.stdout) as Record<string, unknown>[];
    expect(sessions.map((s) => s.id)).toEqual([SSH_ID, PG_ID]);
    expect(sessions.map((s) => s.event_stream)).toEqual(records(SESSIONS).map((s) => s.event_stream));
  });

  it('searches what it imported: sessions and hits, as text and as JSON lines', () => {
    // Imported just above, with no server running: `reel import` indexed them itself.
    const text = reel(['search', 'RM -RF', '--org', 'acme'], env);
    expect(text.code).toBe(0);
    expect(text.stdout).toMatch(new RegExp(`^${SSH_ID}  \\S+  CONNECT \\S+  .*\n +1\\.200s  INPUT   rm -rf /srv/app\n$`));

    const json = reel(['search', 'select', '--org', 'acme', '--json', '--hits', '2'], env);
    expect(json.code).toBe(0);
    const lines = json.stdout.trim().split('\n').map((l) => JSON.parse(l) as { session: { id: string }; hits: unknown[]; moreHits: boolean });
    expect(lines.map((l) => l.session.id)).toEqual([PG_ID]);
    expect(lines[0]!.hits).toEqual([
      { time: 0.4, type: 'INPUT', source: 'QUERY', line: 'select now();' },
      { time: 0.5, type: 'INPUT', source: 'QUERY', line: 'SELECT $1::int' },
    ]);
    expect(lines[0]!.moreHits).toBe(true);

    expect(reel(['search', 'no such words', '--org', 'acme'], env)).toMatchObject({ code: 0, stdout: 'no session holds that text\n' });
    const bad = reel(['search', ' ', '--org', 'acme'], env);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(/^reel: text must hold something/);
  });

  it('exits non-zero with a one-line reason on a bad file, importing nothing of the bad record', () => {
    const [ssh] = records(SESSIONS);
    const ids = ['6a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d', '7b2c3d4e-5f6a-4b7c-9d8e-0f1a2b3c4d5e'];
    const bad = path.join(dir, 'bad.json');
    fs.writeFileSync(
      bad,
      JSON.stringify([
        { ...ssh, id: ids[0] },
        { ...ssh, id: ids[1], event_stream: [[0, 'o', 'aGk='], [0.5, 'o', 'aGk']] },
      ]),
    );
    const result = reel(['import', bad, '--org', 'acme'], env);
    expect(result.code).toBe(1);
    expect(result.stdout).toBe('');
    expect(result.stderr).toBe(`reel: record 2 (id ${ids[1]}): event_stream[1] data is not valid base64\n`);

    // The record before it was imported (a re-run skips it), the bad one was not.
    const out = reel(['export', ids[0]!, ids[1]!, '--org', 'acme'], env);
    expect(out.code).toBe(1);
    expect(out.stderr).toBe(`reel: session ${ids[1]} not found\n`);
    expect(out.stdout).toBe('');

    const broken = path.join(dir, 'broken.json');
    fs.writeFileSync(broken, '{"id": "not json');
    const syntax = reel(['import', broken, '--org', 'acme'], env);
    expect(syntax.code).toBe(1);
    expect(syntax.stderr).toBe('reel: record 1: invalid JSON at line 1, column 17 (character 16): expected a string value\n');
  });
});
