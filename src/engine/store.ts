import type { Queryable } from '../store/db';
import type { RunState } from './interfaces';

/** All SQL of the engine. Each function takes the transaction (or database) to run on. */

export interface RunRow {
  run_id: string;
  namespace: string;
  workflow_id: string;
  workflow_type: string;
  task_queue: string;
  status: number;
  start_time: number;
  execution_time: number;
  close_time: number | null;
  history_length: number;
  first_run_id: string;
  start_request_id: string | null;
  parent_workflow_id: string | null;
  parent_run_id: string | null;
  search_attributes: Uint8Array | null;
  memo: Uint8Array | null;
  state: RunState;
}

export interface RunWrite {
  state: RunState;
  closeTime?: number;
  executionTime?: number;
  keywords?: Record<string, unknown>;
  searchAttributes?: Buffer | null;
  memo?: Buffer | null;
}

const RUN_COLUMNS = `run_id, namespace, workflow_id, workflow_type, task_queue, status, start_time, execution_time, close_time,
  history_length, first_run_id, start_request_id, parent_workflow_id, parent_run_id, search_attributes, memo, state`;

export async function insertRun(q: Queryable, w: RunWrite): Promise<void> {
  const s = w.state;
  await q.query(
    `INSERT INTO engine_runs (run_id, namespace, workflow_id, workflow_type, task_queue, status, start_time, execution_time,
       history_length, first_run_id, start_request_id, parent_workflow_id, parent_run_id, keywords, search_attributes, memo, state)
     VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12,$13,$14,$15,$16,$17)`,
    [
      s.runId, s.namespace, s.workflowId, s.workflowType, s.taskQueue, s.status, s.startTime, w.executionTime ?? s.startTime,
      s.nextEventId - 1, s.firstRunId, s.startRequestId ?? null, s.parent?.workflowId ?? null, s.parent?.runId ?? null,
      JSON.stringify(w.keywords ?? {}), w.searchAttributes ?? null, w.memo ?? null, JSON.stringify(s),
    ],
  );
}

/**
 * Updates many runs in one statement. Columns a write leaves undefined keep their value
 * (`close_time`, `keywords`, `search_attributes`, `memo`).
 */
export async function updateRuns(q: Queryable, writes: RunWrite[]): Promise<void> {
  const perChunk = 2000;
  for (let i = 0; i < writes.length; i += perChunk) {
    const params: unknown[] = [];
    const p = (v: unknown, cast: string) => `$${params.push(v)}::${cast}`;
    const values = writes.slice(i, i + perChunk).map((w) => {
      const s = w.state;
      return `(${[
        p(s.runId, 'text'),
        p(s.status, 'int2'),
        p(s.nextEventId - 1, 'int4'),
        p(JSON.stringify(s), 'jsonb'),
        p(w.closeTime ?? null, 'float8'),
        p(w.keywords !== undefined, 'bool'),
        p(w.keywords !== undefined ? JSON.stringify(w.keywords) : null, 'jsonb'),
        p(w.searchAttributes !== undefined, 'bool'),
        p(w.searchAttributes ?? null, 'bytea'),
        p(w.memo !== undefined, 'bool'),
        p(w.memo ?? null, 'bytea'),
      ].join(', ')})`;
    });
    await q.query(
      `UPDATE engine_runs r SET status = u.status, history_length = u.history_length, state = u.state,
         close_time = COALESCE(u.close_time, r.close_time),
         keywords = CASE WHEN u.set_keywords THEN u.keywords ELSE r.keywords END,
         search_attributes = CASE WHEN u.set_sa THEN u.sa ELSE r.search_attributes END,
         memo = CASE WHEN u.set_memo THEN u.memo ELSE r.memo END
       FROM (VALUES ${values.join(', ')}) AS u(run_id, status, history_length, state, close_time, set_keywords, keywords, set_sa, sa, set_memo, memo)
       WHERE r.run_id = u.run_id`,
      params,
    );
  }
}

export async function getRun(q: Queryable, runId: string): Promise<RunRow | undefined> {
  const { rows } = await q.query<RunRow>(`SELECT ${RUN_COLUMNS} FROM engine_runs WHERE run_id = $1`, [runId]);
  return rows[0];
}

