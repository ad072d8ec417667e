import { randomBytes, randomUUID } from 'node:crypto';
import type { Environment } from '../types';
import type { Cipher } from './crypto';
import { deleteInBatches, type Db } from './db';

/** What the app is told about, and where: one environment's webhook settings. */
export interface WebhookSettings {
  primaryUrl: string | null;
  secondaryUrl: string | null;
  /** Send sync webhooks also for runs that added, updated and deleted nothing. */
  onSyncCompletionAlways: boolean;
  onAuthCreation: boolean;
  onAuthRefreshError: boolean;
  onSyncError: boolean;
  onAsyncActionCompletion: boolean;
}

export type WebhookSettingsPatch = Partial<WebhookSettings>;

/** The settings that decide whether a finished sync run has webhooks to send. */
export type SyncWebhookRules = Pick<WebhookSettings, 'primaryUrl' | 'secondaryUrl' | 'onSyncCompletionAlways' | 'onSyncError'>;

/**
 * A select-list item `sync_webhook_rules`: the SyncWebhookRules of environment `environmentId` (a
 * parameter or column), as JSON; null while the environment has no settings row yet. Lets the
 * statement that ends a sync job bring them back, so a run's end needs no read of its own.
 */
export function syncWebhookRulesSql(environmentId: string): string {
  return `(SELECT json_build_object('primaryUrl', w.primary_url, 'secondaryUrl', w.secondary_url, 'onSyncCompletionAlways', w.on_sync_completion_always, 'onSyncError', w.on_sync_error)
     FROM webhook_settings w WHERE w.environment_id = ${environmentId}) AS sync_webhook_rules`;
}

export type WebhookType = 'sync' | 'auth' | 'async_action' | 'forward';

/** One webhook to one URL, as enqueued. */
export interface NewDelivery {
  /** What caused it (a job and model, an auth event, an action id): enqueueing the same key again adds nothing. */
  dedupeKey: string;
  type: WebhookType;
  connectionId: string | null;
  providerConfigKey: string | null;
  url: string;
  body: string;
}

export interface WebhookAttempt {
  attempt: number;
  statusCode: number | null;
  error: string | null;
  durationMs: number;
  createdAt: Date;
}

export interface WebhookDelivery {
  id: number;
  environmentId: number;
  type: WebhookType;
  connectionId: string | null;
  providerConfigKey: string | null;
  url: string;
  body: string;
  status: 'PENDING' | 'DELIVERED' | 'FAILED';
  attempts: number;
  createdAt: Date;
  finishedAt: Date | null;
}

interface SettingsRow {
  primary_url: string | null;
  secondary_url: string | null;
  on_sync_completion_always: boolean;
  on_auth_creation: boolean;
  on_auth_refresh_error: boolean;
  on_sync_error: boolean;
  on_async_action_completion: boolean;
  signing_key_encrypted: string;
}

interface DeliveryRow {
  id: number | string;
  environment_id: number;
  type: WebhookType;
  connection_id: string | null;
  provider_config_key: string | null;
  url: string;
  body: string;
  status: WebhookDelivery['status'];
  attempts: number;
  created_at: Date;
  finished_at: Date | null;
}

const COLUMNS: Record<keyof WebhookSettings, string> = {
  primaryUrl: 'primary_url',
  secondaryUrl: 'secondary_url',
  onSyncCompletionAlways: 'on_sync_completion_always',
  onAuthCreation: 'on_auth_creation',
  onAuthRefreshError: 'on_auth_refresh_error',
  onSyncError: 'on_sync_error',
  onAsyncActionCompletion: 'on_async_action_completion',
};

/** A fresh signing key: `whsk_` and 32 random bytes as hex. */
export function newSigningKey(): string {
  return `whsk_${randomBytes(32).toString('hex')}`;
}

/**
 * Webhook settings and signing keys per environment (the key sealed at rest), outgoing deliveries
 * with every attempt, environments' public ids, and the connection lookups of incoming webhooks.
 */
