import { notFound } from '../errors';
import type { Connection, ConnectionCredentials, ConnectionError, EndUser } from '../types';
import type { Cipher } from './crypto';
import type { Db } from './db';
import { unknownIntegration } from './integrations';

export interface NewConnection {
  connectionId: string;
  credentials: ConnectionCredentials;
  connectionConfig?: Record<string, unknown>;
  metadata?: Record<string, unknown>;
  tags?: Record<string, string>;
  endUser?: EndUser | null;
  webhookUrlOverride?: string | null;
}

export interface ConnectionPatch {
  endUser?: EndUser | null;
  tags?: Record<string, string>;
  webhookUrlOverride?: string | null;
}

export interface ConnectionFilter {
  connectionId?: string;
  /** Substring of the connection id, end user id, email or display name (case-insensitive). */
  search?: string;
  endUserId?: string;
  endUserOrganizationId?: string;
  integrationKeys?: string[];
  tags?: Record<string, string>;
  endUserEmail?: string;
  endUserDisplayName?: string;
  limit: number;
  /** Zero-based page of `limit` connections. */
  page: number;
}

interface ConnectionRow {
  id: number;
  environment_id: number;
  integration_id: number;
  unique_key: string;
  provider: string;
  connection_id: string;
  connection_config: Record<string, unknown>;
  metadata: Record<string, unknown>;
  tags: Record<string, string>;
  end_user: EndUser | null;
  webhook_url_override: string | null;
  credentials_encrypted: string;
  credentials_expires_at: Date | null;
  last_fetched_at: Date | null;
  created_at: Date;
  updated_at: Date;
}

const SELECT = `SELECT c.*, i.unique_key, i.provider FROM connections c JOIN integrations i ON i.id = c.integration_id`;

/** The columns an override replaces, as the JSON a refused validation restores them from (`refuse`). */
const SETTLED_COLUMNS = `jsonb_build_object('credentials_encrypted', c.credentials_encrypted, 'credentials_type', c.credentials_type,
  'credentials_expires_at', c.credentials_expires_at, 'connection_config', c.connection_config, 'metadata', c.metadata, 'tags', c.tags,
  'end_user', c.end_user, 'end_user_id', c.end_user_id, 'end_user_organization_id', c.end_user_organization_id,
  'webhook_url_override', c.webhook_url_override, 'updated_at', c.updated_at)`;

export const unknownConnection = (connectionId: string, key: string) =>
  notFound('unknown_connection', `No connection "${connectionId}" for integration "${key}" in this environment`);

function expiresAt(credentials: ConnectionCredentials): Date | null {
  const value = credentials.expires_at;
  if (typeof value !== 'string' && !(value instanceof Date)) return null;
  const date = new Date(value);
  return Number.isNaN(date.getTime()) ? null : date;
}

/** Connections of an environment. Credentials are sealed at rest; everything else is queryable. */
export class ConnectionStore {
  constructor(
    private readonly db: Db,
    private readonly cipher: Cipher,
  ) {}

