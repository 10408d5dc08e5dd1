import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import type { Config } from '../config.ts';

/**
 * The secrets download links are signed with: the configured one (and accepted old ones for
 * rotation), or else one generated once and kept owner-only in the data directory, so links
 * survive restarts. Replicas must share REEL_DOWNLOAD_SECRET.
 */
export function downloadSecrets(config: Config): string[] {
  if (config.downloadSecrets.length > 0) return config.downloadSecrets;
  fs.mkdirSync(config.dataDir, { recursive: true, mode: 0o700 });
  const file = path.join(config.dataDir, 'download-secret');
  try {
    fs.writeFileSync(file, randomBytes(32).toString('hex'), { flag: 'wx', mode: 0o600 });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
  }
  const secret = fs.readFileSync(file, 'utf8').trim();
  if (secret.length < 32) throw new Error(`the download secret in ${file} is too short; delete it to generate a new one`);
  return [secret];
}
