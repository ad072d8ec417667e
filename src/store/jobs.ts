import type { RecordCounts } from '../types';
import type { CheckpointRange } from './checkpoints';
import { takeXactLock, type Db, type Queryable } from './db';
import { Outbox, type DeadEvent } from './outbox';
import { syncWebhookRulesSql, type SyncWebhookRules } from './webhooks';
import { resultPlus, writersLock } from './records';
import { emitExecutionEnd, insertLogsSql, jobOutcomeSql, logChunks, recordSyncJobEnd, refParams, syncJobEnd, type ExecutionEnd, type SyncJobRef } from './logs';

/** One sync of one connection (and variant): the entity a sync workflow drives. */
export interface SyncRow {
  id: number;
  connectionPk: number;
  name: string;
  variant: string;
  /** Per-connection override of the script's `runs`, e.g. `every 5 minutes`. */
  frequency: string | null;
  paused: boolean;
}

export type JobStatus = 'RUNNING' | 'SUCCESS' | 'ERROR';

export interface JobError {
  type: string;
  message: string;
}

/** One run of a sync. Retried attempts of the same run (worker crash, timeout) continue the same job. */
export interface Job {
  id: number;
  syncId: number;
  status: JobStatus;
  reset: boolean;
  attempts: number;
  startedAt: Date;
  finishedAt: Date | null;
  result: Record<string, RecordCounts>;
  error: JobError | null;
  /** Where the run took its checkpoint, when it used one (the `checkpoints` of its sync webhooks). */
  checkpoints?: CheckpointRange;
}

/** A job as its end left it; with the run's sync, the environment's rules for its `sync` webhooks then. */
export interface EndedJob extends Job {
  /** Read with the end when it names its sync (`run`); null while the environment has no webhook settings. */
  syncWebhookRules?: SyncWebhookRules | null;
}

export interface LifecycleEvent {
  id: number;
  kind: 'connection_created' | 'connection_deleted';
  environmentId: number;
  /** Null when the environment was deleted meanwhile. */
  environment: string | null;
  integrationKey: string;
  connectionId: string;
  attempts: number;
}

interface JobRow {
  id: number;
  sync_id: number;
  status: JobStatus;
  reset: boolean;
  attempts: number;
  started_at: Date;
  finished_at: Date | null;
  result: Record<string, RecordCounts>;
  error: JobError | null;
  checkpoints: CheckpointRange | null;
}

const toJob = (r: JobRow): Job => ({
  id: r.id,
  syncId: r.sync_id,
  status: r.status,
  reset: r.reset,
  attempts: r.attempts,
  startedAt: new Date(r.started_at),
  finishedAt: r.finished_at ? new Date(r.finished_at) : null,
  result: r.result,
  error: r.error,
  ...(r.checkpoints ? { checkpoints: r.checkpoints } : {}),
});

const SYNC_COLUMNS = 'id, connection_id AS "connectionPk", name, variant, frequency, paused';

/**
 * Syncs, their jobs, the record ids each job saw (for `track_deletes`) and the lifecycle outbox.
 */
export class JobStore {
  private readonly lifecycle: Outbox<LifecycleEvent>;

  constructor(private readonly db: Db) {
    this.lifecycle = new Outbox<LifecycleEvent>(
      db,
      'sync_lifecycle_events',
      `t.id::int AS id, t.kind, t.environment_id AS "environmentId", e.name AS environment, t.integration_key AS "integrationKey",
       t.connection_id AS "connectionId", t.attempts`,
      'LEFT JOIN environments e ON e.id = t.environment_id',
    );
  }

  /** The sync row of (connection, name, variant), created on first use. */
  async ensureSync(connectionPk: number, name: string, variant = 'base'): Promise<SyncRow> {
    const { rows } = await this.db.query<SyncRow>(
      `INSERT INTO syncs (connection_id, name, variant) VALUES ($1, $2, $3)
       ON CONFLICT (connection_id, name, variant) DO UPDATE SET name = excluded.name
       RETURNING ${SYNC_COLUMNS}`,
      [connectionPk, name, variant],
    );
    return rows[0]!;
  }

  /** `ensureSync` for many (connection, name, variant) at once, in one statement. */
  async ensureSyncs(keys: Array<{ connectionPk: number; name: string; variant: string }>): Promise<SyncRow[]> {
    if (keys.length === 0) return [];
    const { rows } = await this.db.query<SyncRow>(
      `INSERT INTO syncs (connection_id, name, variant)
       SELECT * FROM unnest($1::int[], $2::text[], $3::text[])
       ON CONFLICT (connection_id, name, variant) DO UPDATE SET name = excluded.name
       RETURNING ${SYNC_COLUMNS}`,
      [keys.map((k) => k.connectionPk), keys.map((k) => k.name), keys.map((k) => k.variant)],
    );
    return rows;
  }

