import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { openAppDatabase } from '../../src/app.ts';
import { createApiKey } from '../../src/auth/keys.ts';
import { loadConfig } from '../../src/config.ts';
import { setDatabase } from '../../src/db/client.ts';
import { createLogger } from '../../src/logger.ts';
import { createOrg } from '../../src/orgs.ts';
import { createServerDatabase } from '../support/db.ts';
import { ensureTemplate, templateDir } from '../support/template.ts';
import { makeCase, type FuzzCase, type FuzzContext, type HttpCase, type WsCase } from './cases.ts';
import { httpExchange, wsExchange, type HttpExchange, type WsExchange } from './wire.ts';

/*
 * The fuzz run (issue 14, "hostile input at scale"): the real `reel serve` in a child process on a
 * fresh database, real sessions and signed links made through its API, then seeded cases sent at
 * it a few at a time. After each case: no 5xx (and no masked INTERNAL_SERVER_ERROR, which is a 500
 * in GraphQL's clothes), no stack trace, SQL, ORM or file path in what came back, a tampered link
 * never honoured. Throughout: the process alive and its resident memory under a bound. At the end:
 * the server's log holds no 5xx and no unexpected errors, and ordinary requests still answer
 * correctly. Used by test/fuzz/fuzz.test.ts (short) and scripts/fuzz.ts (long).
 */

export const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const BIN = path.join(ROOT, 'bin', 'reel.js');

export interface FuzzServer {
  readonly child: ChildProcess;
  readonly pid: number;
  port: number;
  url: string;
  dataDir: string;
  db: 'pglite' | 'postgres';
  /** What the server logged that the checks care about. */
  log: ServerLog;
  /** Starts the server again on the same database and port (after a crash). */
  restart(): Promise<void>;
  /** Stops the server and drops its database. */
  close(): Promise<void>;
}

export interface ServerLog {
  requests: number;
  /** Request lines with a 5xx status (the client may never have seen it: a socket already gone). */
  serverErrors: string[];
  /** Log lines at level error or fatal. */
  errors: string[];
  /** stderr text (console.error from libraries). */
  stderr: string[];
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as net.AddressInfo;
      s.close(() => resolve(port));
    });
  });
}

/** An organisation and its keys, made in this process before the server opens the database (a CLI run each would cost seconds). */
async function makeKeys(env: NodeJS.ProcessEnv): Promise<{ admin: string; recorder: string; orgId: string }> {
  const config = loadConfig({ ...env, REEL_LOG_LEVEL: 'silent' });
  const db = await openAppDatabase(config, createLogger('silent'));
  try {
    const { id: orgId } = await createOrg('fuzz');
    const recorder = (await createApiKey({ orgId, role: 'RECORDER', subject: 'recorder' })).key;
    const admin = (await createApiKey({ orgId, role: 'ADMIN', subject: 'admin' })).key;
    return { admin, recorder, orgId };
  } finally {
    await db.close();
    setDatabase(undefined);
  }
}

const KEEP = 20;

/**
 * `reel serve` on a fresh database: PGlite (a copy of the migrated test template) or, given a
 * PostgreSQL server URL, a new database there. Rate limits are off (they are not what is tested).
 */
