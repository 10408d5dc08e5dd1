import { execFile } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { startAppWithKeys, type TestApp } from '../support/app.ts';
import { ok } from '../support/graphql.ts';
import { APPEND, CLOSE, OPEN, ev, type OpenResult } from '../support/ingest.ts';
import { ROOT } from '../support/processes.ts';

/*
 * The README's graphql-ws example, as a user would run it with Node: it prints a live session's
 * output as it is appended and exits once the session is closed.
 */

let app: TestApp;
let recorder: string;
let admin: string;

beforeAll(async () => {
  ({ app, recorder, admin } = await startAppWithKeys({}, 'readme'));
});
afterAll(() => app?.close());

it('runs the README example: it prints the output as it lands and ends with the session', async () => {
  const readme = fs.readFileSync(path.join(ROOT, 'README.md'), 'utf8');
  const example = /```js\n(import \{ createClient \} from 'graphql-ws';[\s\S]*?)```/.exec(readme)?.[1];
  expect(example).toBeDefined();
  // Beside the project's node_modules, so that its imports resolve as in a user's project.
  const file = path.join(ROOT, 'node_modules', '.reel-readme-example.mjs');
  fs.writeFileSync(file, example!.replace('ws://localhost:4000', app.url.replace('http', 'ws')));

  const input = { verb: 'CONNECT', type: 'custom', roleName: 'shell', userId: 'alice' };
  const id = ok(await app.gql<OpenResult>(OPEN, { input }, recorder)).openSession.id;
  ok(await app.gql(APPEND, { id, seq: 0, events: [ev(0, 'o', 'hello '), ev(0.1, 'i', 'typed')] }, recorder));
  const run = new Promise<{ code: number; stdout: string; stderr: string }>((resolve) => {
    execFile(process.execPath, [file, id], { env: { ...process.env, REEL_KEY: admin }, timeout: 60_000 }, (err, stdout, stderr) =>
      resolve({ code: err ? Number(err.code ?? 1) : 0, stdout, stderr }),
    );
  });
  await new Promise((resolve) => setTimeout(resolve, 1000));
  ok(await app.gql(APPEND, { id, seq: 1, events: [ev(1, 'o', 'world\n')] }, recorder));
  ok(await app.gql(CLOSE, { id }, recorder));
  const { code, stdout, stderr } = await run;
  fs.rmSync(file, { force: true });
  expect({ code, stderr }).toEqual({ code: 0, stderr: '' });
  expect(stdout).toBe('hello typedworld\n');
}, 90_000);
