import { spawnSync } from 'node:child_process';
import { PassThrough } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { runCli } from '../../src/cli.ts';

export const BIN = fileURLToPath(new URL('../../bin/reel.js', import.meta.url));

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
  /** The last non-empty line of stdout: where the CLI prints ids and keys. */
  last: string;
}

/** Runs `reel <args>` as a user would, with the given environment on top of a clean one. */
export function reel(args: string[], env: Record<string, string | undefined>): CliResult {
  const result = spawnSync(process.execPath, [BIN, ...args], {
    env: { PATH: process.env.PATH, HOME: process.env.HOME, REEL_LOG_LEVEL: 'silent', ...env },
    encoding: 'utf8',
    timeout: 120_000,
  });
  const lines = result.stdout.trim().split('\n');
  return { code: result.status, stdout: result.stdout, stderr: result.stderr, last: lines.at(-1) ?? '' };
}

/** Runs the command line in this process: the same commands without a process start-up each. */
export async function reelInProcess(args: string[], env: Record<string, string | undefined>): Promise<CliResult> {
  const collect = () => {
    const stream = new PassThrough();
    const chunks: Buffer[] = [];
    stream.on('data', (c: Buffer) => chunks.push(c));
    return { stream, text: () => Buffer.concat(chunks).toString('utf8') };
  };
  const stdout = collect();
  const stderr = collect();
  const code = await runCli(args, { stdout: stdout.stream, stderr: stderr.stream, env: { REEL_LOG_LEVEL: 'silent', ...env } });
  const lines = stdout.text().trim().split('\n');
  return { code, stdout: stdout.text(), stderr: stderr.text(), last: lines.at(-1) ?? '' };
}
