import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { request } from './http.ts';

export const ROOT = path.resolve(import.meta.dirname, '../..');

/* The server under test runs in a child process of its own: its memory is sampled from /proc, and
 * the load generator never shares its event loop. */

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const port = (srv.address() as net.AddressInfo).port;
      srv.close(() => resolve(port));
    });
  });
}

export interface Memory {
  /** Resident set size now, bytes. */
  rss: number;
  /** Peak resident set size since start or the last resetPeak(), bytes. */
  hwm: number;
}

export function readMemory(pid: number): Memory {
  const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
  const kib = (name: string) => Number(new RegExp(`^${name}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? Number.NaN) * 1024;
  return { rss: kib('VmRSS'), hwm: kib('VmHWM') };
}

const CLK_TCK = 100;

/** User + system CPU time of a process, ms. */
export function cpuMs(pid: number): number {
  const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  // Fields after "(comm)": state is [0]; utime and stime are the 14th and 15th of the whole line.
  return ((Number(fields[11]) + Number(fields[12])) * 1000) / CLK_TCK;
}

/** reel itself, the query scenario's bare node:http baseline, the downloads' static-file server. */
export type ProcessKind = 'reel' | 'bare' | 'static';

export interface ServerProcess {
  kind: ProcessKind;
  pid: number;
  url: string;
  port: number;
  log: string;
  memory(): Memory;
  /** Resets VmHWM to the current RSS (Linux clear_refs 5), so the next peak is this window's. */
  resetPeak(): boolean;
  cpuMs(): number;
  stop(): Promise<void>;
}

export interface ServerSpec {
  kind: ProcessKind;
  env: Record<string, string>;
  logDir: string;
  cpuProfDir?: string | undefined;
  /** More node flags for this server (after REEL_BENCH_NODE_ARGS). */
  nodeArgs?: string[];
}

/**
 * Rate limits (§16) high enough never to refuse the benchmark's single clients, which send far more
 * than one user would: the limits' checks still run on every request, so their cost is measured.
 */
const BENCH_LIMITS = {
  REEL_RATE_LIMIT_PER_SECOND: '1000000',
  REEL_INGEST_RATE_LIMIT_PER_SECOND: '1000000',
  REEL_LINK_RATE_LIMIT_PER_MINUTE: '1000000',
};

let serial = 0;

export async function startServer(spec: ServerSpec): Promise<ServerProcess> {
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const log = path.join(spec.logDir, `${spec.kind}-${++serial}.log`);
  const out = fs.openSync(log, 'w');
  // REEL_BENCH_NODE_ARGS: extra node flags for the server under test (e.g. --trace-gc), for diagnosis.
  const nodeArgs = [
    ...(spec.cpuProfDir ? ['--cpu-prof', `--cpu-prof-dir=${spec.cpuProfDir}`] : []),
    ...(process.env.REEL_BENCH_NODE_ARGS ?? '').split(' ').filter(Boolean),
    ...(spec.nodeArgs ?? []),
  ];
  const script = { reel: ['bin/reel.js', 'serve'], bare: ['scripts/bench/bare.js'], static: ['scripts/bench/static-server.js'] }[spec.kind];
  const child: ChildProcess = spawn(process.execPath, [...nodeArgs, ...script], {
    cwd: ROOT,
    env: { ...process.env, ...BENCH_LIMITS, ...spec.env, PORT: String(port), HOST: '127.0.0.1', REEL_PUBLIC_URL: url },
    stdio: ['ignore', out, out],
  });
  fs.closeSync(out);
  const pid = child.pid!;
  let exited = false;
  const exit = new Promise<void>((resolve) => child.once('exit', () => ((exited = true), resolve())));
  const tail = () => fs.readFileSync(log, 'utf8').split('\n').slice(-20).join('\n');

  const deadline = Date.now() + 300_000;
  for (;;) {
    if (exited) throw new Error(`${spec.kind} server exited during start-up:\n${tail()}`);
    try {
      const reply = await request(`${url}/healthz`);
      if (reply.status === 200) break;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`${spec.kind} server did not start within 300 s:\n${tail()}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }

  return {
    kind: spec.kind,
    pid,
    url,
    port,
    log,
    memory: () => readMemory(pid),
    resetPeak() {
      try {
        fs.writeFileSync(`/proc/${pid}/clear_refs`, '5');
        return true;
      } catch {
        return false;
      }
    },
    cpuMs: () => cpuMs(pid),
    async stop() {
      if (exited) return;
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
      await exit;
      clearTimeout(timer);
    },
  };
}

/** Samples a process's RSS every few milliseconds; the peak is also cross-checked with VmHWM. */
export function rssSampler(pid: number, everyMs = 20): { stop(): number } {
  let peak = 0;
  const sample = () => {
    try {
      peak = Math.max(peak, readMemory(pid).rss);
    } catch {
      // the process is gone
    }
  };
  sample();
  const timer = setInterval(sample, everyMs);
  return {
    stop() {
      clearInterval(timer);
      sample();
      return peak;
    },
  };
}

/**
 * CPU time so far of each PostgreSQL backend serving `database` on this machine (their process
 * titles name it), ms by pid. The server's own processes (WAL writer, checkpointer…) are not counted.
 */
export function databaseBackendsCpu(database: string): Map<number, number> {
  const out = new Map<number, number>();
  for (const entry of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const pid = Number(entry);
    try {
      const title = fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8');
      if (title.startsWith('postgres: ') && title.includes(` ${database} `)) out.set(pid, cpuMs(pid));
    } catch {
      // gone meanwhile
    }
  }
  return out;
}

/** CPU of the backends of `since`'s snapshot's database between it and `now` (backends started meanwhile count from 0), ms. */
export function backendsCpuBetween(since: Map<number, number>, now: Map<number, number>): number {
  let ms = 0;
  for (const [pid, cpu] of now) ms += cpu - (since.get(pid) ?? 0);
  return ms;
}
