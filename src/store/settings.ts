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
