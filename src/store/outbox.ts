import type { Db } from './db';

/** How long a taken row is hidden from other drains: after that (its drain died) it is due again. */
export const OUTBOX_LEASE_MS = 60_000;

/**
 * Draining of an outbox table (`id`, `attempts`, `not_before`): rows written with the change they
 * report, taken by a lease rather than deleted, and deleted once handled. A drain that dies loses
 * nothing: its rows are due again when their lease ends (so handlers must tolerate a second go).
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
         WHERE id IN (SELECT id FROM ${this.table} WHERE not_before <= now() ORDER BY id LIMIT $1 FOR UPDATE SKIP LOCKED)
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

  /** A failed row is due again in `delayMs`, one attempt more. */
  async retry(id: number, delayMs: number): Promise<void> {
    await this.db.query(`UPDATE ${this.table} SET attempts = attempts + 1, not_before = now() + $2 * interval '1 millisecond' WHERE id = $1`, [id, delayMs]);
  }
}
