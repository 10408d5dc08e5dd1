import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import fs from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, serverUrl, type TestDatabase } from '../support/db.ts';
import { APPEND, CLOSE, ev, OPEN, rawTuples, sizeOf, type EventIn } from '../support/ingest.ts';

/*
 * Spec §8 (every acknowledged event survives a crash right after the acknowledgement) and §11
 * (one process per embedded data directory; graceful shutdown), against the real `reel` binary.
 */

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const BIN = path.join(ROOT, 'bin', 'reel.js');
const onPostgres = Boolean(serverUrl);
const TIMEOUT = 120_000;

const children = new Set<ChildProcess>();
const cleanups: (() => Promise<void>)[] = [];

afterAll(async () => {
  // Nothing left behind, even after a failure: kill only the processes this file started.
  for (const child of children) {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGKILL');
      await once(child, 'exit');
    }
  }
  for (const cleanup of cleanups) await cleanup();
}, 60_000);

async function freePort(): Promise<number> {
  const server = net.createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const port = (server.address() as net.AddressInfo).port;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

interface Instance {
  dataDir: string;
  env: NodeJS.ProcessEnv;
}

/** A fresh database (embedded data dir, or a PostgreSQL database when testing on PostgreSQL). */
async function instance(): Promise<Instance> {
  let database: TestDatabase | undefined;
  let dataDir: string;
  if (onPostgres) {
    database = await createTestDatabase();
    dataDir = database.dataDir;
  } else {
    dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'reel-crash-'));
  }
  cleanups.push(async () => {
    if (database) await database.drop();
    else fs.rmSync(dataDir, { recursive: true, force: true });
  });
  const env: NodeJS.ProcessEnv = {};
  // The parent's own reel settings must not leak into the child.
  for (const [k, v] of Object.entries(process.env)) if (!/^(REEL_|DATABASE_URL$|PORT$|HOST$)/.test(k)) env[k] = v;
  Object.assign(env, { REEL_DATA_DIR: dataDir, REEL_LOG_LEVEL: 'warn', HOST: '127.0.0.1' });
  if (database?.databaseUrl) env.DATABASE_URL = database.databaseUrl;
  return { dataDir, env };
}

/** Creating a new embedded database costs a CLI run seconds of CPU; a loaded machine multiplies that. */
const CLI_TIMEOUT_MS = 90_000;

function cli(inst: Instance, args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [BIN, ...args], { cwd: ROOT, env: inst.env, timeout: CLI_TIMEOUT_MS }, (err, stdout, stderr) => {
      const code = err ? (typeof err.code === 'number' ? err.code : 1) : 0;
      // A child killed for taking too long has nothing on stderr: say so instead.
      resolve({ code, stdout, stderr: err?.killed ? `killed after ${CLI_TIMEOUT_MS} ms (${err.signal})\n${stderr}` : stderr });
    });
  });
}

async function cliLastLine(inst: Instance, args: string[]): Promise<string> {
  const res = await cli(inst, args);
  expect(res.code, `reel ${args.join(' ')}: ${res.stderr}`).toBe(0);
  const lines = res.stdout.trim().split('\n');
  return lines[lines.length - 1]!.trim();
}

interface Server {
  child: ChildProcess;
  url: string;
  output: () => string;
  exited: Promise<[number | null, NodeJS.Signals | null]>;
}

