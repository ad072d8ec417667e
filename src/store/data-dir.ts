import fs from 'node:fs';
import path from 'node:path';
import { randomBytes } from 'node:crypto';

/** Thrown when the data directory cannot be used as asked. */
export class DataDirError extends Error {
  override name = 'DataDirError';
}

const KEY_FILE = 'encryption.key';
const LOCK_FILE = 'syncline.pid';

/**
 * The embedded-mode encryption key: read from `<dataDir>/encryption.key`, or generated there
 * (mode 0600) on first start. `generated` tells the caller to say so.
 */
export function loadOrCreateKeyFile(dataDir: string): { key: Buffer; file: string; generated: boolean } {
  const file = path.join(dataDir, KEY_FILE);
  fs.mkdirSync(dataDir, { recursive: true });
  if (fs.existsSync(file)) {
    const key = Buffer.from(fs.readFileSync(file, 'utf8').trim(), 'base64');
    if (key.length !== 32) throw new DataDirError(`${file} does not hold a base64 32-byte key`);
    return { key, file, generated: false };
  }
  const key = randomBytes(32);
  fs.writeFileSync(file, `${key.toString('base64')}\n`, { mode: 0o600, flag: 'wx' });
  return { key, file, generated: true };
}

const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
};

/**
 * PGlite is single-process: a second process opening the same directory would corrupt it.
 * Takes the directory for this process (stale locks of dead processes are taken over) and
 * returns the release function.
 */
export function lockDataDir(dataDir: string): () => void {
  fs.mkdirSync(dataDir, { recursive: true });
  const file = path.join(dataDir, LOCK_FILE);
  for (;;) {
    try {
      fs.writeFileSync(file, String(process.pid), { flag: 'wx' });
      return () => fs.rmSync(file, { force: true });
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      const pid = Number(fs.readFileSync(file, 'utf8'));
      if (Number.isInteger(pid) && pid !== process.pid && alive(pid)) {
        throw new DataDirError(
          `Another Syncline process (pid ${pid}) is using ${dataDir}; the embedded database allows one process. Stop it first, or set DATABASE_URL.`,
        );
      }
      fs.rmSync(file, { force: true });
    }
  }
}