/** The newest run of a workflow id (the open one when there is one). */
export async function currentRun(q: Queryable, namespace: string, workflowId: string): Promise<RunRow | undefined> {
  const { rows } = await q.query<RunRow>(
    `SELECT ${RUN_COLUMNS} FROM engine_runs WHERE namespace = $1 AND workflow_id = $2 ORDER BY status = 1 DESC, seq DESC LIMIT 1`,
    [namespace, workflowId],
  );
  return rows[0];
}

export async function openRunStates(q: Queryable): Promise<RunState[]> {
  const { rows } = await q.query<{ state: RunState }>('SELECT state FROM engine_runs WHERE status = 1');
  return rows.map((r) => r.state);
}

/** Multi-row INSERT in chunks that stay under Postgres' parameter limit. */
async function insertRows(q: Queryable, table: string, columns: string[], rows: unknown[][]): Promise<void> {
  const perChunk = Math.floor(30_000 / columns.length);
  for (let i = 0; i < rows.length; i += perChunk) {
    const params: unknown[] = [];
    const values = rows.slice(i, i + perChunk).map((row) => `(${row.map((v) => `$${params.push(v)}`).join(', ')})`);
    await q.query(`INSERT INTO ${table} (${columns.join(', ')}) VALUES ${values.join(', ')}`, params);
  }
}

export async function insertEvents(q: Queryable, events: { runId: string; id: number; data: Buffer }[]): Promise<void> {
  await insertRows(q, 'engine_events', ['run_id', 'event_id', 'data'], events.map((e) => [e.runId, e.id, e.data]));
}

export async function readEvents(q: Queryable, runId: string, fromId: number, limit: number): Promise<{ event_id: number; data: Uint8Array }[]> {
  const { rows } = await q.query<{ event_id: number; data: Uint8Array }>(
    'SELECT event_id, data FROM engine_events WHERE run_id = $1 AND event_id >= $2 ORDER BY event_id LIMIT $3',
    [runId, fromId, limit],
  );
  return rows;
}

export async function readEventsReverse(q: Queryable, runId: string, beforeId: number, limit: number): Promise<{ event_id: number; data: Uint8Array }[]> {
  const { rows } = await q.query<{ event_id: number; data: Uint8Array }>(
    'SELECT event_id, data FROM engine_events WHERE run_id = $1 AND event_id < $2 ORDER BY event_id DESC LIMIT $3',
    [runId, beforeId, limit],
  );
  return rows;
}

export async function readEvent(q: Queryable, runId: string, eventId: number): Promise<Uint8Array | undefined> {
  const { rows } = await q.query<{ data: Uint8Array }>('SELECT data FROM engine_events WHERE run_id = $1 AND event_id = $2', [runId, eventId]);
  return rows[0]?.data;
}

export interface TimerRow {
  id: number;
  run_id: string;
  fire_at: number;
  kind: string;
  ref: Record<string, any>;
}

export async function insertTimers(q: Queryable, timers: { runId: string; fireAt: number; kind: string; ref: object }[]): Promise<void> {
  await insertRows(q, 'engine_timers', ['run_id', 'fire_at', 'kind', 'ref'], timers.map((t) => [t.runId, t.fireAt, t.kind, JSON.stringify(t.ref)]));
}

export async function postponeTimer(q: Queryable, id: number, fireAt: number): Promise<void> {
  await q.query('UPDATE engine_timers SET fire_at = $2 WHERE id = $1', [id, fireAt]);
}

export async function deleteTimer(q: Queryable, id: number): Promise<void> {
  await q.query('DELETE FROM engine_timers WHERE id = $1', [id]);
}

export async function deleteTimers(q: Queryable, ids: number[]): Promise<void> {
  if (ids.length === 1) await q.query('DELETE FROM engine_timers WHERE id = $1', [ids[0]]);
  else if (ids.length) await q.query('DELETE FROM engine_timers WHERE id = ANY($1::bigint[])', [ids]);
}

export async function deleteRunTimers(q: Queryable, runIds: string[]): Promise<void> {
  if (runIds.length) await q.query('DELETE FROM engine_timers WHERE run_id = ANY($1::text[])', [runIds]);
}

export async function dueTimers(q: Queryable, until: number, limit: number): Promise<TimerRow[]> {
  const { rows } = await q.query<TimerRow>(
    'SELECT id::float8 AS id, run_id, fire_at, kind, ref FROM engine_timers WHERE fire_at <= $1 ORDER BY fire_at LIMIT $2',
    [until, limit],
  );
  return rows.map((r) => ({ ...r, id: Number(r.id) }));
}