export async function startFuzzServer(postgresServerUrl?: string): Promise<{ server: FuzzServer; keys: { admin: string; recorder: string; orgId: string } }> {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'reel-fuzz-'));
  let dropDatabase = async () => {};
  let databaseUrl: string | undefined;
  if (postgresServerUrl) {
    const db = await createServerDatabase(postgresServerUrl, 'reel_fuzz');
    databaseUrl = db.url;
    dropDatabase = db.drop;
  } else {
    await ensureTemplate();
    fs.cpSync(path.join(templateDir(), 'pgdata'), path.join(dataDir, 'pgdata'), { recursive: true });
  }
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (!/^(REEL_|DATABASE_URL$|PORT$|HOST$|NODE_ENV$)/.test(k)) env[k] = v;
  Object.assign(env, {
    REEL_DATA_DIR: dataDir,
    HOST: '127.0.0.1',
    REEL_LOG_LEVEL: 'warn',
    ...(databaseUrl && { DATABASE_URL: databaseUrl, REEL_DOWNLOAD_SECRET: 'fuzz-secret-fuzz-secret-fuzz-secret-0123' }),
  });
  const keys = await makeKeys(env);

  const port = await freePort();
  const log: ServerLog = { requests: 0, serverErrors: [], errors: [], stderr: [] };
  const serveEnv: NodeJS.ProcessEnv = {
    ...env,
    PORT: String(port),
    // Every request is logged, so a 5xx the client never saw still shows.
    REEL_LOG_LEVEL: 'info',
    // Links made at setup must outlive a long run.
    REEL_DOWNLOAD_TTL_SECONDS: String(7 * 24 * 3600),
    // Rate limits (being added) are off: the fuzz is not a load test. A 429 is still an accepted answer.
    REEL_RATE_LIMIT_PER_SECOND: '0',
    REEL_INGEST_RATE_LIMIT_PER_SECOND: '0',
    REEL_LINK_RATE_LIMIT_PER_MINUTE: '0',
  };
  const url = `http://127.0.0.1:${port}`;
  const launch = async () => {
    const child = spawn(process.execPath, [BIN, 'serve'], { cwd: ROOT, env: serveEnv, stdio: ['ignore', 'pipe', 'pipe'] });
    let early = '';
    let pending = '';
    child.stdout!.on('data', (chunk: Buffer) => {
      pending += chunk.toString('utf8');
      const lines = pending.split('\n');
      pending = lines.pop()!;
      for (const line of lines) {
        if (early.length < 20_000) early += `${line}\n`;
        let entry: { level?: number; msg?: string; status?: number; method?: string; path?: string; err?: { message?: string; stack?: string } };
        try {
          entry = JSON.parse(line) as typeof entry;
        } catch {
          continue;
        }
        if (entry.msg === 'request') {
          log.requests++;
          if ((entry.status ?? 0) >= 500 && log.serverErrors.length < KEEP) log.serverErrors.push(`${entry.method} ${entry.path?.slice(0, 120)} → ${entry.status}`);
        }
        if ((entry.level ?? 0) >= 50 && log.errors.length < KEEP) log.errors.push(`${entry.msg}: ${(entry.err?.stack ?? entry.err?.message ?? '').slice(0, 1500)}`);
      }
    });
    child.stderr!.on('data', (chunk: Buffer) => {
      const text = chunk.toString('utf8');
      if (early.length < 20_000) early += text;
      if (log.stderr.length < KEEP) log.stderr.push(text.slice(0, 2000));
    });
    const exited = once(child, 'exit');
    const deadline = Date.now() + 90_000;
    for (;;) {
      if (child.exitCode !== null || child.signalCode !== null) throw new Error(`reel serve exited early: ${early}`);
      try {
        if ((await fetch(`${url}/healthz`)).status === 200) break;
      } catch {
        // not listening yet
      }
      if (Date.now() > deadline) throw new Error(`reel serve did not answer /healthz: ${early}`);
      await new Promise((r) => setTimeout(r, 200));
    }
    return { child, exited };
  };
  let current = await launch();
  const server: FuzzServer = {
    get child() {
      return current.child;
    },
    get pid() {
      return current.child.pid!;
    },
    port,
    url,
    dataDir,
    db: postgresServerUrl ? 'postgres' : 'pglite',
    log,
    async restart() {
      if (current.child.exitCode === null && current.child.signalCode === null) {
        current.child.kill('SIGKILL');
        await current.exited;
      }
      current = await launch();
    },
    async close() {
      if (current.child.exitCode === null && current.child.signalCode === null) {
        current.child.kill('SIGKILL');
        await current.exited;
      }
      await dropDatabase();
      fs.rmSync(dataDir, { recursive: true, force: true });
    },
  };
  return { server, keys };
}