export class WebhookStore {
  constructor(
    private readonly db: Db,
    private readonly cipher: Cipher,
  ) {}

  /** The environment's settings; the first read creates them (and the signing key) with the defaults. */
  async settings(environmentId: number): Promise<WebhookSettings & { signingKey: string }> {
    const row = await this.row(environmentId);
    return { ...toSettings(row), signingKey: this.cipher.decrypt(row.signing_key_encrypted) };
  }

  /** Changes the given settings only; returns them all. */
  async update(environmentId: number, patch: WebhookSettingsPatch): Promise<WebhookSettings & { signingKey: string }> {
    await this.row(environmentId);
    const entries = (Object.keys(COLUMNS) as Array<keyof WebhookSettings>).filter((k) => patch[k] !== undefined);
    if (entries.length) {
      const sets = entries.map((k, i) => `${COLUMNS[k]} = $${i + 2}`).join(', ');
      await this.db.query(`UPDATE webhook_settings SET ${sets}, updated_at = now() WHERE environment_id = $1`, [environmentId, ...entries.map((k) => patch[k])]);
    }
    return this.settings(environmentId);
  }

  /** Replaces the signing key; deliveries from now on (retries included) are signed with the new one. */
  async rotateSigningKey(environmentId: number): Promise<string> {
    await this.row(environmentId);
    const key = newSigningKey();
    await this.db.query('UPDATE webhook_settings SET signing_key_encrypted = $2, updated_at = now() WHERE environment_id = $1', [environmentId, this.cipher.encrypt(key)]);
    return key;
  }

  /** The environment with this public id (the `:environment` of incoming webhook URLs). */
  async environmentByUuid(uuid: string): Promise<Environment | null> {
    if (!/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(uuid)) return null;
    const { rows } = await this.db.query<Environment>('SELECT id, name FROM environments WHERE uuid = $1', [uuid]);
    return rows[0] ?? null;
  }

  /** An environment with its public id, or null. */
  async environmentById(environmentId: number): Promise<(Environment & { uuid: string }) | null> {
    const { rows } = await this.db.query<Environment & { uuid: string }>('SELECT id, name, uuid::text AS uuid FROM environments WHERE id = $1', [environmentId]);
    return rows[0] ?? null;
  }

  /** Adds deliveries in one statement; returns the ids of all of them, those enqueued before included. */
  async enqueue(environmentId: number, deliveries: NewDelivery[]): Promise<number[]> {
    if (!deliveries.length) return [];
    const { rows } = await this.db.query<{ id: number | string }>(
      `INSERT INTO webhook_deliveries (environment_id, dedupe_key, type, connection_id, provider_config_key, url, body)
       SELECT $1, d.dedupe_key, d.type, d.connection_id, d.provider_config_key, d.url, d.body
       FROM jsonb_to_recordset($2::jsonb) AS d(dedupe_key text, type text, connection_id text, provider_config_key text, url text, body text)
       ON CONFLICT (dedupe_key) DO UPDATE SET dedupe_key = excluded.dedupe_key
       RETURNING id`,
      [
        environmentId,
        JSON.stringify(
          deliveries.map((d) => ({ dedupe_key: d.dedupeKey, type: d.type, connection_id: d.connectionId, provider_config_key: d.providerConfigKey, url: d.url, body: d.body })),
        ),
      ],
    );
    return rows.map((r) => Number(r.id));
  }

  async delivery(id: number): Promise<WebhookDelivery | null> {
    const { rows } = await this.db.query<DeliveryRow>('SELECT * FROM webhook_deliveries WHERE id = $1', [id]);
    return rows[0] ? toDelivery(rows[0]) : null;
  }

