import fs from 'node:fs';
import path from 'node:path';
import { dataDirInUse, dataDirNotLocked } from '../errors.ts';

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    // EPERM: the process exists but belongs to someone else.
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Takes the embedded database's data directory for this process. PGlite has a single connection
 * and no cross-process locking of its own: two processes on one directory would corrupt it.
 * The lock file holds the owner's pid, so a lock left by a killed process is recognised and taken over.
 */
export function lockDataDir(dataDir: string): () => void {
  fs.mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  const file = path.join(dataDir, 'reel.lock');
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      fs.writeFileSync(file, String(process.pid), { flag: 'wx', mode: 0o600 });
      return () => {
        try {
          if (fs.readFileSync(file, 'utf8') === String(process.pid)) fs.unlinkSync(file);
        } catch {
          // already gone
        }
      };
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
    const owner = Number.parseInt(fs.readFileSync(file, 'utf8'), 10);
    if (Number.isInteger(owner) && owner > 0 && processAlive(owner)) {
      throw dataDirInUse(dataDir, owner);
    }
    fs.rmSync(file, { force: true }); // stale: its owner is gone
  }
  throw dataDirNotLocked(dataDir);
}
