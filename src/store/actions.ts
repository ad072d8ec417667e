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
  attempts: r.attempts,
  output: r.output,
  error: r.error,
  createdAt: new Date(r.created_at),
  finishedAt: r.finished_at ? new Date(r.finished_at) : null,
});

/** Action calls and their results (sync callers read them once the workflow ends; async ones by id). */
export class ActionRunStore {
  constructor(private readonly db: Db) {}

  async create(run: { id: string; environmentId: number; integration: string; connectionId: string; action: string }): Promise<void> {
    await this.db.query('INSERT INTO action_runs (id, environment_id, integration_key, connection_id, action_name) VALUES ($1, $2, $3, $4, $5)', [
      run.id,
      run.environmentId,
      run.integration,
      run.connectionId,
      run.action,
    ]);
  }

  /** Records one attempt: its result when final (its logs and an outcome line to the `logs` table), otherwise only the attempt count. */
  async attempt(id: string, outcome: { final: false } | { final: true; output: unknown; logs: unknown[] } | { final: true; error: ActionRunError; logs: unknown[] }): Promise<void> {
    if (!outcome.final) {
      await this.db.query('UPDATE action_runs SET attempts = attempts + 1 WHERE id = $1', [id]);
      return;
    }
    const success = 'output' in outcome;
    const ended = await this.db.transaction(async (tx) => {
      const { rows } = await tx.query<ActionRunRow>(
        `UPDATE action_runs SET attempts = attempts + 1, status = $2, output = $3::jsonb, error = $4::jsonb, finished_at = now() WHERE id = $1 RETURNING *`,
        [id, success ? 'SUCCESS' : 'ERROR', success ? toJsonb(outcome.output ?? null) : null, success ? null : toJsonb(outcome.error)],
      );
      return rows[0] ? recordActionRunEnd(tx, rows[0], outcome.logs) : undefined;
    });
    if (ended) emitExecutionEnd(ended);
  }

  /** The run in this environment, or null. */
  async get(environmentId: number, id: string): Promise<ActionRun | null> {
    if (!/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(id)) return null;
    const { rows } = await this.db.query<ActionRunRow>('SELECT * FROM action_runs WHERE id = $1 AND environment_id = $2', [id, environmentId]);
    return rows[0] ? toRun(rows[0]) : null;
  }
}