  /**
   * Imports a connection, or replaces the credentials and given fields of an existing one with the
   * same id. `created` tells which happened. With `authEvent` (a connection authorised by its end
   * user), the same statement writes its `auth` webhook event (operation creation or override) to
   * the outbox, so the event exists exactly when the change does.
   *
   * With `pending` (the integration has validate-connection scripts to run first) the connection is
   * written for them to read, but nothing is announced: no `auth` event, and a new connection gets
   * no lifecycle event (syncs, post-connection-creation). An override keeps the columns it replaced.
   * `accept` or `refuse` settles it.
   */
  async upsert(
    environmentId: number,
    integrationKey: string,
    input: NewConnection,
    options: { authEvent?: { endUserId: string | null }; pending?: boolean } = {},
  ): Promise<{ connection: Connection; created: boolean }> {
    const integration = await this.integrationId(environmentId, integrationKey);
    const { rows } = await this.db.query<{ id: number; created: boolean }>(
      `WITH up AS (
         INSERT INTO connections AS c (environment_id, integration_id, connection_id, credentials_encrypted, credentials_type,
           credentials_expires_at, connection_config, metadata, tags, end_user, end_user_id, end_user_organization_id, webhook_url_override, validation)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, CASE WHEN $21::boolean THEN '{"operation": "creation"}'::jsonb END)
         ON CONFLICT (integration_id, connection_id) DO UPDATE SET
           credentials_encrypted = excluded.credentials_encrypted,
           credentials_type = excluded.credentials_type,
           credentials_expires_at = excluded.credentials_expires_at,
           connection_config = CASE WHEN $14 THEN excluded.connection_config ELSE c.connection_config END,
           metadata = CASE WHEN $15 THEN excluded.metadata ELSE c.metadata END,
           tags = CASE WHEN $16 THEN excluded.tags ELSE c.tags END,
           end_user = CASE WHEN $17 THEN excluded.end_user ELSE c.end_user END,
           end_user_id = CASE WHEN $17 THEN excluded.end_user_id ELSE c.end_user_id END,
           end_user_organization_id = CASE WHEN $17 THEN excluded.end_user_organization_id ELSE c.end_user_organization_id END,
           webhook_url_override = CASE WHEN $18 THEN excluded.webhook_url_override ELSE c.webhook_url_override END,
           validation = CASE WHEN $21::boolean THEN COALESCE(c.validation, jsonb_build_object('operation', 'override', 'previous', ${SETTLED_COLUMNS})) END,
           updated_at = now()
         RETURNING id, environment_id, integration_id, connection_id, credentials_type, (xmax = 0) AS created
     ),
     event AS (
       INSERT INTO auth_events (environment_id, operation, success, provider_config_key, provider, connection_id, auth_mode, end_user_id)
       SELECT up.environment_id, CASE WHEN up.created THEN 'creation' ELSE 'override' END, true, i.unique_key, i.provider, up.connection_id,
         up.credentials_type, $20::text
       FROM up JOIN integrations i ON i.id = up.integration_id WHERE $19::boolean AND NOT $21::boolean
     )
     SELECT id, created FROM up`,
      [
        environmentId,
        integration,
        input.connectionId,
        this.cipher.encryptJson(input.credentials),
        input.credentials.type,
        expiresAt(input.credentials),
        input.connectionConfig ?? {},
        input.metadata ?? {},
        input.tags ?? {},
        input.endUser ?? null,
        input.endUser?.id ?? null,
        input.endUser?.organization?.id ?? null,
        input.webhookUrlOverride ?? null,
        input.connectionConfig !== undefined,
        input.metadata !== undefined,
        input.tags !== undefined,
        input.endUser !== undefined,
        input.webhookUrlOverride !== undefined,
        options.authEvent !== undefined,
        options.authEvent?.endUserId ?? null,
        options.pending === true,
      ],
    );
    return { connection: await this.byPk(rows[0]!.id), created: rows[0]!.created };
  }

  /**
   * Settles a pending connection (`upsert` with `pending`) as valid: a new one is announced
   * (lifecycle event), and with `authEvent` its `auth` event is written, in the same statement.
   * Null when it is no longer pending (refused or settled meanwhile).
   */
  async accept(id: number, options: { authEvent?: { endUserId: string | null } } = {}): Promise<{ connection: Connection; created: boolean } | null> {
    const { rows } = await this.db.query<{ id: number; operation: 'creation' | 'override' }>(
      `WITH old AS (
         SELECT id, validation ->> 'operation' AS operation FROM connections WHERE id = $1 AND validation IS NOT NULL FOR UPDATE
       ),
       up AS (
         UPDATE connections c SET validation = NULL FROM old WHERE c.id = old.id
         RETURNING c.id, c.environment_id, c.integration_id, c.connection_id, c.credentials_type, old.operation
       ),
       event AS (
         INSERT INTO auth_events (environment_id, operation, success, provider_config_key, provider, connection_id, auth_mode, end_user_id)
         SELECT up.environment_id, up.operation, true, i.unique_key, i.provider, up.connection_id, up.credentials_type, $3::text
         FROM up JOIN integrations i ON i.id = up.integration_id WHERE $2::boolean
       )
       SELECT id, operation FROM up`,
      [id, options.authEvent !== undefined, options.authEvent?.endUserId ?? null],
    );
    if (!rows[0]) return null;
    return { connection: await this.byPk(id), created: rows[0].operation === 'creation' };
  }

