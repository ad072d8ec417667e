import type { Db } from './db';

export type Checkpoint = Record<string, unknown>;

/**
 * The checkpoint an execution first found and the last one it left (null: none, or cleared), as
 * Nango's sync webhooks report them. An execution that never touched its checkpoint has no range.
 */
export interface CheckpointRange {
  from: Checkpoint | null;
  to: Checkpoint | null;
}

/**
 * Script checkpoints in Postgres, for the executions of one connection. Each save commits, so a
 * retried attempt of a run (worker crash, timeout) reads the last one and resumes from there.
 *
 * @example
 * const checkpoints = new PgCheckpointStore(store.db, connection.id);
 * await runScript({ ...request, services: { ...services, checkpoints } });
 */
// Satisfies the runtime's CheckpointStore by shape: the store knows nothing of scripts.
export class PgCheckpointStore {
  constructor(
    private readonly db: Db,
    private readonly connectionPk: number,
  ) {}

  async get(key: string): Promise<Record<string, unknown> | null> {
    const { rows } = await this.db.query<{ checkpoint: Record<string, unknown> }>('SELECT checkpoint FROM checkpoints WHERE key = $1', [key]);
    return rows[0]?.checkpoint ?? null;
  }

  async save(key: string, checkpoint: Record<string, unknown>): Promise<void> {
    await this.db.query(
      `INSERT INTO checkpoints (key, connection_id, checkpoint) VALUES ($1, $2, $3::jsonb)
       ON CONFLICT (key) DO UPDATE SET checkpoint = excluded.checkpoint, updated_at = now()`,
      [key, this.connectionPk, JSON.stringify(checkpoint)],
    );
  }

  async clear(key: string): Promise<void> {
    await this.db.query('DELETE FROM checkpoints WHERE key = $1', [key]);
  }

  /** The checkpoint key the runtime uses for a sync (see HelperHost.checkpointKey). */
  static syncKey(environment: string, integration: string, connectionId: string, sync: string, variant = 'base'): string {
    return [environment, integration, connectionId, sync, variant].join(':');
  }
}