  /** Records one attempt and the delivery's state after it (`final`: no attempt will follow). */
  async recordAttempt(id: number, attempt: { attempt: number; statusCode: number | null; error: string | null; durationMs: number; delivered: boolean; final: boolean }): Promise<void> {
    const status = attempt.delivered ? 'DELIVERED' : attempt.final ? 'FAILED' : 'PENDING';
    await this.db.query(
      `WITH a AS (
         INSERT INTO webhook_attempts (delivery_id, attempt, status_code, error, duration_ms) VALUES ($1, $2, $3, $4, $5)
         ON CONFLICT (delivery_id, attempt) DO UPDATE SET status_code = excluded.status_code, error = excluded.error, duration_ms = excluded.duration_ms, created_at = now()
       )
       UPDATE webhook_deliveries SET attempts = GREATEST(attempts, $2), status = $6, finished_at = CASE WHEN $6 = 'PENDING' THEN NULL ELSE now() END
       WHERE id = $1`,
      [id, attempt.attempt, attempt.statusCode, attempt.error, Math.round(attempt.durationMs), status],
    );
  }

  /** Marks a delivery FAILED when its retries ran out without an attempt saying so. */
  async fail(id: number): Promise<void> {
    await this.db.query(`UPDATE webhook_deliveries SET status = 'FAILED', finished_at = now() WHERE id = $1 AND status = 'PENDING'`, [id]);
  }

  /** The newest deliveries of an environment with their attempts, newest first, paged by id. */
  async list(
    environmentId: number,
    filter: { type?: WebhookType; connectionId?: string; before?: number; limit: number },
  ): Promise<Array<WebhookDelivery & { attemptLog: WebhookAttempt[] }>> {
    const { rows } = await this.db.query<DeliveryRow & { attempt_log: Array<{ attempt: number; status_code: number | null; error: string | null; duration_ms: number; created_at: string }> }>(
      `SELECT d.*, COALESCE((SELECT jsonb_agg(jsonb_build_object('attempt', a.attempt, 'status_code', a.status_code, 'error', a.error, 'duration_ms', a.duration_ms, 'created_at', a.created_at) ORDER BY a.attempt)
                             FROM webhook_attempts a WHERE a.delivery_id = d.id), '[]'::jsonb) AS attempt_log
       FROM webhook_deliveries d
       WHERE d.environment_id = $1 AND ($2::text IS NULL OR d.type = $2) AND ($3::text IS NULL OR d.connection_id = $3) AND ($4::bigint IS NULL OR d.id < $4)
       ORDER BY d.id DESC LIMIT $5`,
      [environmentId, filter.type ?? null, filter.connectionId ?? null, filter.before ?? null, filter.limit],
    );
    return rows.map((row) => ({
      ...toDelivery(row),
      attemptLog: row.attempt_log.map((a) => ({ attempt: a.attempt, statusCode: a.status_code, error: a.error, durationMs: a.duration_ms, createdAt: new Date(a.created_at) })),
    }));
  }

  /** Keeps a provider's webhook for the handler runs it starts; returns its id. */
  async saveIncoming(environmentId: number, integrationKey: string, payload: unknown): Promise<string> {
    const id = randomUUID();
    await this.db.query('INSERT INTO incoming_webhooks (id, environment_id, integration_key, payload) VALUES ($1, $2, $3, $4)', [
      id,
      environmentId,
      integrationKey,
      JSON.stringify(payload),
    ]);
    return id;
  }

  async incoming(id: string): Promise<{ environmentId: number; integrationKey: string; payload: unknown; receivedAt: Date } | null> {
    const { rows } = await this.db.query<{ environment_id: number; integration_key: string; payload: unknown; received_at: Date }>(
      'SELECT environment_id, integration_key, payload, received_at FROM incoming_webhooks WHERE id = $1',
      [id],
    );
    const row = rows[0];
    return row ? { environmentId: row.environment_id, integrationKey: row.integration_key, payload: row.payload, receivedAt: new Date(row.received_at) } : null;
  }