  /** Creates the sync row of (connection, name, variant); null when it exists already. */
  async createSync(connectionPk: number, name: string, variant: string): Promise<SyncRow | null> {
    const { rows } = await this.db.query<SyncRow>(
      `INSERT INTO syncs (connection_id, name, variant) VALUES ($1, $2, $3) ON CONFLICT (connection_id, name, variant) DO NOTHING RETURNING ${SYNC_COLUMNS}`,
      [connectionPk, name, variant],
    );
    return rows[0] ?? null;
  }

  async findSync(connectionPk: number, name: string, variant: string): Promise<SyncRow | null> {
    const { rows } = await this.db.query<SyncRow>(`SELECT ${SYNC_COLUMNS} FROM syncs WHERE connection_id = $1 AND name = $2 AND variant = $3`, [connectionPk, name, variant]);
    return rows[0] ?? null;
  }

  /** Deletes a sync row with its jobs. */
  async deleteSync(syncId: number): Promise<void> {
    await this.db.query('DELETE FROM syncs WHERE id = $1', [syncId]);
  }

  /** Sync rows of a set of connections (all variants). */
  async syncsOf(connectionPks: number[]): Promise<SyncRow[]> {
    const { rows } = await this.db.query<SyncRow>(`SELECT ${SYNC_COLUMNS} FROM syncs WHERE connection_id = ANY($1::int[]) ORDER BY id`, [connectionPks]);
    return rows;
  }

  async setPaused(syncIds: number[], paused: boolean): Promise<void> {
    await this.db.query('UPDATE syncs SET paused = $2 WHERE id = ANY($1::int[])', [syncIds, paused]);
  }

  async setFrequency(syncId: number, frequency: string | null): Promise<void> {
    await this.db.query('UPDATE syncs SET frequency = $2 WHERE id = $1', [syncId, frequency]);
  }

  /**
   * Starts the job of `runKey` for the sync (connection, name, variant), or continues it when a
   * retried attempt of the same run arrives (`continued`: its earlier attempt committed records, seen
   * ids and checkpoints that stay), in one statement with what the run needs to know of its sync:
   * the row itself, `lastSuccessStart` (when its last successful run started: the incremental
   * `lastSyncDate`) and `openPhases` (models whose trackDeletesStart/End phase is open). Null, with
   * nothing written, when the sync has no row (see `ensureSync`).
   */
  async beginJob(
    sync: { connectionPk: number; name: string; variant: string },
    runKey: string,
    reset: boolean,
    deploymentId: number | null,
  ): Promise<{ sync: SyncRow; job: Job; continued: boolean; lastSuccessStart: Date | null; openPhases: string[] } | null> {
    const { rows } = await this.db.query<JobRow & { continued: boolean; last_success: Date | null; open_phases: string[]; sync: SyncRow }>(
      `WITH s AS (SELECT ${SYNC_COLUMNS} FROM syncs WHERE connection_id = $1 AND name = $2 AND variant = $3),
       j AS (
         INSERT INTO sync_jobs AS j (sync_id, run_key, reset, deployment_id) SELECT s.id, $4, $5, $6 FROM s
         ON CONFLICT (run_key) DO UPDATE SET attempts = j.attempts + 1, status = 'RUNNING', finished_at = NULL, error = NULL
         RETURNING j.*, (xmax <> 0) AS continued
       )
       SELECT j.*, row_to_json(s) AS sync,
         (SELECT started_at FROM sync_jobs WHERE sync_id = s.id AND status = 'SUCCESS' ORDER BY id DESC LIMIT 1) AS last_success,
         ARRAY(SELECT model FROM track_deletes_phases WHERE sync_id = s.id ORDER BY model) AS open_phases
       FROM s JOIN j ON j.sync_id = s.id`,
      [sync.connectionPk, sync.name, sync.variant, runKey, reset, deploymentId],
    );
    const row = rows[0];
    if (!row) return null;
    return {
      sync: row.sync,
      job: toJob(row),
      continued: row.continued,
      lastSuccessStart: row.last_success ? new Date(row.last_success) : null,
      openPhases: row.open_phases,
    };
  }

