import { DecryptionError, type Cipher } from './crypto';
import type { Db } from './db';

const CHECK_KEY = 'encryption_check';
const CHECK_VALUE = 'syncline-encryption-check';

/** Thrown at start-up when the configured encryption key is not the one this database's secrets were sealed with. */
export class WrongEncryptionKeyError extends Error {
  override name = 'WrongEncryptionKeyError';
}

/**
 * Seals a known value on first use and checks it on every later start, so a wrong
 * `SYNCLINE_ENCRYPTION_KEY` stops start-up with a clear message instead of failing later on garbage.
 */
export async function verifyEncryptionKey(db: Db, cipher: Cipher): Promise<void> {
  await db.query('INSERT INTO syncline_settings (key, value) VALUES ($1, $2) ON CONFLICT (key) DO NOTHING', [
    CHECK_KEY,
    cipher.encrypt(CHECK_VALUE),
  ]);
  const { rows } = await db.query<{ value: string }>('SELECT value FROM syncline_settings WHERE key = $1', [CHECK_KEY]);
  let plaintext: string | undefined;
  try {
    plaintext = cipher.decrypt(rows[0]!.value);
  } catch (err) {
    if (!(err instanceof DecryptionError)) throw err;
  }
  if (plaintext !== CHECK_VALUE) {
    throw new WrongEncryptionKeyError(
      'SYNCLINE_ENCRYPTION_KEY does not match the key this database was encrypted with; set the original key (see README, "Encryption")',
    );
  }
}

const PUBLIC_URL_KEY = 'public_url';

/**
 * Records where providers reach the server (`SYNCLINE_PUBLIC_URL`, or the address it listens on), so
 * every process, the workers of a cluster included, builds the same incoming-webhook URLs.
 */
export async function savePublicUrl(db: Db, url: string): Promise<void> {
  await db.query('INSERT INTO syncline_settings (key, value) VALUES ($1, $2) ON CONFLICT (key) DO UPDATE SET value = excluded.value', [PUBLIC_URL_KEY, url]);
}

/** The server's public URL as last recorded by `savePublicUrl`, or null before any server started. */
export async function readPublicUrl(db: Db): Promise<string | null> {
  const { rows } = await db.query<{ value: string }>('SELECT value FROM syncline_settings WHERE key = $1', [PUBLIC_URL_KEY]);
  return rows[0]?.value ?? null;
}
