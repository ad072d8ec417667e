import type { Db } from './db';

/** The channel an outbox's new rows are announced on (migration 036), with their schema as payload. */
const OUTBOX_CHANNEL = 'syncline_outbox';

/**
 * Calls `onWrite` when rows are added to an outbox of this database's schema, by any process, and
 * when missed announcements may have been (the listening connection was lost); until stopped.
 */
export async function onOutboxWrite(db: Db, onWrite: () => void): Promise<() => Promise<void>> {
  // Other schemas of the database announce on the same channel; until this one is known (the
  // database was away), every announcement wakes the drain: a drain too many costs one statement.
  let schema: string | undefined;
  const learnSchema = () =>
    db.query<{ schema: string }>('SELECT current_schema() AS schema').then(
      ({ rows }) => void (schema = rows[0]?.schema),
      () => undefined,
    );
  await learnSchema();
  return db.listen(OUTBOX_CHANNEL, (payload) => {
    if (schema === undefined) void learnSchema();
    if (payload === '' || schema === undefined || payload === schema) onWrite();
  });
}

/** How long a taken row is hidden from other drains: after that (its drain died) it is due again. */
export const OUTBOX_LEASE_MS = 60_000;

/**
 * Failed attempts after which a row is set aside (dead) instead of retried: with the orchestrator's
 * back-off (1 s doubling, at most a minute) about a quarter of an hour of trying.
 */
export const OUTBOX_MAX_ATTEMPTS = 20;

/** A row set aside after OUTBOX_MAX_ATTEMPTS failures, as an operator sees it. */
export interface DeadEvent {
  id: number;
  attempts: number;
  lastError: string | null;
  createdAt: Date;
  deadAt: Date;
  /** The row's own columns (what happened to which connection). */
  event: Record<string, unknown>;
}

/** Columns every outbox table has, left out of DeadEvent.event. */
const BOOKKEEPING = ['id', 'environment_id', 'attempts', 'not_before', 'created_at', 'dead_at', 'last_error'];

/**
 * Draining of an outbox table (`id`, `attempts`, `not_before`): rows written with the change they
 * report, taken by a lease rather than deleted, and deleted once handled. A drain that dies loses
 * nothing: its rows are due again when their lease ends (so handlers must tolerate a second go).
 * A row that failed OUTBOX_MAX_ATTEMPTS times is dead: no drain takes it until `revive`.
 *
 * @example
 * const outbox = new Outbox<Event>(db, 'auth_events', 't.id::int AS id, t.attempts, ...');
 * for (const event of await outbox.take(100)) await handle(event).then(() => outbox.done(event.id), () => outbox.retry(event.id, 1000));
 */
export class Outbox<T extends { id: number }> {
  constructor(
    private readonly db: Db,
    private readonly table: string,
    /** The select list over the taken rows `t` (and what `join` adds). */
    private readonly select: string,
    /** Joined to the taken rows, e.g. `LEFT JOIN environments e ON e.id = t.environment_id`. */
    private readonly join = '',
  ) {}

  /** Up to `limit` due rows, oldest first, leased for `leaseMs`. */
  async take(limit: number, leaseMs = OUTBOX_LEASE_MS): Promise<T[]> {
    const { rows } = await this.db.query<T>(
      `WITH taken AS (
         UPDATE ${this.table} SET not_before = now() + $2 * interval '1 millisecond'
         WHERE id IN (SELECT id FROM ${this.table} WHERE not_before <= now() AND dead_at IS NULL ORDER BY id LIMIT $1 FOR UPDATE SKIP LOCKED)
         RETURNING *)
       SELECT ${this.select} FROM taken t ${this.join}`,
      [limit, leaseMs],
    );
    return rows.sort((a, b) => a.id - b.id);
  }

  /** Removes a handled row. */
  async done(id: number): Promise<void> {
    await this.db.query(`DELETE FROM ${this.table} WHERE id = $1`, [id]);
  }

  /** A failed row is due again in `delayMs`, one attempt more; at OUTBOX_MAX_ATTEMPTS it is dead instead. */
  async retry(id: number, delayMs: number, error?: string): Promise<void> {
    await this.db.query(
      `UPDATE ${this.table} SET attempts = attempts + 1, not_before = now() + $2 * interval '1 millisecond', last_error = $3,
         dead_at = CASE WHEN attempts + 1 >= $4 THEN now() END
       WHERE id = $1`,
      [id, delayMs, error?.slice(0, 2000) ?? null, OUTBOX_MAX_ATTEMPTS],
    );
  }

  /** The environment's dead rows, oldest first. */
  async dead(environmentId: number, limit = 1000): Promise<DeadEvent[]> {
    const { rows } = await this.db.query<DeadEvent>(
      `SELECT t.id::int AS id, t.attempts, t.last_error AS "lastError", t.created_at AS "createdAt", t.dead_at AS "deadAt",
         to_jsonb(t) - $3::text[] AS event
       FROM ${this.table} t WHERE t.environment_id = $1 AND t.dead_at IS NOT NULL ORDER BY t.id LIMIT $2`,
      [environmentId, limit, BOOKKEEPING],
    );
    return rows.map((r) => ({ ...r, createdAt: new Date(r.createdAt), deadAt: new Date(r.deadAt) }));
  }

  /** Makes a dead row of the environment due now with a fresh count of attempts; false when there is none. */
  async revive(environmentId: number, id: number): Promise<boolean> {
    const { rows } = await this.db.query(
      `UPDATE ${this.table} SET dead_at = NULL, attempts = 0, not_before = now() WHERE id = $1 AND environment_id = $2 AND dead_at IS NOT NULL RETURNING id`,
      [id, environmentId],
    );
    return rows.length > 0;
  }
}