  /** Remembers that the job saw these record ids (in the transaction `q` that writes them, or before they are written). */
  async markSeen(jobId: number, model: string, externalIds: string[], q: Queryable = this.db): Promise<void> {
    if (externalIds.length === 0) return;
    await q.query('INSERT INTO sync_seen (job_id, model, external_ids) VALUES ($1, $2, $3::text[])', [jobId, model, externalIds]);
  }

  /**
   * `nango.trackDeletesStart`: opens the phase of (sync, model) at job `jobId`, unless one is open
   * already (started by an earlier run that did not reach its end: that one goes on).
   */
  async startDeletesPhase(syncId: number, model: string, jobId: number): Promise<void> {
    await this.db.query('INSERT INTO track_deletes_phases (sync_id, model, started_job_id) VALUES ($1, $2, $3) ON CONFLICT (sync_id, model) DO NOTHING', [syncId, model, jobId]);
  }

  /** Remembers ids saved while the phase of (sync, model) is open (as `markSeen`); nothing when none is. */
  async markPhaseSeen(syncId: number, model: string, externalIds: string[], q: Queryable = this.db): Promise<void> {
    if (externalIds.length === 0) return;
    await q.query(
      'INSERT INTO track_deletes_seen (phase_id, external_ids) SELECT id, $3::text[] FROM track_deletes_phases WHERE sync_id = $1 AND model = $2',
      [syncId, model, externalIds],
    );
  }

  /**
   * `nango.trackDeletesEnd`: soft-deletes the live records of the model that were not saved since
   * the phase started, counts them in job `jobId`'s result and closes the phase, in one transaction.
   * Returns the deleted ids, or null when no phase of (sync, model) is open.
   */
  async endDeletesPhase(syncId: number, model: string, connectionPk: number, jobId: number): Promise<string[] | null> {
    return this.db.transaction(async (tx) => {
      const { rows } = await tx.query<{ id: number }>('SELECT id FROM track_deletes_phases WHERE sync_id = $1 AND model = $2 FOR UPDATE', [syncId, model]);
      if (!rows[0]) return null;
      const deleted = await deleteUnseen(tx, connectionPk, model, { phase: rows[0].id });
      await addCounts(tx, jobId, model, { added: 0, updated: 0, deleted: deleted.length });
      // Its seen ids go with it (ON DELETE CASCADE), so only now.
      await tx.query('DELETE FROM track_deletes_phases WHERE id = $1', [rows[0].id]);
      return deleted;
    });
  }

  /** Closes the sync's open phases without deleting anything (a reset run starts afresh). */
  async clearDeletesPhases(syncId: number): Promise<void> {
    await this.db.query('DELETE FROM track_deletes_phases WHERE sync_id = $1', [syncId]);
  }

  /**
   * Ends a job. A successful one with `deleteUnseen` first marks as deleted, in the same transaction,
   * every live record of those models its job did not see. A failed one deletes nothing. Its logs
   * and an outcome line go to the `logs` table in the same transaction. `run` names the job's sync as
   * its caller knows it (else it is read).
   */
  async finishJob(
    jobId: number,
    outcome: ({ success: true; connectionPk: number; deleteUnseen: string[] } | { success: false; error: JobError }) & {
      logs: unknown[];
      checkpoints?: CheckpointRange | null;
      run?: SyncJobRef;
    },
  ): Promise<EndedJob> {
    const status = outcome.success ? 'SUCCESS' : 'ERROR';
    const end = [jobId, status, outcome.success ? null : outcome.error, outcome.checkpoints ? JSON.stringify(outcome.checkpoints) : null];
    // The CTEs that end the row (as `ended`) and drop its seen ids (a DELETE in a WITH runs whether or not it is read).
    const endJob = (id: string, status: string, error: string, checkpoints: string) =>
      `seen AS (DELETE FROM sync_seen WHERE job_id = ${id}),
       ended AS (UPDATE sync_jobs SET status = ${status}, error = ${error}, checkpoints = ${checkpoints}::jsonb, finished_at = clock_timestamp() WHERE id = ${id} RETURNING *)`;
    const chunks = logChunks(outcome.logs);
    const deletes = outcome.success ? outcome.deleteUnseen : [];
    let job: EndedJob;
    let ended: ExecutionEnd;
    const withRules = (row: JobRow & { sync_webhook_rules?: SyncWebhookRules | null }): EndedJob =>
      outcome.run ? { ...toJob(row), syncWebhookRules: row.sync_webhook_rules ?? null } : toJob(row);
    if (outcome.run && deletes.length === 0 && chunks.length === 1) {
      // The usual end in one statement: the row, its lines and its outcome line (from the row as it ends).
      const { rows } = await this.db.query<JobRow>(
        `WITH ${endJob('$8', '$9', '$10', '$11')},
         lines AS (${insertLogsSql(jobOutcomeSql('ended'))})
         SELECT *, ${syncWebhookRulesSql('$1')} FROM ended`,
        [...refParams({ ...outcome.run, operation: 'sync', jobId: String(jobId) }), chunks[0], ...end],
      );
      job = withRules(rows[0]!);
      ended = syncJobEnd(job, outcome.run);
    } else {
      [job, ended] = await this.db.transaction(async (tx) => {
        if (outcome.success) {
          for (const model of outcome.deleteUnseen) {
            const deleted = await deleteUnseen(tx, outcome.connectionPk, model, { job: jobId });
            await addCounts(tx, jobId, model, { added: 0, updated: 0, deleted: deleted.length });
          }
        }
        const rules = outcome.run ? { sql: `, ${syncWebhookRulesSql('$5')}`, params: [outcome.run.environmentId] } : { sql: '', params: [] };
        const { rows } = await tx.query<JobRow>(`WITH ${endJob('$1', '$2', '$3', '$4')} SELECT *${rules.sql} FROM ended`, [...end, ...rules.params]);
        const finished = withRules(rows[0]!);
        return [finished, await recordSyncJobEnd(tx, finished, outcome.logs, outcome.run)] as const;
      });
    }
    emitExecutionEnd(ended);
    return job;
  }

