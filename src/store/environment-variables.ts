import { notFound } from '../errors';
import type { EnvironmentVariable } from '../types';
import type { Cipher } from './crypto';
import type { Db } from './db';

/** Environment variables for scripts; values sealed at rest. */
export class EnvironmentVariableStore {
  constructor(
    private readonly db: Db,
    private readonly cipher: Cipher,
  ) {}

  async list(environmentId: number): Promise<EnvironmentVariable[]> {
    const { rows } = await this.db.query<{ name: string; value_encrypted: string }>(
      'SELECT name, value_encrypted FROM environment_variables WHERE environment_id = $1 ORDER BY name',
      [environmentId],
    );
    return rows.map((r) => ({ name: r.name, value: this.cipher.decrypt(r.value_encrypted) }));
  }

  /** Creates or overwrites each variable, in one statement. */
  async upsert(environmentId: number, variables: EnvironmentVariable[]): Promise<void> {
    const byName = new Map(variables.map((v) => [v.name, v.value]));
    await this.db.query(
      `INSERT INTO environment_variables (environment_id, name, value_encrypted)
       SELECT $1, name, value FROM unnest($2::text[], $3::text[]) AS v(name, value)
       ON CONFLICT (environment_id, name) DO UPDATE SET value_encrypted = excluded.value_encrypted`,
      [environmentId, [...byName.keys()], [...byName.values()].map((value) => this.cipher.encrypt(value))],
    );
  }

  async delete(environmentId: number, name: string): Promise<void> {
    const { rowCount } = await this.db.query('DELETE FROM environment_variables WHERE environment_id = $1 AND name = $2', [environmentId, name]);
    if (rowCount === 0) throw notFound('unknown_environment_variable', `No environment variable "${name}" in this environment`);
  }
}