export async function gql<T = Record<string, unknown>>(url: string, key: string, query: string, variables: Record<string, unknown> = {}): Promise<T> {
  const res = await fetch(`${url}/graphql`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${key}` },
    body: JSON.stringify({ query, variables }),
  });
  const body = (await res.json()) as { data?: T; errors?: unknown[] };
  if (body.errors) throw new Error(`${query}: ${JSON.stringify(body.errors)}`);
  return body.data!;
}

/** Fixed ids, so a seed's cases name the same sessions on every run. */
export const SESSIONS = {
  terminal: '0f0e0d0c-0b0a-4908-8706-050403020100',
  postgres: '1f1e1d1c-1b1a-4918-9716-151413121110',
  exec: '2f2e2d2c-2b2a-4928-a726-252423222120',
};

/** The terminal session's output, as text (what the sanity check reads back). */
export const TERMINAL_TEXT = 'reel fuzz\r\n\u001b[32mok\u001b[0m é 🙂\r\nline three\r\n';

const b64 = (s: string | Buffer) => Buffer.from(s).toString('base64');

function pgMessage(type: string, body: string): Buffer {
  const payload = Buffer.from(`${body}\0`, 'utf8');
  const head = Buffer.alloc(5);
  head.write(type, 0, 'latin1');
  head.writeUInt32BE(payload.length + 4, 1);
  return Buffer.concat([head, payload]);
}

/** Sessions and signed links for the cases to aim at, made through the API as clients would. */
export async function setupContext(server: FuzzServer, keys: { admin: string; recorder: string; orgId: string }): Promise<FuzzContext> {
  const { url } = server;
  const open = 'mutation ($input: OpenSessionInput!) { openSession(input: $input) { id } }';
  const append = 'mutation ($id: ID!, $seq: Int!, $events: [SessionEventInput!]!) { appendSessionEvents(sessionId: $id, sequence: $seq, events: $events) { sequence } }';
  const close = 'mutation ($id: ID!) { closeSession(sessionId: $id) { id } }';
  await gql(url, keys.recorder, open, {
    input: { id: SESSIONS.terminal, roleName: 'bash-prod', type: 'custom', verb: 'CONNECT', connectionSubtype: 'tcp', startDate: '2024-07-25T15:56:35.000Z', metadata: { terminal: { cols: 100, rows: 30 } }, userEmail: 'fuzz@example.com' },
  });
  const lines = TERMINAL_TEXT.split(/(?<=\n)/);
  await gql(url, keys.recorder, append, {
    id: SESSIONS.terminal,
    seq: 0,
    events: [{ time: 0.1, type: 'INPUT', data: b64('ls\r') }, ...lines.map((l, i) => ({ time: 0.5 + i, type: 'OUTPUT', data: b64(l) })), { time: 4, type: 'ERROR', data: b64('oops\n') }],
  });
  await gql(url, keys.recorder, close, { id: SESSIONS.terminal });

  await gql(url, keys.recorder, open, { input: { id: SESSIONS.postgres, roleName: 'pg-main', type: 'database', verb: 'CONNECT', connectionSubtype: 'postgres' } });
  await gql(url, keys.recorder, append, {
    id: SESSIONS.postgres,
    seq: 0,
    events: [
      { time: 0.2, type: 'INPUT', data: b64(pgMessage('Q', 'select 1;')) },
      { time: 0.3, type: 'OUTPUT', data: b64('one row\n') },
      { time: 0.4, type: 'INPUT', data: b64(Buffer.from([0x51, 0, 0, 0, 3])) },
    ],
  });
  await gql(url, keys.recorder, close, { id: SESSIONS.postgres });

  // Left open: appends from the cases may land in it.
  await gql(url, keys.recorder, open, { input: { id: SESSIONS.exec, roleName: 'exec-job', type: 'command-line', verb: 'EXEC', script: 'echo fuzz\n' } });

  const link = async (args: string) => (await gql<{ downloadLink: { downloadUrl: string } }>(url, keys.admin, `mutation { downloadLink(${args}) { downloadUrl } }`)).downloadLink.downloadUrl;
  const view = async (id: string) => (await gql<{ viewLink: { downloadUrl: string } }>(url, keys.admin, `mutation { viewLink(sessionId: "${id}", at: 1.5) { downloadUrl } }`)).viewLink.downloadUrl;
  const local = (u: string) => {
    const parsed = new URL(u, url);
    return `${parsed.pathname}${parsed.search}`;
  };
  const download = [
    await link(`sessionId: "${SESSIONS.terminal}", extension: "csv", newline: true, eventTime: true, events: [INPUT, OUTPUT, ERROR]`),
    await link(`sessionId: "${SESSIONS.terminal}", extension: "json", from: 0.5, to: 2.5`),
    await link(`sessionId: "${SESSIONS.terminal}", extension: "cast"`),
    await link(`sessionId: "${SESSIONS.postgres}", extension: "bin", events: [INPUT]`),
    await link(`sessionId: "${SESSIONS.exec}", extension: "txt", from: 0`),
  ].map(local);
  const script = [await link(`sessionId: "${SESSIONS.exec}", extension: "txt", target: SCRIPT`)].map(local);
  const viewLinks = [await view(SESSIONS.terminal), await view(SESSIONS.postgres)].map((u) => local(u.replace(/#.*$/, '')));
  // The page's own links: the recording index, and the segments it lists.
  const page = await (await fetch(`${url}${viewLinks[0]}`)).text();
  const recording = [...page.matchAll(/[./]*sessions\/[0-9a-f-]+\/view\/recording\?token=[A-Za-z0-9_.-]+/g)].map((m) => local(new URL(m[0], `${url}${viewLinks[0]}`).toString()));
  const segment: string[] = [];
  for (const r of recording.slice(0, 1)) {
    const index = await (await fetch(`${url}${r}`)).text();
    for (const m of index.matchAll(/"([^"]*view\/segment\?[^"]+)"/g)) segment.push(local(new URL(m[1]!.replace(/\\u0026/g, '&'), `${url}${r}`).toString()));
  }
  if (recording.length === 0 || segment.length === 0) throw new Error(`the view page gave no recording or segment links:\n${page.slice(0, 2000)}`);
  return {
    admin: keys.admin,
    recorder: keys.recorder,
    orgId: keys.orgId,
    sessionIds: Object.values(SESSIONS),
    links: { download, script, view: viewLinks, recording, segment },
    host: `127.0.0.1:${server.port}`,
  };
}

// ---------------------------------------------------------------------------------------------
// Checks

/** What must never reach a client: stack frames, SQL, the ORM, driver errors, paths of the installation. */
function leakPatterns(server: FuzzServer): { name: string; re: RegExp }[] {
  const esc = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  return [
    { name: 'stack trace', re: / {4}at (async )?[\w$.<>[\]]+ \(|\bat [\w./-]+\.(ts|js|mjs|cjs):\d+:\d+/ },
    { name: 'SQL', re: /\b(SELECT|INSERT INTO|UPDATE|DELETE FROM|ALTER TABLE)\s/ },
    { name: 'ORM', re: /prisma/i },
    { name: 'database error', re: /relation "|syntax error at or near|violates [a-z -]*constraint|duplicate key value|invalid input syntax for|ECONNREFUSED|PGlite|pg_catalog/ },
    // (not `node_modules` alone: GraphiQL's bundled page names the paths its bundler read)
    { name: 'project path', re: new RegExp(`${esc(ROOT.replace(/\/$/, ''))}|\\/src\\/[\\w/.-]+\\.ts\\b`) },
    { name: 'data directory', re: new RegExp(esc(server.dataDir)) },
    { name: 'project file', re: /"devDependencies"|^type Query \{|PRIVATE KEY/m },
  ];
}

const INTERNAL = /INTERNAL_SERVER_ERROR|Unexpected error\./;

export interface Outcome {
  /** e.g. "200", "401", "ws:4400", "closed", "timeout". */
  label: string;
  problems: string[];
  ms: number;
  requestBytes: number;
  responseBytes: number;
}

function leaks(text: string, request: string, server: FuzzServer, onlyFileDisclosure: boolean): string[] {
  const out: string[] = [];
  for (const { name, re } of leakPatterns(server)) {
    if (onlyFileDisclosure && name !== 'project file') continue;
    const m = re.exec(text);
    // A client's own text echoed back (a variable's value in an error message) is not a leak.
    if (m && !request.includes(m[0])) out.push(`leaks ${name}: …${JSON.stringify(text.slice(Math.max(0, m.index - 80), m.index + 120))}…`);
  }
  return out;
}

function checkHttp(c: HttpCase, ex: HttpExchange, server: FuzzServer): Outcome {
  const problems: string[] = [];
  const request = Buffer.concat(c.request).toString('latin1');
  const requestUtf8 = Buffer.concat(c.request).toString('utf8');
  const text = ex.raw.toString('utf8');
  const rawText = ex.raw.toString('latin1');
  for (const m of rawText.matchAll(/(?:^|\r\n)HTTP\/1\.[01] (5\d\d)[^\r\n]*/g)) problems.push(`answered ${m[0].trim()}`);
  const internal = INTERNAL.exec(text);
  if (internal && !requestUtf8.includes(internal[0])) problems.push(`answered ${internal[0]} (a masked internal error)`);
  const first = ex.responses[0];
  const asset = /^(GET|HEAD) \/view\/assets\//.test(request) && first !== undefined && first.status < 300;
  problems.push(...leaks(text, requestUtf8, server, asset));
  if (c.mustRefuse && first && first.status < 400) problems.push(`honoured a tampered link: ${first.status}`);
  // A server may refuse a large request before reading it all and close: our writes then fail and
  // the answer can be lost with the connection. That is fair; the server's log still shows its status.
  const refusedLarge = request.length > 64 * 1024 && (ex.end === 'reset' || (ex.end === 'error' && /EPIPE|ECONNRESET/.test(ex.error ?? '')));
  if (c.expectAnswer && !first && !refusedLarge) problems.push(`no answer (${ex.end}${ex.error ? `: ${ex.error}` : ''}, ${ex.ms} ms)`);
  if (c.expectAnswer && (c.responses ?? 1) > ex.responses.length && first) problems.push(`${ex.responses.length} answers of ${c.responses}`);
  const label = first ? String(first.status) : ex.end === 'timeout' || ex.end === 'reset' ? ex.end : 'closed';
  return { label, problems, ms: ex.ms, requestBytes: request.length, responseBytes: ex.raw.length };
}

function checkWs(c: WsCase, ex: WsExchange, server: FuzzServer): Outcome {
  const problems: string[] = [];
  const sent = c.messages.map((m) => (Buffer.isBuffer(m) ? m.toString('utf8') : m)).join('\n');
  if (ex.rejected !== undefined && ex.rejected >= 500) problems.push(`handshake answered ${ex.rejected}`);
  if (ex.closeCode === 4500 || ex.closeCode === 1011) problems.push(`closed with ${ex.closeCode} (internal error): ${JSON.stringify(ex.closeReason)}`);
  const text = [...ex.received, ex.closeReason ?? ''].join('\n');
  const internal = INTERNAL.exec(text);
  if (internal && !sent.includes(internal[0])) problems.push(`sent ${internal[0]} (a masked internal error)`);
  problems.push(...leaks(text, sent, server, false));
  const label = ex.rejected !== undefined ? `ws:http${ex.rejected}` : ex.closeCode !== undefined ? `ws:${ex.closeCode}` : ex.opened ? 'ws:open' : `ws:error`;
  return { label, problems, ms: ex.ms, requestBytes: sent.length, responseBytes: text.length };
}

export async function runCase(c: FuzzCase, server: FuzzServer, timeoutMs: number): Promise<Outcome> {
  if (c.kind === 'ws') {
    const ex = await wsExchange(`ws://127.0.0.1:${server.port}${c.path}`, c.protocol, c.messages, 300, timeoutMs);
    return checkWs(c, ex, server);
  }
  const ex = await httpExchange(server.port, c.request, { timeoutMs, responses: c.responses, halfCloseAfterMs: c.halfCloseAfterMs, head: c.head });
  return checkHttp(c, ex, server);
}