  /** Ends, as ERROR, the job of a run whose attempts all died (crashes, timeouts) before it could end it itself. */
  async abandonJob(runKey: string, error: JobError): Promise<void> {
    const ended = await this.db.transaction(async (tx) => {
      const { rows } = await tx.query<JobRow>(
        `UPDATE sync_jobs SET status = 'ERROR', error = $2, finished_at = clock_timestamp() WHERE run_key = $1 AND status = 'RUNNING' RETURNING *`,
        [runKey, error],
      );
      if (!rows[0]) return undefined;
      await tx.query('DELETE FROM sync_seen WHERE job_id = $1', [rows[0].id]);
      return recordSyncJobEnd(tx, toJob(rows[0]), []);
    });
    if (ended) emitExecutionEnd(ended);
  }

  /**
   * Ends, as ERROR, a job whose run was cancelled (its workflow stopped), unless a later attempt
   * has taken it over meanwhile (`attempts` moved on) or it has ended already.
   */
  async cancelJob(jobId: number, attempts: number, error: JobError, logs: unknown[]): Promise<void> {
    const ended = await this.db.transaction(async (tx) => {
      const { rows } = await tx.query<JobRow>(
        `UPDATE sync_jobs SET status = 'ERROR', error = $3, finished_at = clock_timestamp()
         WHERE id = $1 AND attempts = $2 AND status = 'RUNNING' RETURNING *`,
        [jobId, attempts, error],
      );
      if (!rows[0]) return undefined;
      await tx.query('DELETE FROM sync_seen WHERE job_id = $1', [jobId]);
      return recordSyncJobEnd(tx, toJob(rows[0]), logs);
    });
    if (ended) emitExecutionEnd(ended);
  }

  /** When the last successful run started: the incremental `lastSyncDate`. */
  async lastSuccessStart(syncId: number): Promise<Date | null> {
    const { rows } = await this.db.query<{ started_at: Date }>(
      `SELECT started_at FROM sync_jobs WHERE sync_id = $1 AND status = 'SUCCESS' ORDER BY id DESC LIMIT 1`,
      [syncId],
    );
    return rows[0] ? new Date(rows[0].started_at) : null;
  }

  async job(jobId: number): Promise<Job | null> {
    const { rows } = await this.db.query<JobRow>('SELECT * FROM sync_jobs WHERE id = $1', [jobId]);
    return rows[0] ? toJob(rows[0]) : null;
  }

  /** The job of a run, by the run key `runSync` gave it (see `syncRunKey`). */
  async jobByRunKey(runKey: string): Promise<Job | null> {
    const { rows } = await this.db.query<JobRow>('SELECT * FROM sync_jobs WHERE run_key = $1', [runKey]);
    return rows[0] ? toJob(rows[0]) : null;
  }

  /** Jobs of a sync, newest first. */
  async jobs(syncId: number, limit = 20): Promise<Job[]> {
    const { rows } = await this.db.query<JobRow>('SELECT * FROM sync_jobs WHERE sync_id = $1 ORDER BY id DESC LIMIT $2', [syncId, limit]);
    return rows.map(toJob);
  }