  /**
   * Settles a pending connection as refused: a new one is deleted without a lifecycle event (it was
   * never announced); an override gets back the columns it replaced, and with `authEvent` a failed
   * `auth` event (operation override) carrying `error` is written in the same statement. Returns
   * what happened, or null when it was no longer pending.
   */
  async refuse(
    id: number,
    options: { authEvent?: { endUserId: string | null; error: { type: string; description: string } } } = {},
  ): Promise<'deleted' | 'restored' | null> {
    const { rows } = await this.db.query<{ outcome: 'deleted' | 'restored' }>(
      `WITH old AS (
         SELECT id, validation ->> 'operation' AS operation, validation -> 'previous' AS p FROM connections WHERE id = $1 AND validation IS NOT NULL FOR UPDATE
       ),
       gone AS (
         DELETE FROM connections c USING old WHERE c.id = old.id AND old.operation = 'creation' RETURNING c.id
       ),
       restored AS (
         UPDATE connections c SET
           credentials_encrypted = p ->> 'credentials_encrypted',
           credentials_type = p ->> 'credentials_type',
           credentials_expires_at = (p ->> 'credentials_expires_at')::timestamptz,
           connection_config = p -> 'connection_config',
           metadata = p -> 'metadata',
           tags = p -> 'tags',
           end_user = NULLIF(p -> 'end_user', 'null'::jsonb),
           end_user_id = p ->> 'end_user_id',
           end_user_organization_id = p ->> 'end_user_organization_id',
           webhook_url_override = p ->> 'webhook_url_override',
           validation = NULL,
           updated_at = (p ->> 'updated_at')::timestamptz
         FROM old WHERE c.id = old.id AND old.operation = 'override'
         RETURNING c.environment_id, c.integration_id, c.connection_id, c.credentials_type
       ),
       event AS (
         INSERT INTO auth_events (environment_id, operation, success, provider_config_key, provider, connection_id, auth_mode, end_user_id, error)
         SELECT r.environment_id, 'override', false, i.unique_key, i.provider, r.connection_id, r.credentials_type, $3::text, $4::jsonb
         FROM restored r JOIN integrations i ON i.id = r.integration_id WHERE $2::boolean
       )
       SELECT 'deleted' AS outcome FROM gone UNION ALL SELECT 'restored' FROM restored`,
      [id, options.authEvent !== undefined, options.authEvent?.endUserId ?? null, options.authEvent?.error ?? null],
    );
    return rows[0]?.outcome ?? null;
  }

  /** The connection or a `not_found` error naming it. */
  async get(environmentId: number, integrationKey: string, connectionId: string): Promise<Connection> {
    const { rows } = await this.db.query<ConnectionRow>(`${SELECT} WHERE c.environment_id = $1 AND i.unique_key = $2 AND c.connection_id = $3`, [
      environmentId,
      integrationKey,
      connectionId,
    ]);
    if (!rows[0]) {
      await this.integrationId(environmentId, integrationKey);
      throw unknownConnection(connectionId, integrationKey);
    }
    return this.toConnection(rows[0]);
  }

  async byPk(id: number): Promise<Connection> {
    const { rows } = await this.db.query<ConnectionRow>(`${SELECT} WHERE c.id = $1`, [id]);
    if (!rows[0]) throw notFound('unknown_connection', `No connection with id ${id}`);
    return this.toConnection(rows[0]);
  }

  async list(environmentId: number, filter: ConnectionFilter): Promise<Connection[]> {
    const params: unknown[] = [environmentId];
    const param = (value: unknown) => `$${params.push(value)}`;
    const where = ['c.environment_id = $1'];
    if (filter.connectionId !== undefined) where.push(`c.connection_id = ${param(filter.connectionId)}`);
    if (filter.endUserId !== undefined) where.push(`c.end_user_id = ${param(filter.endUserId)}`);
    if (filter.endUserOrganizationId !== undefined) where.push(`c.end_user_organization_id = ${param(filter.endUserOrganizationId)}`);
    if (filter.integrationKeys?.length) where.push(`i.unique_key = ANY(${param(filter.integrationKeys)}::text[])`);
    for (const [key, value] of Object.entries(filter.tags ?? {})) where.push(`c.tags ->> ${param(key)} = ${param(value)}`);
    if (filter.endUserEmail !== undefined) where.push(`c.end_user ->> 'email' = ${param(filter.endUserEmail)}`);
    if (filter.endUserDisplayName !== undefined) where.push(`c.end_user ->> 'display_name' = ${param(filter.endUserDisplayName)}`);
    if (filter.search) {
      const pattern = param(`%${filter.search.replace(/[\\%_]/g, (ch) => `\\${ch}`)}%`);
      where.push(
        `(c.connection_id ILIKE ${pattern} OR c.end_user_id ILIKE ${pattern} OR c.end_user ->> 'email' ILIKE ${pattern} OR c.end_user ->> 'display_name' ILIKE ${pattern})`,
      );
    }
    const { rows } = await this.db.query<ConnectionRow>(
      `${SELECT} WHERE ${where.join(' AND ')} ORDER BY c.created_at, c.id LIMIT ${param(filter.limit)} OFFSET ${param(filter.page * filter.limit)}`,
      params,
    );
    return rows.map((row) => this.toConnection(row));
  }

