import type { Db } from './db';
import { emitExecutionEnd, recordActionRunEnd } from './logs';
import { toJsonb } from './records';

export interface ActionRunError {
  type: string;
  message: string;
  payload?: unknown;
}

export interface ActionRun {
  id: string;
  environmentId: number;
  integration: string;
  connectionId: string;
  action: string;
  status: 'RUNNING' | 'SUCCESS' | 'ERROR';
  /** Called with `X-Async`: its end sends an `async_action` webhook. */
  async: boolean;
  attempts: number;
  output: unknown;
  error: ActionRunError | null;
  createdAt: Date;
  finishedAt: Date | null;
}

interface ActionRunRow {
  id: string;
  environment_id: number;
  integration_key: string;
  connection_id: string;
  action_name: string;
  status: ActionRun['status'];
  async: boolean;
  attempts: number;
  output: unknown;
  error: ActionRunError | null;
  created_at: Date;
  finished_at: Date | null;
}

const toRun = (r: ActionRunRow): ActionRun => ({
  id: r.id,
  environmentId: r.environment_id,
  integration: r.integration_key,
  connectionId: r.connection_id,
  action: r.action_name,
  status: r.status,
  async: r.async,
  attempts: r.attempts,
  output: r.output,
  error: r.error,
  createdAt: new Date(r.created_at),
  finishedAt: r.finished_at ? new Date(r.finished_at) : null,
});

/** Action calls and their results (sync callers read them once the workflow ends; async ones by id). */
export class ActionRunStore {
  constructor(private readonly db: Db) {}

  async create(run: { id: string; environmentId: number; integration: string; connectionId: string; action: string; async: boolean }): Promise<void> {
    await this.db.query('INSERT INTO action_runs (id, environment_id, integration_key, connection_id, action_name, async) VALUES ($1, $2, $3, $4, $5, $6)', [
      run.id,
      run.environmentId,
      run.integration,
      run.connectionId,
      run.action,
      run.async,
    ]);
  }

  /**
   * Records one attempt: its result when final (its logs and an outcome line to the `logs` table),
   * otherwise only the attempt count. A run already ended (by an earlier attempt whose completion was
   * lost, or by `abandon`) keeps its outcome: returns whether this call ended it.
   */
  async attempt(id: string, outcome: { final: false } | { final: true; output: unknown; logs: unknown[] } | { final: true; error: ActionRunError; logs: unknown[] }): Promise<boolean> {
    if (!outcome.final) {
      await this.db.query("UPDATE action_runs SET attempts = attempts + 1 WHERE id = $1 AND status = 'RUNNING'", [id]);
      return false;
    }
    const success = 'output' in outcome;
    return this.end(id, 'attempts = attempts + 1, ', success ? { status: 'SUCCESS', output: outcome.output ?? null, error: null } : { status: 'ERROR', output: null, error: outcome.error }, outcome.logs);
  }

  /** Ends a run still RUNNING as failed without counting an attempt (its workflow ended without recording one); returns whether this call ended it. */
  async abandon(id: string, error: ActionRunError): Promise<boolean> {
    return this.end(id, '', { status: 'ERROR', output: null, error }, []);
  }

  /**
   * Runs RUNNING for over `olderThanMs` since they started or were last taken here, oldest first,
   * with their environment's name; taking them stamps them, so concurrent callers (other processes)
   * take different runs and a run comes back only `olderThanMs` later.
   */
  async takeUnfinished(olderThanMs: number, limit: number): Promise<Array<ActionRun & { environment: string }>> {
    const { rows } = await this.db.query<ActionRunRow & { environment: string }>(
      `WITH due AS (
         SELECT id FROM action_runs
         WHERE status = 'RUNNING' AND coalesce(checked_at, created_at) < now() - make_interval(secs => $1::float8 / 1000)
         ORDER BY coalesce(checked_at, created_at) LIMIT $2 FOR UPDATE SKIP LOCKED
       )
       UPDATE action_runs a SET checked_at = now() FROM due, environments e
       WHERE a.id = due.id AND e.id = a.environment_id
       RETURNING a.*, e.name AS environment`,
      [olderThanMs, limit],
    );
    return rows.map((r) => ({ ...toRun(r), environment: r.environment }));
  }

  private async end(id: string, counting: string, result: { status: 'SUCCESS' | 'ERROR'; output: unknown; error: ActionRunError | null }, logs: unknown[]): Promise<boolean> {
    const ended = await this.db.transaction(async (tx) => {
      const { rows } = await tx.query<ActionRunRow>(
        `UPDATE action_runs SET ${counting}status = $2, output = $3::jsonb, error = $4::jsonb, finished_at = now() WHERE id = $1 AND status = 'RUNNING' RETURNING *`,
        [id, result.status, result.status === 'SUCCESS' ? toJsonb(result.output) : null, result.error ? toJsonb(result.error) : null],
      );
      return rows[0] ? recordActionRunEnd(tx, rows[0], logs) : undefined;
    });
    if (ended) emitExecutionEnd(ended);
    return ended !== undefined;
  }

  /** The run in this environment, or null. */
  async get(environmentId: number, id: string): Promise<ActionRun | null> {
    if (!/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(id)) return null;
    const { rows } = await this.db.query<ActionRunRow>('SELECT * FROM action_runs WHERE id = $1 AND environment_id = $2', [id, environmentId]);
    return rows[0] ? toRun(rows[0]) : null;
  }
}