/** A case as text to reproduce it: its family and note, and the start of what it sent. */
export function describeCase(c: FuzzCase, max = 600): string {
  const show = (b: Buffer | string) => {
    const s = Buffer.isBuffer(b) ? b.toString('latin1') : b;
    return JSON.stringify(s.length > max ? `${s.slice(0, max)}… (${s.length} bytes)` : s);
  };
  if (c.kind === 'ws') return `${c.family}: ${c.note}; ${c.path} protocol ${c.protocol}; messages ${c.messages.map(show).join(', ')}`;
  return `${c.family}: ${c.note}; sent ${show(Buffer.concat(c.request))}`;
}

// ---------------------------------------------------------------------------------------------
// The run

export interface FuzzOptions {
  seed: number;
  cases: number;
  /** Cases in flight at once. */
  concurrency: number;
  /** Only these case numbers (a replay). */
  only?: number[];
  families?: string[];
  /** Per case. */
  timeoutMs: number;
  /** Peak resident memory the server may reach. */
  rssLimitBytes: number;
  /** After a crash (a failure either way), start the server again and go on, this many times at most. */
  maxRestarts: number;
  progress?: (done: number, total: number) => void;
}

export interface Failure {
  index: number;
  family: string;
  problems: string[];
  description: string;
}

export interface FamilyStats {
  cases: number;
  outcomes: Record<string, number>;
  maxMs: number;
  requestBytes: number;
}

