import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect } from 'vitest';
import { createTestDatabase, serverUrl, type TestDatabase } from './db.ts';
import { NO_RATE_LIMITS } from './limits.ts';

/*
 * The real `reel` binary in child processes: a database for them, the command line, and servers
 * on loopback ports. A test file that uses them calls `afterAll(stopProcesses)`.
 */

export const ROOT = fileURLToPath(new URL('../..', import.meta.url));
export const BIN = path.join(ROOT, 'bin', 'reel.js');
export const onPostgres = Boolean(serverUrl);

const children = new Set<ChildProcess>();
const cleanups: (() => Promise<void>)[] = [];

/** Kills what this file started and is still running, and drops its databases. */
export async function stopProcesses(): Promise<void> {
  // Nothing left behind, even after a failure: kill only the processes this file started.
  for (const child of children) {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGKILL');
      await once(child, 'exit');
    }
  }
  for (const cleanup of cleanups.splice(0)) await cleanup();
}

export async function freePort(): Promise<number> {
  const server = net.createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const port = (server.address() as net.AddressInfo).port;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

export interface Instance {
  dataDir: string;
  env: NodeJS.ProcessEnv;
}

/** A fresh database (embedded data dir, or a PostgreSQL database when testing on PostgreSQL). */
export async function instance(env: NodeJS.ProcessEnv = {}): Promise<Instance> {
  let database: TestDatabase | undefined;
  let dataDir: string;
  if (onPostgres) {
    database = await createTestDatabase();
    dataDir = database.dataDir;
  } else {
    dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'reel-process-'));
  }
  cleanups.push(async () => {
    if (database) await database.drop();
    else fs.rmSync(dataDir, { recursive: true, force: true });
  });
  const childEnv: NodeJS.ProcessEnv = {};
  // The parent's own reel settings must not leak into the child.
  for (const [k, v] of Object.entries(process.env)) if (!/^(REEL_|DATABASE_URL$|PORT$|HOST$)/.test(k)) childEnv[k] = v;
  Object.assign(childEnv, { REEL_DATA_DIR: dataDir, REEL_LOG_LEVEL: 'warn', HOST: '127.0.0.1', ...NO_RATE_LIMITS }, env);
  if (database?.databaseUrl) childEnv.DATABASE_URL = database.databaseUrl;
  return { dataDir, env: childEnv };
}

/** Creating a new embedded database costs a CLI run seconds of CPU; a loaded machine multiplies that. */
const CLI_TIMEOUT_MS = 90_000;

export function cli(inst: Instance, args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [BIN, ...args], { cwd: ROOT, env: inst.env, timeout: CLI_TIMEOUT_MS }, (err, stdout, stderr) => {
      const code = err ? (typeof err.code === 'number' ? err.code : 1) : 0;
      // A child killed for taking too long has nothing on stderr: say so instead.
      resolve({ code, stdout, stderr: err?.killed ? `killed after ${CLI_TIMEOUT_MS} ms (${err.signal})\n${stderr}` : stderr });
    });
  });
}

export async function cliLastLine(inst: Instance, args: string[]): Promise<string> {
  const res = await cli(inst, args);
  expect(res.code, `reel ${args.join(' ')}: ${res.stderr}`).toBe(0);
  const lines = res.stdout.trim().split('\n');
  return lines[lines.length - 1]!.trim();
}

/** Creates an org and its RECORDER and ADMIN keys with the command line (before any server runs). */
export async function setupKeys(inst: Instance, org: string) {
  const orgId = await cliLastLine(inst, ['orgs', 'create', org]);
  expect(orgId).toMatch(/^[0-9a-f-]{36}$/);
  const recorder = await cliLastLine(inst, ['keys', 'create', '--org', org, '--role', 'RECORDER', '--subject', 'r']);
  const admin = await cliLastLine(inst, ['keys', 'create', '--org', orgId, '--role', 'ADMIN', '--subject', 'root']);
  return { orgId, recorder, admin };
}

export interface Server {
  child: ChildProcess;
  url: string;
  output: () => string;
  exited: Promise<[number | null, NodeJS.Signals | null]>;
}

/** `reel serve` on a free port, once it answers /healthz. */
export async function serve(inst: Instance): Promise<Server> {
  const port = await freePort();
  const child = spawnServe(inst, port);
  let out = '';
  child.stdout!.on('data', (c: Buffer) => (out += c.toString()));
  child.stderr!.on('data', (c: Buffer) => (out += c.toString()));
  const exited = once(child, 'exit') as Promise<[number | null, NodeJS.Signals | null]>;
  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 90_000;
  for (;;) {
    if (child.exitCode !== null || child.signalCode !== null) throw new Error(`reel serve exited early: ${out}`);
    try {
      const res = await fetch(`${url}/healthz`);
      if (res.status === 200) break;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) throw new Error(`reel serve did not answer /healthz: ${out}`);
    await new Promise((r) => setTimeout(r, 200));
  }
  return { child, url, output: () => out, exited };
}

/** `reel serve` started, not awaited (e.g. one expected to fail); killed with the rest. */
export function spawnServe(inst: Instance, port: number): ChildProcess {
  const child = spawn(process.execPath, [BIN, 'serve'], { cwd: ROOT, env: { ...inst.env, PORT: String(port) }, stdio: ['ignore', 'pipe', 'pipe'] });
  children.add(child);
  return child;
}

/** A GraphQL operation that must succeed. */
export async function gql<T = Record<string, unknown>>(url: string, key: string, query: string, variables: Record<string, unknown>) {
  const res = await fetch(`${url}/graphql`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${key}` },
    body: JSON.stringify({ query, variables }),
  });
  const body = (await res.json()) as { data?: T; errors?: unknown[] };
  expect(body.errors, JSON.stringify(body.errors)).toBeUndefined();
  return body.data!;
}
