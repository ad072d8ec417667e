import { conflict, notFound } from '../errors';
import type { Integration, IntegrationCredentials } from '../types';
import type { Cipher } from './crypto';
import type { Db } from './db';
import { isUniqueViolation } from './sql-errors';

export interface NewIntegration {
  uniqueKey: string;
  provider: string;
  displayName?: string | null;
  credentials?: IntegrationCredentials | null;
  forwardWebhooks?: boolean;
}

export type IntegrationPatch = Partial<Omit<NewIntegration, 'provider'>>;

interface IntegrationRow {
  id: number;
  environment_id: number;
  unique_key: string;
  provider: string;
  display_name: string | null;
  credentials_encrypted: string | null;
  forward_webhooks: boolean;
  created_at: Date;
  updated_at: Date;
}

export const unknownIntegration = (key: string) =>
  notFound('unknown_provider_config', `No integration with unique key "${key}" in this environment`);

/** Integrations of an environment; their credentials (client secrets) are sealed at rest. */
export class IntegrationStore {
  constructor(
    private readonly db: Db,
    private readonly cipher: Cipher,
  ) {}

  async list(environmentId: number): Promise<Integration[]> {
    const { rows } = await this.db.query<IntegrationRow>('SELECT * FROM integrations WHERE environment_id = $1 ORDER BY id', [
      environmentId,
    ]);
    return rows.map((row) => this.toIntegration(row));
  }

  /** The integration or a `not_found` error naming the key. */
  async get(environmentId: number, uniqueKey: string): Promise<Integration> {
    const { rows } = await this.db.query<IntegrationRow>('SELECT * FROM integrations WHERE environment_id = $1 AND unique_key = $2', [
      environmentId,
      uniqueKey,
    ]);
    if (!rows[0]) throw unknownIntegration(uniqueKey);
    return this.toIntegration(rows[0]);
  }

  async create(environmentId: number, input: NewIntegration): Promise<Integration> {
    try {
      const { rows } = await this.db.query<IntegrationRow>(
        `INSERT INTO integrations (environment_id, unique_key, provider, display_name, credentials_encrypted, forward_webhooks)
         VALUES ($1, $2, $3, $4, $5, $6) RETURNING *`,
        [
          environmentId,
          input.uniqueKey,
          input.provider,
          input.displayName ?? null,
          input.credentials ? this.cipher.encryptJson(input.credentials) : null,
          input.forwardWebhooks ?? true,
        ],
      );
      return this.toIntegration(rows[0]!);
    } catch (err) {
      if (isUniqueViolation(err)) throw conflict('duplicate_integration', `An integration with unique key "${input.uniqueKey}" already exists`);
      throw err;
    }
  }

  /** Changes only the fields given; `uniqueKey` renames the integration. */
  async update(environmentId: number, uniqueKey: string, patch: IntegrationPatch): Promise<Integration> {
    const current = await this.get(environmentId, uniqueKey);
    const credentials = patch.credentials === undefined ? current.credentials : patch.credentials;
    try {
      const { rows } = await this.db.query<IntegrationRow>(
        `UPDATE integrations SET unique_key = $3, display_name = $4, credentials_encrypted = $5, forward_webhooks = $6, updated_at = now()
         WHERE environment_id = $1 AND unique_key = $2 RETURNING *`,
        [
          environmentId,
          uniqueKey,
          patch.uniqueKey ?? current.uniqueKey,
          patch.displayName === undefined ? current.displayName : patch.displayName,
          credentials ? this.cipher.encryptJson(credentials) : null,
          patch.forwardWebhooks ?? current.forwardWebhooks,
        ],
      );
      if (!rows[0]) throw unknownIntegration(uniqueKey);
      return this.toIntegration(rows[0]);
    } catch (err) {
      if (isUniqueViolation(err)) throw conflict('duplicate_integration', `An integration with unique key "${patch.uniqueKey}" already exists`);
      throw err;
    }
  }

  /** Deletes the integration with its connections and their records. */
  async delete(environmentId: number, uniqueKey: string): Promise<void> {
    const { rowCount } = await this.db.query('DELETE FROM integrations WHERE environment_id = $1 AND unique_key = $2', [
      environmentId,
      uniqueKey,
    ]);
    if (rowCount === 0) throw unknownIntegration(uniqueKey);
  }

  private toIntegration(row: IntegrationRow): Integration {
    return {
      id: row.id,
      environmentId: row.environment_id,
      uniqueKey: row.unique_key,
      provider: row.provider,
      displayName: row.display_name,
      credentials: row.credentials_encrypted ? this.cipher.decryptJson<IntegrationCredentials>(row.credentials_encrypted) : null,
      forwardWebhooks: row.forward_webhooks,
      createdAt: new Date(row.created_at),
      updatedAt: new Date(row.updated_at),
    };
  }
}