async function serve(inst: Instance): Promise<Server> {
  const port = await freePort();
  const child = spawn(process.execPath, [BIN, 'serve'], { cwd: ROOT, env: { ...inst.env, PORT: String(port) }, stdio: ['ignore', 'pipe', 'pipe'] });
  children.add(child);
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

async function gql<T = Record<string, unknown>>(url: string, key: string, query: string, variables: Record<string, unknown>) {
  const res = await fetch(`${url}/graphql`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${key}` },
    body: JSON.stringify({ query, variables }),
  });
  const body = (await res.json()) as { data?: T; errors?: unknown[] };
  expect(body.errors, JSON.stringify(body.errors)).toBeUndefined();
  return body.data!;
}

interface Totals {
  appendSessionEvents: { sequence: number; eventCount: number; eventSize: number };
}

/** Creates an org and its RECORDER and ADMIN keys with the command line (before any server runs). */
async function setup(inst: Instance) {
  const orgId = await cliLastLine(inst, ['orgs', 'create', 'crash-org']);
  expect(orgId).toMatch(/^[0-9a-f-]{36}$/);
  const recorder = await cliLastLine(inst, ['keys', 'create', '--org', 'crash-org', '--role', 'RECORDER', '--subject', 'r']);
  const admin = await cliLastLine(inst, ['keys', 'create', '--org', orgId, '--role', 'ADMIN', '--subject', 'root']);
  return { orgId, recorder, admin };
}

describe('the real server process', () => {
  // One data directory (or PostgreSQL database) for the file: every command-line run costs seconds.
  // The tests run in order and hand the running server on.
  let inst: Instance;
  let keys: { orgId: string; recorder: string; admin: string };
  let server: Server | undefined;

  beforeAll(async () => {
    inst = await instance();
    keys = await setup(inst);
  }, 240_000);

  const running = async () => {
    if (!server || server.child.exitCode !== null || server.child.signalCode !== null) server = await serve(inst);
    return server;
  };

  it(
    'keeps every acknowledged event across kill -9',
    async () => {
      const { recorder, admin } = keys;
      let srv = await running();
      const open = await gql<{ openSession: { id: string } }>(srv.url, recorder, OPEN, {
        input: { verb: 'CONNECT', type: 'database', connectionSubtype: 'postgres', roleName: 'pg-prod', userId: 'alice' },
      });
      const id = open.openSession.id;

      const calls: EventIn[][] = [];
      for (let seq = 0; seq < 25; seq++) {
        const big = seq % 8 === 7 ? Buffer.alloc(150_000 + seq, 0x41 + (seq % 26)) : `line ${seq}: ${'é'.repeat(seq)}\n`;
        calls.push([ev(seq * 0.5, 'i', `cmd ${seq}\n`), ev(seq * 0.5 + 0.25, seq % 3 === 0 ? 'e' : 'o', big)]);
      }
      let last: Totals['appendSessionEvents'] | undefined;
      for (const [seq, events] of calls.entries()) {
        last = (await gql<Totals>(srv.url, recorder, APPEND, { id, seq, events })).appendSessionEvents;
      }
      // Right after the last acknowledgement: no chance to flush anything more.
      srv.child.kill('SIGKILL');
      const [, signal] = await srv.exited;
      expect(signal).toBe('SIGKILL');

      const all = calls.flat();
      expect(last).toEqual({ sequence: calls.length - 1, eventCount: all.length, eventSize: sizeOf(all) });

      srv = await running();
      // Retrying the acknowledged calls answers the same totals: they are all stored, once.
      for (const seq of [calls.length - 1, 0, 12]) {
        const again = (await gql<Totals>(srv.url, recorder, APPEND, { id, seq, events: calls[seq] })).appendSessionEvents;
        expect(again).toEqual({ sequence: seq, eventCount: all.length, eventSize: sizeOf(all) });
      }
      const read = await gql<{ session: { eventStream: unknown; status: string } }>(
        srv.url,
        admin,
        `query($id: ID!) { session(id: $id) { status eventStream(format: RAW) } }`,
        { id },
      );
      expect(read.session.status).toBe('OPEN');
      expect(read.session.eventStream).toEqual(rawTuples(all));
      // The next call follows on, and closing reports every acknowledged byte.
      const next = (await gql<Totals>(srv.url, recorder, APPEND, { id, seq: calls.length, events: [ev(99, 'o', 'bye')] }))
        .appendSessionEvents;
      expect(next).toEqual({ sequence: calls.length, eventCount: all.length + 1, eventSize: sizeOf(all) + 3 });
      const closed = await gql<{ closeSession: { metrics: { eventSize: number } } }>(srv.url, recorder, CLOSE, { id });
      expect(closed.closeSession.metrics.eventSize).toBe(sizeOf(all) + 3);
    },
    TIMEOUT,
  );

  it.skipIf(onPostgres)(
    'refuses a second process on the embedded data directory while the server runs',
    async () => {
      const srv = await running();

      const list = await cli(inst, ['orgs', 'list']);
      expect(list.code).not.toBe(0);
      expect(list.stderr).toMatch(/in use/i);
      expect(list.stderr.trim().split('\n')).toHaveLength(1);

      const second = spawn(process.execPath, [BIN, 'serve'], {
        cwd: ROOT,
        env: { ...inst.env, PORT: String(await freePort()) },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      children.add(second);
      let err = '';
      second.stderr!.on('data', (c: Buffer) => (err += c.toString()));
      second.stdout!.on('data', (c: Buffer) => (err += c.toString()));
      const [code] = (await once(second, 'exit')) as [number | null];
      expect(code).not.toBe(0);
      expect(code).not.toBeNull();
      expect(err).toMatch(/in use/i);

      // The running server is unaffected and its directory intact.
      const data = await gql<{ sessions: { edges: unknown[] } }>(srv.url, keys.admin, `{ sessions { edges { node { id } } } }`, {});
      expect(data.sessions.edges.length).toBeGreaterThan(0);
    },
    TIMEOUT,
  );

  it(
    'on SIGTERM lets a request in flight complete, then exits 0',
    async () => {
      const { recorder, admin } = keys;
      let srv = await running();
      const id = (
        await gql<{ openSession: { id: string } }>(srv.url, recorder, OPEN, {
          input: { verb: 'CONNECT', type: 'application', roleName: 'ssh' },
        })
      ).openSession.id;

      const events = [ev(0, 'o', Buffer.alloc(64 * 1024, 0x62)), ev(1, 'i', 'exit\n')];
      const body = JSON.stringify({ query: APPEND, variables: { id, seq: 0, events } });
      const half = Math.floor(body.length / 2);
      const target = srv;
      const response = new Promise<{ status: number; text: string }>((resolve, reject) => {
        const req = http.request(`${target.url}/graphql`, {
          method: 'POST',
          agent: false,
          headers: {
            'content-type': 'application/json',
            'content-length': Buffer.byteLength(body),
            authorization: `Bearer ${recorder}`,
            connection: 'close',
          },
        });
        req.on('response', (res) => {
          let text = '';
          res.on('data', (c: Buffer) => (text += c.toString()));
          res.on('end', () => resolve({ status: res.statusCode ?? 0, text }));
        });
        req.on('error', reject);
        req.write(body.slice(0, half));
        // The server has the request (headers and half the body) when the signal arrives.
        setTimeout(() => {
          target.child.kill('SIGTERM');
          setTimeout(() => req.end(body.slice(half)), 500);
        }, 500);
      });

      const answered = await response;
      expect(answered.status).toBe(200);
      expect(JSON.parse(answered.text)).toEqual({
        data: { appendSessionEvents: { sequence: 0, eventCount: 2, eventSize: sizeOf(events) } },
      });
      const [code, signal] = await srv.exited;
      expect(signal).toBeNull();
      expect(code).toBe(0);

      // It starts again on the same directory (the lock was released), with what it acknowledged while draining.
      srv = await running();
      const closed = await gql<{ closeSession: { metrics: { eventSize: number } } }>(srv.url, admin, CLOSE, { id });
      expect(closed.closeSession.metrics.eventSize).toBe(sizeOf(events));
      srv.child.kill('SIGTERM');
      expect((await srv.exited)[0]).toBe(0);
    },
    TIMEOUT,
  );
});