export interface FuzzReport {
  seed: number;
  db: 'pglite' | 'postgres';
  cases: number;
  ms: number;
  families: Record<string, FamilyStats>;
  failures: Failure[];
  /** Server-wide problems: the process gone, memory over the bound, errors in its log, wrong answers after the run. */
  serverProblems: string[];
  /** Times the server died (and was started again, up to maxRestarts). */
  crashes: number;
  slowest: { index: number; family: string; ms: number; label: string; note: string }[];
  /** Cases during which the server's peak resident memory rose most. */
  hungriest: { index: number; family: string; bytes: number; note: string }[];
  rss: { startBytes: number; peakBytes: number; endBytes: number; limitBytes: number };
  log: ServerLog;
}

export function readRss(pid: number): { rss: number; hwm: number } {
  try {
    const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
    const kb = (name: string) => Number(new RegExp(`^${name}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? 0) * 1024;
    return { rss: kb('VmRSS'), hwm: kb('VmHWM') };
  } catch {
    return { rss: 0, hwm: 0 };
  }
}

function alive(server: FuzzServer): boolean {
  return server.child.exitCode === null && server.child.signalCode === null;
}

/** After the run: the server still answers ordinary requests, with the right data. */
async function sanity(server: FuzzServer, ctx: FuzzContext): Promise<string[]> {
  const problems: string[] = [];
  try {
    const data = await gql<{ session: { id: string; roleName: string; eventStream: string[] } | null; sessions: { edges: unknown[] } }>(
      server.url,
      ctx.admin,
      'query ($id: ID!) { session(id: $id) { id roleName eventStream(format: UTF8, events: [OUTPUT]) } sessions(first: 100) { edges { node { id } } } }',
      { id: SESSIONS.terminal },
    );
    if (data.session?.roleName !== 'bash-prod' || data.session.eventStream[0] !== TERMINAL_TEXT) problems.push(`after the run, the terminal session reads back wrong: ${JSON.stringify(data.session)}`);
    if (data.sessions.edges.length < 3) problems.push(`after the run, sessions lists ${data.sessions.edges.length} sessions`);
    const res = await fetch(`${server.url}${ctx.links.download[2]}`);
    const cast = await res.text();
    if (res.status !== 200 || !cast.startsWith('{"version": 2, "width": 100, "height": 30')) problems.push(`after the run, the asciicast link answers ${res.status}: ${cast.slice(0, 200)}`);
    const health = await fetch(`${server.url}/healthz`);
    if (health.status !== 200) problems.push(`after the run, /healthz answers ${health.status}`);
  } catch (err) {
    problems.push(`after the run, a normal query failed: ${err instanceof Error ? err.message : String(err)}`);
  }
  return problems;
}

export async function runFuzz(server: FuzzServer, ctx: FuzzContext, options: FuzzOptions): Promise<FuzzReport> {
  const started = Date.now();
  const indices = options.only ?? Array.from({ length: options.cases }, (_, i) => i);
  const families: Record<string, FamilyStats> = {};
  const failures: Failure[] = [];
  const serverProblems: string[] = [];
  const slowest: FuzzReport['slowest'] = [];
  const hungriest: FuzzReport['hungriest'] = [];
  const startRss = readRss(server.pid).rss;
  let peak = startRss;
  const sampler = setInterval(() => {
    peak = Math.max(peak, readRss(server.pid).rss);
  }, 100);
  let next = 0;
  let done = 0;
  let crashes = 0;
  let restarting: Promise<void> | undefined;
  const inFlight = new Map<number, FuzzCase>();
  /** A crash is recorded once, with the cases in flight; the server is started again on the same data to go on. */
  const onCrash = (index: number, c: FuzzCase) => {
    if (restarting) return restarting;
    crashes++;
    const child = server.child;
    serverProblems.push(
      `the server exited (${child.exitCode ?? child.signalCode}) during case ${index}, or one in flight with it (${[...inFlight.keys()].join(', ') || 'none'}); ` +
        `replay them one at a time (--concurrency 1) to tell which\n  last case: ${describeCase(c, 300)}` +
        `${server.log.stderr.length > 0 ? `\n  stderr: ${server.log.stderr.at(-1)!.slice(0, 800)}` : ''}`,
    );
    if (crashes > options.maxRestarts) return undefined;
    restarting = (async () => {
      peak = Math.max(peak, readRss(server.pid).hwm);
      await server.restart();
    })().finally(() => (restarting = undefined));
    return restarting;
  };
  const worker = async () => {
    while (next < indices.length && crashes <= options.maxRestarts) {
      if (restarting) await restarting;
      const index = indices[next++]!;
      const c = makeCase(options.seed, index, ctx, options.families);
      inFlight.set(index, c);
      const before = readRss(server.pid).hwm;
      const outcome = await runCase(c, server, options.timeoutMs);
      inFlight.delete(index);
      // The high-water mark's rise during the case (with cases in flight together, shared with them).
      const rise = readRss(server.pid).hwm - before;
      if (rise > 0) {
        hungriest.push({ index, family: c.family, bytes: rise, note: c.note });
        hungriest.sort((x, y) => y.bytes - x.bytes).splice(5);
      }
      const stats = (families[c.family] ??= { cases: 0, outcomes: {}, maxMs: 0, requestBytes: 0 });
      stats.cases++;
      stats.outcomes[outcome.label] = (stats.outcomes[outcome.label] ?? 0) + 1;
      stats.maxMs = Math.max(stats.maxMs, outcome.ms);
      stats.requestBytes += outcome.requestBytes;
      slowest.push({ index, family: c.family, ms: outcome.ms, label: outcome.label, note: c.note });
      slowest.sort((x, y) => y.ms - x.ms).splice(5);
      if (outcome.problems.length > 0) failures.push({ index, family: c.family, problems: outcome.problems, description: describeCase(c) });
      done++;
      options.progress?.(done, indices.length);
      if (!alive(server)) await onCrash(index, c);
    }
  };
  await Promise.all(Array.from({ length: options.concurrency }, worker));
  clearInterval(sampler);
  // Give the log a moment to arrive.
  await new Promise((r) => setTimeout(r, 300));
  const { rss: endRss, hwm } = readRss(server.pid);
  peak = Math.max(peak, hwm);
  if (alive(server)) serverProblems.push(...(await sanity(server, ctx)));
  else serverProblems.push(`the server is not running at the end (${crashes} crashes, at most ${options.maxRestarts} restarts)`);
  if (peak > options.rssLimitBytes) serverProblems.push(`peak resident memory ${(peak / 2 ** 20).toFixed(0)} MiB over the bound of ${(options.rssLimitBytes / 2 ** 20).toFixed(0)} MiB`);
  if (server.log.serverErrors.length > 0) serverProblems.push(`the server logged 5xx answers:\n  ${server.log.serverErrors.join('\n  ')}`);
  if (server.log.errors.length > 0) serverProblems.push(`the server logged errors:\n  ${server.log.errors.join('\n  ')}`);
  if (server.log.stderr.length > 0) serverProblems.push(`the server wrote to stderr:\n  ${server.log.stderr.join('\n  ').slice(0, 6000)}`);
  return {
    seed: options.seed,
    db: server.db,
    cases: done,
    ms: Date.now() - started,
    families,
    failures,
    serverProblems,
    crashes,
    slowest,
    hungriest,
    rss: { startBytes: startRss, peakBytes: peak, endBytes: endRss, limitBytes: options.rssLimitBytes },
    log: server.log,
  };
}

/** The report as text: totals per family, then every failure with the command that replays it. */
export function formatReport(report: FuzzReport, maxFailures = 30): string {
  const mib = (n: number) => `${(n / 2 ** 20).toFixed(0)} MiB`;
  const lines = [
    `fuzz seed ${report.seed} on ${report.db}: ${report.cases} cases in ${(report.ms / 1000).toFixed(1)} s; ` +
      `server RSS ${mib(report.rss.startBytes)} at start, peak ${mib(report.rss.peakBytes)}, ${mib(report.rss.endBytes)} at end (bound ${mib(report.rss.limitBytes)}); ${report.log.requests} requests logged`,
  ];
  for (const [name, s] of Object.entries(report.families).sort()) {
    const outcomes = Object.entries(s.outcomes)
      .sort((a, b) => b[1] - a[1])
      .map(([k, v]) => `${k}×${v}`)
      .join(' ');
    lines.push(`  ${name.padEnd(20)} ${String(s.cases).padStart(6)} cases, slowest ${s.maxMs} ms, ${mib(s.requestBytes)} sent: ${outcomes}`);
  }
  lines.push(`  slowest cases: ${report.slowest.map((x) => `${x.index} (${x.family}, ${x.note.slice(0, 40)}: ${x.label} in ${x.ms} ms)`).join('; ')}`);
  lines.push(`  peak memory rose most in: ${report.hungriest.map((x) => `${x.index} (${x.family}, ${x.note.slice(0, 50)}: +${mib(x.bytes)})`).join('; ')}`);
  for (const p of report.serverProblems) lines.push(`SERVER: ${p}`);
  for (const f of report.failures.slice(0, maxFailures)) {
    lines.push(`FAILED case ${f.index} (${f.family}): ${f.problems.join('; ')}`);
    lines.push(`  replay: npm run fuzz -- --seed ${report.seed} --case ${f.index}${report.db === 'postgres' ? ' --db postgres' : ''}`);
    lines.push(`  ${f.description}`);
  }
  if (report.failures.length > maxFailures) lines.push(`… and ${report.failures.length - maxFailures} more failed cases`);
  return lines.join('\n');
}
