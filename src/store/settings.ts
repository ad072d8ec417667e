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

/** Where providers reach the server, and whether it was configured (`SYNCLINE_PUBLIC_URL`) or is only the address it listens on. */
export interface PublicUrl {
  url: string;
  configured: boolean;
}

/**
 * Records where providers reach the server, so every process (the workers of a cluster included)
 * builds the same incoming-webhook URLs.
 */
export async function savePublicUrl(db: Db, publicUrl: PublicUrl): Promise<void> {
  await db.query('INSERT INTO syncline_settings (key, value) VALUES ($1, $2) ON CONFLICT (key) DO UPDATE SET value = excluded.value', [
    PUBLIC_URL_KEY,
    JSON.stringify(publicUrl),
  ]);
}

/** The server's public URL as last recorded by `savePublicUrl`, or null before any server started. */
export async function readPublicUrl(db: Db): Promise<PublicUrl | null> {
  const { rows } = await db.query<{ value: string }>('SELECT value FROM syncline_settings WHERE key = $1', [PUBLIC_URL_KEY]);
  try {
    const value = rows[0] ? (JSON.parse(rows[0].value) as Partial<PublicUrl>) : undefined;
    return typeof value?.url === 'string' ? { url: value.url, configured: value.configured === true } : null;
  } catch {
    return null;
  }
}