  /**
   * Connection ids of an integration whose connection config (or metadata) field `field` equals
   * one of `values` (compared as text).
   */
  /**
   * Deletes finished deliveries (with their attempts) and received provider payloads older than
   * `retentionDays`; pending deliveries are kept whatever their age. Returns how many rows went.
   */
  async prune(retentionDays: number, batch = 10_000): Promise<number> {
    const deliveries = await deleteInBatches(
      this.db,
      `DELETE FROM webhook_deliveries WHERE id IN (SELECT id FROM webhook_deliveries WHERE status <> 'PENDING' AND created_at < now() - $1 * interval '1 day' LIMIT $2)`,
      [retentionDays],
      batch,
    );
    const received = await deleteInBatches(
      this.db,
      `DELETE FROM incoming_webhooks WHERE id IN (SELECT id FROM incoming_webhooks WHERE received_at < now() - $1 * interval '1 day' LIMIT $2)`,
      [retentionDays],
      batch,
    );
    return deliveries + received;
  }

  /** Connections whose `field` (several fields: their values joined with `/`) is one of `values`. */
  async connectionsMatching(environmentId: number, integrationKey: string, where: 'connection_config' | 'metadata', field: string | string[], values: string[]): Promise<string[]> {
    if (!values.length) return [];
    const column = where === 'metadata' ? 'c.metadata' : 'c.connection_config';
    const fields = Array.isArray(field) ? field : [field];
    const key = fields.map((_, i) => `${column} ->> $${i + 4}`).join(`, '/', `);
    const { rows } = await this.db.query<{ connection_id: string }>(
      `SELECT c.connection_id FROM connections c JOIN integrations i ON i.id = c.integration_id
       WHERE c.environment_id = $1 AND i.unique_key = $2 AND ${fields.length > 1 ? `concat(${key})` : key} = ANY($3::text[])
       ORDER BY c.id`,
      [environmentId, integrationKey, values, ...fields],
    );
    return rows.map((r) => r.connection_id);
  }

  /** The variants (other than `base`) that these connections of an integration have of these syncs. */
  async syncVariants(environmentId: number, integrationKey: string, connectionIds: string[], syncs: string[]): Promise<Array<{ connectionId: string; sync: string; variant: string }>> {
    if (!connectionIds.length || !syncs.length) return [];
    const { rows } = await this.db.query<{ connectionId: string; sync: string; variant: string }>(
      `SELECT c.connection_id AS "connectionId", s.name AS sync, s.variant FROM syncs s
       JOIN connections c ON c.id = s.connection_id JOIN integrations i ON i.id = c.integration_id
       WHERE c.environment_id = $1 AND i.unique_key = $2 AND c.connection_id = ANY($3::text[]) AND s.name = ANY($4::text[]) AND s.variant <> 'base'
       ORDER BY s.id`,
      [environmentId, integrationKey, connectionIds, syncs],
    );
    return rows;
  }

  private async row(environmentId: number): Promise<SettingsRow> {
    const select = () => this.db.query<SettingsRow>('SELECT * FROM webhook_settings WHERE environment_id = $1', [environmentId]);
    let { rows } = await select();
    if (!rows[0]) {
      await this.db.query('INSERT INTO webhook_settings (environment_id, signing_key_encrypted) VALUES ($1, $2) ON CONFLICT (environment_id) DO NOTHING', [
        environmentId,
        this.cipher.encrypt(newSigningKey()),
      ]);
      ({ rows } = await select());
    }
    return rows[0]!;
  }
}

function toSettings(row: SettingsRow): WebhookSettings {
  return {
    primaryUrl: row.primary_url,
    secondaryUrl: row.secondary_url,
    onSyncCompletionAlways: row.on_sync_completion_always,
    onAuthCreation: row.on_auth_creation,
    onAuthRefreshError: row.on_auth_refresh_error,
    onSyncError: row.on_sync_error,
    onAsyncActionCompletion: row.on_async_action_completion,
  };
}

function toDelivery(row: DeliveryRow): WebhookDelivery {
  return {
    id: Number(row.id),
    environmentId: row.environment_id,
    type: row.type,
    connectionId: row.connection_id,
    providerConfigKey: row.provider_config_key,
    url: row.url,
    body: row.body,
    status: row.status,
    attempts: row.attempts,
    createdAt: new Date(row.created_at),
    finishedAt: row.finished_at && new Date(row.finished_at),
  };
}
