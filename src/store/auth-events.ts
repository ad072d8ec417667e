import type { Db, Queryable } from './db';
import { Outbox, type DeadEvent } from './outbox';

/** What happened to a connection's authorisation: the `auth` webhook's content (see providers/events). */
export interface AuthEvent {
  operation: 'creation' | 'override' | 'refresh';
  success: boolean;
  environmentId: number;
  providerConfigKey: string;
  provider: string;
  connectionId: string;
  authMode: string;
  /** The end user of the connect session, when there was one. */
  endUserId?: string | null;
  error?: { type: string; description: string };
}

/** An `auth` event waiting in the outbox to become `auth` webhooks. */
export interface QueuedAuthEvent extends AuthEvent {
  id: number;
  /** Failed attempts at turning it into webhooks so far. */
  attempts: number;
}

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
  private readonly outbox: Outbox<AuthEventRow>;

  constructor(db: Db) {
    this.outbox = new Outbox<AuthEventRow>(
      db,
      'auth_events',
      `t.id::int AS id, t.environment_id AS "environmentId", t.operation, t.success, t.provider_config_key AS "providerConfigKey", t.provider,
       t.connection_id AS "connectionId", t.auth_mode AS "authMode", t.end_user_id AS "endUserId", t.error, t.attempts`,
    );
  }

  /** Up to `limit` due events, oldest first, leased so no other drain takes them meanwhile. */
  async take(limit = 100): Promise<QueuedAuthEvent[]> {
    return (await this.outbox.take(limit)).map(({ error, ...event }) => ({ ...event, ...(error ? { error } : {}) }));
  }

  /** Removes a handled event. */
  done(id: number): Promise<void> {
    return this.outbox.done(id);
  }

  /** A failed event is due again in `delayMs`, one attempt more (dead after OUTBOX_MAX_ATTEMPTS). */
  retry(id: number, delayMs: number, error?: string): Promise<void> {
    return this.outbox.retry(id, delayMs, error);
  }

  /** The environment's events that failed too often and wait for an operator. */
  dead(environmentId: number): Promise<DeadEvent[]> {
    return this.outbox.dead(environmentId);
  }

  /** Sends a dead event through again; false when the environment has no such dead event. */
  revive(environmentId: number, id: number): Promise<boolean> {
    return this.outbox.revive(environmentId, id);
  }
}