  /** The newest job of each sync, and its newest finished one. */
  async latestJobs(syncIds: number[]): Promise<Map<number, { latest: Job; lastFinished: Job | null }>> {
    const { rows } = await this.db.query<JobRow & { kind: 'latest' | 'finished' }>(
      `SELECT * FROM (
         SELECT DISTINCT ON (sync_id) *, 'latest' AS kind FROM sync_jobs WHERE sync_id = ANY($1::int[]) ORDER BY sync_id, id DESC
       ) l
       UNION ALL
       SELECT * FROM (
         SELECT DISTINCT ON (sync_id) *, 'finished' AS kind FROM sync_jobs WHERE sync_id = ANY($1::int[]) AND status <> 'RUNNING' ORDER BY sync_id, id DESC
       ) f`,
      [syncIds],
    );
    const out = new Map<number, { latest: Job; lastFinished: Job | null }>();
    for (const row of rows.filter((r) => r.kind === 'latest')) out.set(row.sync_id, { latest: toJob(row), lastFinished: null });
    for (const row of rows.filter((r) => r.kind === 'finished')) out.get(row.sync_id)!.lastFinished = toJob(row);
    return out;
  }

  /** Takes up to `limit` due lifecycle events; one that fails comes back through `retryEvent`. */
  /**
   * Up to `limit` due lifecycle events, oldest first, leased (see Outbox): `eventDone` removes a
   * handled one, `retryEvent` brings a failed one back later.
   */
  takeEvents(limit = 100): Promise<LifecycleEvent[]> {
    return this.lifecycle.take(limit);
  }

  eventDone(event: LifecycleEvent): Promise<void> {
    return this.lifecycle.done(event.id);
  }

  retryEvent(event: LifecycleEvent, delayMs: number, error?: string): Promise<void> {
    return this.lifecycle.retry(event.id, delayMs, error);
  }

  /** The environment's lifecycle events that failed too often and wait for an operator. */
  deadEvents(environmentId: number): Promise<DeadEvent[]> {
    return this.lifecycle.dead(environmentId);
  }

  /** Sends a dead lifecycle event through again; false when the environment has no such dead event. */
  reviveEvent(environmentId: number, id: number): Promise<boolean> {
    return this.lifecycle.revive(environmentId, id);
  }
}

/** Adds counts to a job's result (in `q`'s transaction, when it is one). */
async function addCounts(q: Queryable, jobId: number, model: string, counts: RecordCounts): Promise<void> {
  if (counts.added + counts.updated + counts.deleted === 0) return;
  await q.query(`UPDATE sync_jobs SET result = ${resultPlus('$2', 'c')} FROM (SELECT $3::int AS added, $4::int AS updated, $5::int AS deleted) AS c WHERE id = $1`, [
    jobId,
    model,
    counts.added,
    counts.updated,
    counts.deleted,
  ]);
}

/**
 * Soft-deletes the live records of (connection, model) whose ids were not seen: by job `job` (a
 * `track_deletes` run) or during `phase` (`trackDeletesStart/End`). Returns the deleted ids.
 */
async function deleteUnseen(tx: Queryable, connectionPk: number, model: string, seenBy: { job: number } | { phase: number }): Promise<string[]> {
  // Same lock and clock rule as RecordStore's writes: cursor order stays commit order.
  await takeXactLock(tx, writersLock(connectionPk, model));
  const seen =
    'job' in seenBy
      ? 'SELECT DISTINCT unnest(external_ids) AS external_id FROM sync_seen WHERE job_id = $3 AND model = $2'
      : 'SELECT DISTINCT unnest(external_ids) AS external_id FROM track_deletes_seen WHERE phase_id = $3';
  const { rows } = await tx.query<{ external_id: string }>(
    `WITH ts AS (SELECT greatest(clock_timestamp(), (SELECT max(last_modified_at) + interval '1 microsecond'
       FROM records WHERE connection_id = $1 AND model = $2)) AS now),
     seen AS (${seen})
     UPDATE records r SET deleted_at = ts.now, last_modified_at = ts.now, last_action = 'DELETED'
     FROM ts
     WHERE r.connection_id = $1 AND r.model = $2 AND r.deleted_at IS NULL
       AND NOT EXISTS (SELECT 1 FROM seen WHERE seen.external_id = r.external_id)
     RETURNING r.external_id`,
    [connectionPk, model, 'job' in seenBy ? seenBy.job : seenBy.phase],
  );
  return rows.map((r) => r.external_id);
}