export async function nextTimerAt(q: Queryable): Promise<number | undefined> {
  const { rows } = await q.query<{ at: number | null }>('SELECT min(fire_at) AS at FROM engine_timers');
  return rows[0]?.at ?? undefined;
}

export interface TransferRow {
  id: number;
  run_id: string;
  kind: string;
  data: Record<string, any>;
}

export async function insertTransfers(q: Queryable, runId: string, transfers: { kind: string; data: object }[]): Promise<number[]> {
  const ids: number[] = [];
  for (const t of transfers) {
    const { rows } = await q.query<{ id: number }>(
      'INSERT INTO engine_transfers (run_id, kind, data) VALUES ($1, $2, $3) RETURNING id::float8 AS id',
      [runId, t.kind, JSON.stringify(t.data)],
    );
    ids.push(Number(rows[0].id));
  }
  return ids;
}

export async function pendingTransfers(q: Queryable): Promise<TransferRow[]> {
  const { rows } = await q.query<TransferRow>('SELECT id::float8 AS id, run_id, kind, data FROM engine_transfers ORDER BY id');
  return rows.map((r) => ({ ...r, id: Number(r.id) }));
}

export async function deleteTransfer(q: Queryable, id: number): Promise<void> {
  await q.query('DELETE FROM engine_transfers WHERE id = $1', [id]);
}

export async function getTransfer(q: Queryable, id: number): Promise<TransferRow | undefined> {
  const { rows } = await q.query<TransferRow>('SELECT id::float8 AS id, run_id, kind, data FROM engine_transfers WHERE id = $1', [id]);
  return rows[0] ? { ...rows[0], id: Number(rows[0].id) } : undefined;
}

export async function namespaceRow(q: Queryable, name: string): Promise<{ name: string; id: string; retention_ms: number } | undefined> {
  const { rows } = await q.query<{ name: string; id: string; retention_ms: number }>('SELECT name, id, retention_ms FROM engine_namespaces WHERE name = $1', [name]);
  return rows[0];
}

export async function listNamespaces(q: Queryable): Promise<{ name: string; id: string; retention_ms: number }[]> {
  const { rows } = await q.query<{ name: string; id: string; retention_ms: number }>('SELECT name, id, retention_ms FROM engine_namespaces ORDER BY name');
  return rows;
}

export async function insertNamespace(q: Queryable, name: string, id: string, retentionMs: number): Promise<boolean> {
  const { rowCount } = await q.query('INSERT INTO engine_namespaces (name, id, retention_ms) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING', [name, id, retentionMs]);
  return rowCount > 0;
}

export async function searchAttributeTypes(q: Queryable, namespace: string): Promise<Record<string, number>> {
  const { rows } = await q.query<{ name: string; type: number }>('SELECT name, type FROM engine_search_attributes WHERE namespace = $1', [namespace]);
  return Object.fromEntries(rows.map((r) => [r.name, r.type]));
}

export async function addSearchAttributes(q: Queryable, namespace: string, attrs: Record<string, number>): Promise<void> {
  for (const [name, t] of Object.entries(attrs)) {
    await q.query('INSERT INTO engine_search_attributes (namespace, name, type) VALUES ($1, $2, $3) ON CONFLICT (namespace, name) DO UPDATE SET type = $3', [namespace, name, t]);
  }
}

export async function removeSearchAttributes(q: Queryable, namespace: string, names: string[]): Promise<void> {
  await q.query('DELETE FROM engine_search_attributes WHERE namespace = $1 AND name = ANY($2)', [namespace, names]);
}

/** Deletes up to `limit` runs closed longer ago than their namespace's retention, with their history. */
export async function deleteExpiredRuns(q: Queryable, now: number, limit: number): Promise<number> {
  const { rows } = await q.query<{ n: number }>(
    `WITH old AS (
       SELECT r.run_id FROM engine_runs r JOIN engine_namespaces n ON n.name = r.namespace
       WHERE r.status <> 1 AND r.close_time < $1 - n.retention_ms LIMIT $2
     ), events AS (
       DELETE FROM engine_events e USING old WHERE e.run_id = old.run_id
     ), gone AS (
       DELETE FROM engine_runs r USING old WHERE r.run_id = old.run_id RETURNING 1
     )
     SELECT count(*)::int AS n FROM gone`,
    [now, limit],
  );
  return rows[0].n;
}
