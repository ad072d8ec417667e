import type { AuthEvent } from '../providers/events';
import type { Db, Queryable } from './db';

/** An `auth` event waiting in the outbox to become `auth` webhooks. */
export interface QueuedAuthEvent extends AuthEvent {
  id: number;
  /** Failed attempts at turning it into webhooks so far. */
  attempts: number;
}

/** How long a taken event is hidden from other drains: after that (its drain died) it is due again. */
export const AUTH_EVENT_LEASE_MS = 60_000;

interface AuthEventRow extends Omit<QueuedAuthEvent, 'error'> {
  error: AuthEvent['error'] | null;
}

/** Writes `event` to the outbox through `q`: the transaction of the change it reports. */
export async function insertAuthEvent(q: Queryable, event: AuthEvent): Promise<void> {
  await q.query(
    `INSERT INTO auth_events (environment_id, operation, success, provider_config_key, provider, connection_id, auth_mode, end_user_id, error)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`,
    [event.environmentId, event.operation, event.success, event.providerConfigKey, event.provider, event.connectionId, event.authMode, event.endUserId ?? null, event.error ?? null],
  );
}

/**
 * The outbox of `auth` webhook events. Rows are written with the connection change they report
 * (`ConnectionStore.upsert` with `authEvent`, `RefreshTx.recordFailure`), then drained: `take`
 * leases due events, `done` removes a handled one, `retry` brings a failed one back later.
 *
 * @example
 * for (const event of await store.authEvents.take(100)) {
 *   await dispatcher.auth(event);
 *   await store.authEvents.done(event.id);
 * }
 */
export class AuthEventStore {
  constructor(private readonly db: Db) {}

  /** Up to `limit` due events, oldest first, leased for `leaseMs` so no other drain takes them meanwhile. */
  async take(limit = 100, leaseMs = AUTH_EVENT_LEASE_MS): Promise<QueuedAuthEvent[]> {
    const { rows } = await this.db.query<AuthEventRow>(
      `UPDATE auth_events SET not_before = now() + $2 * interval '1 millisecond'
       WHERE id IN (SELECT id FROM auth_events WHERE not_before <= now() ORDER BY id LIMIT $1 FOR UPDATE SKIP LOCKED)
       RETURNING id::int AS id, environment_id AS "environmentId", operation, success, provider_config_key AS "providerConfigKey", provider,
         connection_id AS "connectionId", auth_mode AS "authMode", end_user_id AS "endUserId", error, attempts`,
      [limit, leaseMs],
    );
    return rows.map(({ error, ...event }) => ({ ...event, ...(error ? { error } : {}) })).sort((a, b) => a.id - b.id);
  }

  /** Removes a handled event. */
  async done(id: number): Promise<void> {
    await this.db.query('DELETE FROM auth_events WHERE id = $1', [id]);
  }

  /** A failed event is due again in `delayMs`, one attempt more. */
  async retry(id: number, delayMs: number): Promise<void> {
    await this.db.query(`UPDATE auth_events SET attempts = attempts + 1, not_before = now() + $2 * interval '1 millisecond' WHERE id = $1`, [id, delayMs]);
  }
}