  async update(environmentId: number, integrationKey: string, connectionId: string, patch: ConnectionPatch): Promise<Connection> {
    const current = await this.get(environmentId, integrationKey, connectionId);
    const endUser = patch.endUser === undefined ? current.endUser : patch.endUser;
    await this.db.query(
      `UPDATE connections SET end_user = $2, end_user_id = $3, end_user_organization_id = $4, tags = $5, webhook_url_override = $6, updated_at = now()
       WHERE id = $1`,
      [
        current.id,
        endUser,
        endUser?.id ?? null,
        endUser?.organization?.id ?? null,
        patch.tags ?? current.tags,
        patch.webhookUrlOverride === undefined ? current.webhookUrlOverride : patch.webhookUrlOverride,
      ],
    );
    return this.byPk(current.id);
  }

  /** Deletes the connection and, by cascade, its records. */
  async delete(environmentId: number, integrationKey: string, connectionId: string): Promise<Connection> {
    const connection = await this.get(environmentId, integrationKey, connectionId);
    await this.db.query('DELETE FROM connections WHERE id = $1', [connection.id]);
    return connection;
  }

  /**
   * Replaces (`replace`) or shallow-merges (`merge`) the metadata of one or more connections of an
   * integration, all or nothing: if one id is unknown, none is changed.
   */
  async setMetadata(
    environmentId: number,
    integrationKey: string,
    connectionIds: string[],
    metadata: Record<string, unknown>,
    mode: 'replace' | 'merge',
  ): Promise<void> {
    const integration = await this.integrationId(environmentId, integrationKey);
    const unique = [...new Set(connectionIds)];
    await this.db.transaction(async (tx) => {
      const { rows } = await tx.query<{ connection_id: string }>(
        `UPDATE connections SET metadata = ${mode === 'replace' ? '$3::jsonb' : 'metadata || $3::jsonb'}, updated_at = now()
         WHERE integration_id = $1 AND connection_id = ANY($2::text[]) RETURNING connection_id`,
        [integration, unique, metadata],
      );
      if (rows.length !== unique.length) {
        const found = new Set(rows.map((r) => r.connection_id));
        throw unknownConnection(unique.find((id) => !found.has(id))!, integrationKey);
      }
    });
  }

  /** The `errors` of connections, by internal id: a failed last refresh, syncs whose last run failed. */
  async errors(ids: number[]): Promise<Map<number, ConnectionError[]>> {
    const out = new Map<number, ConnectionError[]>(ids.map((id) => [id, []]));
    if (!ids.length) return out;
    const { rows } = await this.db.query<{ id: number; type: ConnectionError['type']; log_id: string }>(
      `SELECT connection_id AS id, 'auth' AS type, last_failure_log AS log_id FROM connection_refreshes
       WHERE connection_id = ANY($1::int[]) AND failures > 0 AND last_failure_log IS NOT NULL
       UNION ALL
       SELECT s.connection_id, 'sync', j.id::text FROM syncs s
       CROSS JOIN LATERAL (SELECT id, status FROM sync_jobs WHERE sync_id = s.id ORDER BY id DESC LIMIT 1) j
       WHERE s.connection_id = ANY($1::int[]) AND j.status = 'ERROR'`,
      [ids],
    );
    for (const row of rows) out.get(row.id)!.push({ type: row.type, log_id: row.log_id });
    return out;
  }

  async markFetched(id: number): Promise<void> {
    await this.db.query('UPDATE connections SET last_fetched_at = now() WHERE id = $1', [id]);
  }

  private async integrationId(environmentId: number, key: string): Promise<number> {
    const { rows } = await this.db.query<{ id: number }>('SELECT id FROM integrations WHERE environment_id = $1 AND unique_key = $2', [
      environmentId,
      key,
    ]);
    if (!rows[0]) throw unknownIntegration(key);
    return rows[0].id;
  }

  private toConnection(row: ConnectionRow): Connection {
    return {
      id: row.id,
      environmentId: row.environment_id,
      integrationId: row.integration_id,
      providerConfigKey: row.unique_key,
      provider: row.provider,
      connectionId: row.connection_id,
      connectionConfig: row.connection_config,
      metadata: row.metadata,
      tags: row.tags,
      endUser: row.end_user,
      webhookUrlOverride: row.webhook_url_override,
      credentials: this.cipher.decryptJson<ConnectionCredentials>(row.credentials_encrypted),
      credentialsExpiresAt: row.credentials_expires_at && new Date(row.credentials_expires_at),
      lastFetchedAt: row.last_fetched_at && new Date(row.last_fetched_at),
      createdAt: new Date(row.created_at),
      updatedAt: new Date(row.updated_at),
    };
  }
}
