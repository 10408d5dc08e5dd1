import type { BenchDatabase } from './db.ts';
import type { BenchOptions } from './options.ts';
import { startServer, type ServerProcess } from './proc.ts';

export type ServerKind = 'reel' | 'bare';

/**
 * What a scenario needs: options, the database, and the servers under test. A full run gives each
 * measurement a freshly started server; a smoke run reuses them (start-up is most of its time).
 */
export interface RunContext {
  opts: BenchOptions;
  db: BenchDatabase;
  /** The run's temporary directory (removed at the end unless --keep). */
  workDir: string;
  logDir: string;
  log(line: string): void;
  /** A running server of this kind, started if needed (on PGlite, after stopping the other kind). */
  server(kind: ServerKind): Promise<ServerProcess>;
  /** A newly started server of this kind (any running one of the same kind is stopped first). */
  fresh(kind: ServerKind): Promise<ServerProcess>;
  /** Frees the database for a direct reader: on PGlite every server is stopped. */
  releaseDatabase(): Promise<void>;
  stopAll(): Promise<void>;
}

export function runContext(opts: BenchOptions, db: BenchDatabase, workDir: string, logDir: string, log: (line: string) => void): RunContext {
  const running: Partial<Record<ServerKind, ServerProcess>> = {};
  const stop = async (kind: ServerKind) => {
    const s = running[kind];
    delete running[kind];
    await s?.stop();
  };
  const start = async (kind: ServerKind) => {
    if (db.kind === 'pglite') for (const other of Object.keys(running) as ServerKind[]) await stop(other);
    const s = await startServer({ kind, env: db.env, logDir, cpuProfDir: opts.cpuProfDir });
    running[kind] = s;
    return s;
  };
  const ctx: RunContext = {
    opts,
    db,
    workDir,
    logDir,
    log,
    server: async (kind) => running[kind] ?? start(kind),
    fresh: async (kind) => {
      await stop(kind);
      return start(kind);
    },
    releaseDatabase: async () => {
      if (db.kind === 'pglite') await ctx.stopAll();
    },
    stopAll: async () => {
      for (const kind of Object.keys(running) as ServerKind[]) await stop(kind);
    },
  };
  return ctx;
}
