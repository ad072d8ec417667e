import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import type { Environment } from '../types';
import type { Cipher } from './crypto';
import type { Db } from './db';

export const DEFAULT_ENVIRONMENTS = ['dev', 'prod'] as const;

export interface EnvironmentKey {
  name: string;
  secretKey: string;
}

const sha256 = (value: string) => createHash('sha256').update(value).digest();

/** A fresh secret key: `sk_<env>_` and 32 random bytes as hex. */
export function newSecretKey(environment: string): string {
  return `sk_${environment}_${randomBytes(32).toString('hex')}`;
}

/** Environments and their secret keys. Keys are stored sealed (for `syncline keys`) and hashed (for lookup). */
export class EnvironmentStore {
  constructor(
    private readonly db: Db,
    private readonly cipher: Cipher,
  ) {}

  /**
   * Creates `dev` and `prod` when missing and, if `devSecretKey` is given, makes it the dev key.
   * Returns the keys of the environments it created, to be shown once.
   */
  async ensureDefaults(devSecretKey?: string): Promise<EnvironmentKey[]> {
    return this.db.transaction(async (tx) => {
      const created: EnvironmentKey[] = [];
      for (const name of DEFAULT_ENVIRONMENTS) {
        const secretKey = name === 'dev' && devSecretKey ? devSecretKey : newSecretKey(name);
        const { rowCount } = await tx.query(
          `INSERT INTO environments (name, secret_key_hash, secret_key_encrypted) VALUES ($1, $2, $3)
           ON CONFLICT (name) DO NOTHING`,
          [name, sha256(secretKey).toString('hex'), this.cipher.encrypt(secretKey)],
        );
        if (rowCount > 0) created.push({ name, secretKey });
      }
      if (devSecretKey && !created.some((c) => c.name === 'dev')) {
        await tx.query('UPDATE environments SET secret_key_hash = $2, secret_key_encrypted = $3 WHERE name = $1', [
          'dev',
          sha256(devSecretKey).toString('hex'),
          this.cipher.encrypt(devSecretKey),
        ]);
      }
      return created;
    });
  }

  async keys(): Promise<EnvironmentKey[]> {
    const { rows } = await this.db.query<{ name: string; secret_key_encrypted: string }>(
      'SELECT name, secret_key_encrypted FROM environments ORDER BY id',
    );
    return rows.map((r) => ({ name: r.name, secretKey: this.cipher.decrypt(r.secret_key_encrypted) }));
  }

  async byId(id: number): Promise<Environment | null> {
    const { rows } = await this.db.query<Environment>('SELECT id, name FROM environments WHERE id = $1', [id]);
    return rows[0] ?? null;
  }

  async byName(name: string): Promise<Environment | null> {
    const { rows } = await this.db.query<Environment>('SELECT id, name FROM environments WHERE name = $1', [name]);
    return rows[0] ?? null;
  }

  /** The environment this secret key opens, or null. The final comparison is constant-time. */
  async bySecretKey(secretKey: string): Promise<Environment | null> {
    const digest = sha256(secretKey);
    const { rows } = await this.db.query<Environment & { secret_key_hash: string }>(
      'SELECT id, name, secret_key_hash FROM environments WHERE secret_key_hash = $1',
      [digest.toString('hex')],
    );
    const row = rows[0];
    if (!row || !timingSafeEqual(Buffer.from(row.secret_key_hash, 'hex'), digest)) return null;
    return { id: row.id, name: row.name };
  }
}
