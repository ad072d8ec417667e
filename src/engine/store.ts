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
  /** `state` as stored (JSON), serialised once per write. */
  json: string;
  closeTime?: number;
  executionTime?: number;
  keywords?: Record<string, unknown>;
  searchAttributes?: Buffer | null;
  memo?: Buffer | null;
}

const RUN_COLUMNS = `run_id, namespace, workflow_id, workflow_type, task_queue, status, start_time, execution_time, close_time,
  history_length, first_run_id, start_request_id, parent_workflow_id, parent_run_id, search_attributes, memo, state`;

/** Placeholders for one statement's parameters (`$1`, `$2::jsonb`, ...). */
class Params {
  readonly values: unknown[] = [];
  p(value: unknown, cast?: string): string {
    return `$${this.values.push(value)}${cast ? `::${cast}` : ''}`;
  }
}

const INSERT_RUN_COLUMNS = `run_id, namespace, workflow_id, workflow_type, task_queue, status, start_time, execution_time,
  history_length, first_run_id, start_request_id, parent_workflow_id, parent_run_id, keywords, search_attributes, memo, state`;

function insertRunsSql(ps: Params, writes: RunWrite[]): string {
  const values = writes.map((w) => {
    const s = w.state;
    return `(${[
      s.runId, s.namespace, s.workflowId, s.workflowType, s.taskQueue, s.status, s.startTime, w.executionTime ?? s.startTime,
      s.nextEventId - 1, s.firstRunId, s.startRequestId ?? null, s.parent?.workflowId ?? null, s.parent?.runId ?? null,
      JSON.stringify(w.keywords ?? {}), w.searchAttributes ?? null, w.memo ?? null, w.json,
    ].map((v) => ps.p(v)).join(', ')})`;
  });
  return `INSERT INTO engine_runs (${INSERT_RUN_COLUMNS}) VALUES ${values.join(', ')}`;
}

/**
 * Updates many runs in one statement. Columns a write leaves undefined keep their value
 * (`close_time`, `keywords`, `search_attributes`, `memo`).
 */
function updateRunsSql(ps: Params, writes: RunWrite[]): string {
  const values = writes.map((w) => {
    const s = w.state;
    return `(${[
      ps.p(s.runId, 'text'),
      ps.p(s.status, 'int2'),
      ps.p(s.nextEventId - 1, 'int4'),
      ps.p(w.json, 'jsonb'),
      ps.p(w.closeTime ?? null, 'float8'),
      ps.p(w.keywords !== undefined, 'bool'),
      ps.p(w.keywords !== undefined ? JSON.stringify(w.keywords) : null, 'jsonb'),
      ps.p(w.searchAttributes !== undefined, 'bool'),
      ps.p(w.searchAttributes ?? null, 'bytea'),
      ps.p(w.memo !== undefined, 'bool'),
      ps.p(w.memo ?? null, 'bytea'),
    ].join(', ')})`;
  });
  return `UPDATE engine_runs r SET status = u.status, history_length = u.history_length, state = u.state,
      close_time = COALESCE(u.close_time, r.close_time),
      keywords = CASE WHEN u.set_keywords THEN u.keywords ELSE r.keywords END,
      search_attributes = CASE WHEN u.set_sa THEN u.sa ELSE r.search_attributes END,
      memo = CASE WHEN u.set_memo THEN u.memo ELSE r.memo END
    FROM (VALUES ${values.join(', ')}) AS u(run_id, status, history_length, state, close_time, set_keywords, keywords, set_sa, sa, set_memo, memo)
    WHERE r.run_id = u.run_id`;
}

function insertRowsSql(ps: Params, table: string, columns: string[], rows: unknown[][]): string {
  const values = rows.map((row) => `(${row.map((v) => ps.p(v)).join(', ')})`);
  return `INSERT INTO ${table} (${columns.join(', ')}) VALUES ${values.join(', ')}`;
}

const EVENT_COLUMNS = ['run_id', 'event_id', 'data'];
const TIMER_COLUMNS = ['run_id', 'fire_at', 'kind', 'ref'];
const eventRow = (e: EventWrite) => [e.runId, e.id, e.data];
const timerRow = (t: TimerWrite) => [t.runId, t.fireAt, t.kind, JSON.stringify(t.ref)];

export interface EventWrite {
  runId: string;
  id: number;
  data: Buffer;
}

export interface TimerWrite {
  runId: string;
  fireAt: number;
  kind: string;
  ref: object;
}

/** Everything a batch of transitions writes. */
export interface BatchWrite {
  updates: RunWrite[];
  inserts: RunWrite[];
  events: EventWrite[];
  timers: TimerWrite[];
  deletedTimers: number[];
  closedRuns: string[];
}

/** Stay well under Postgres' limit of 65,535 parameters per statement. */
const MAX_PARAMS = 30_000;

/** The inserted timers with their ids: the engine fires them from memory (Engine.addTimers). */
const TIMER_RETURNING = 'RETURNING id::float8 AS id, run_id, fire_at, kind, ref';
const insertTimersSql = (ps: Params, rows: TimerWrite[]) => `${insertRowsSql(ps, 'engine_timers', TIMER_COLUMNS, rows.map(timerRow))} ${TIMER_RETURNING}`;

/**
 * A whole batch as one statement (data-modifying CTEs): one round trip, atomic without BEGIN and
 * COMMIT. `relaxed` commits without waiting for the WAL flush. Returns the timers it inserted, or
 * undefined, writing nothing, when the batch does not fit in one statement's parameters.
 */
export async function writeBatchStatement(q: Queryable, b: BatchWrite, relaxed: boolean): Promise<TimerRow[] | undefined> {
  const ps = new Params();
  const parts: string[] = [];
  if (b.updates.length) parts.push(updateRunsSql(ps, b.updates));
  if (b.inserts.length) parts.push(insertRunsSql(ps, b.inserts));
  if (b.events.length) parts.push(insertRowsSql(ps, 'engine_events', EVENT_COLUMNS, b.events.map(eventRow)));
  if (b.closedRuns.length) parts.push(`DELETE FROM engine_timers WHERE run_id = ANY(${ps.p(b.closedRuns, 'text[]')})`);
  const timers = b.timers.length ? `w${parts.push(insertTimersSql(ps, b.timers)) - 1}` : undefined;
  if (b.deletedTimers.length) parts.push(`DELETE FROM engine_timers WHERE id = ANY(${ps.p(b.deletedTimers, 'bigint[]')})`);
  if (ps.values.length > MAX_PARAMS) return undefined;
  const ctes = parts.map((part, i) => `w${i} AS (${part})`).join(',\n');
  const inserted = timers ? `, (SELECT json_agg(${timers}) FROM ${timers}) AS timers` : '';
  const { rows } = await q.query<{ timers?: TimerRow[] | null }>(
    `${ctes ? `WITH ${ctes}\n` : ''}SELECT set_config('synchronous_commit', ${ps.p(relaxed ? 'off' : 'on')}, true)${inserted}`,
    ps.values,
  );
  return rows[0]?.timers ?? [];
}

/** The same writes as statements of an open transaction, for batches too large for one statement; returns the timers inserted. */
export async function writeBatchInTransaction(tx: Queryable, b: BatchWrite): Promise<TimerRow[]> {
  await chunked(tx, b.updates, 11, updateRunsSql);
  await chunked(tx, b.inserts, 17, insertRunsSql);
  await chunked(tx, b.events, 3, (ps, rows) => insertRowsSql(ps, 'engine_events', EVENT_COLUMNS, rows.map(eventRow)));
  if (b.closedRuns.length) await tx.query('DELETE FROM engine_timers WHERE run_id = ANY($1::text[])', [b.closedRuns]);
  const timers = await chunked<TimerWrite, TimerRow>(tx, b.timers, 4, insertTimersSql);
  if (b.deletedTimers.length) await tx.query('DELETE FROM engine_timers WHERE id = ANY($1::bigint[])', [b.deletedTimers]);
  return timers;
}

/** Runs `build`'s statement for as many items at a time as fit in its parameters; returns the rows they returned. */
async function chunked<T, R = never>(q: Queryable, items: T[], paramsPerItem: number, build: (ps: Params, items: T[]) => string): Promise<R[]> {
  const perChunk = Math.floor(MAX_PARAMS / paramsPerItem);
  const out: R[] = [];
  for (let i = 0; i < items.length; i += perChunk) {
    const ps = new Params();
    const text = build(ps, items.slice(i, i + perChunk));
    const { rows } = await q.query<R & object>(text, ps.values);
    out.push(...rows);
  }
  return out;
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

export async function postponeTimer(q: Queryable, id: number, fireAt: number): Promise<void> {
  await q.query('UPDATE engine_timers SET fire_at = $2 WHERE id = $1', [id, fireAt]);
}

export async function deleteTimer(q: Queryable, id: number): Promise<void> {
  await q.query('DELETE FROM engine_timers WHERE id = $1', [id]);
}

/** Every stored timer (the engine holds them in memory from start-up on). */
export async function allTimers(q: Queryable): Promise<TimerRow[]> {
  const { rows } = await q.query<TimerRow>('SELECT id::float8 AS id, run_id, fire_at, kind, ref FROM engine_timers');
  return rows;
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

export interface ScheduleRow<T> {
  namespace: string;
  schedule_id: string;
  data: T;
}

export async function getSchedule<T>(q: Queryable, namespace: string, scheduleId: string): Promise<ScheduleRow<T> | undefined> {
  const { rows } = await q.query<ScheduleRow<T>>('SELECT namespace, schedule_id, data FROM engine_schedules WHERE namespace = $1 AND schedule_id = $2', [namespace, scheduleId]);
  return rows[0];
}

/** False when the schedule id is taken. */
export async function insertSchedule(q: Queryable, namespace: string, scheduleId: string, data: object): Promise<boolean> {
  const { rowCount } = await q.query('INSERT INTO engine_schedules (namespace, schedule_id, data) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING', [namespace, scheduleId, JSON.stringify(data)]);
  return rowCount > 0;
}

export async function writeSchedule(q: Queryable, namespace: string, scheduleId: string, data: object, nextWakeAt: number | undefined): Promise<void> {
  await q.query('UPDATE engine_schedules SET data = $3, next_wake_at = $4 WHERE namespace = $1 AND schedule_id = $2', [namespace, scheduleId, JSON.stringify(data), nextWakeAt ?? null]);
}

export async function deleteSchedule(q: Queryable, namespace: string, scheduleId: string): Promise<boolean> {
  const { rowCount } = await q.query('DELETE FROM engine_schedules WHERE namespace = $1 AND schedule_id = $2', [namespace, scheduleId]);
  return rowCount > 0;
}

/** Schedules of a namespace by id, after `afterId`. */
export async function listSchedules<T>(q: Queryable, namespace: string, afterId: string, limit: number): Promise<ScheduleRow<T>[]> {
  const { rows } = await q.query<ScheduleRow<T>>(
    'SELECT namespace, schedule_id, data FROM engine_schedules WHERE namespace = $1 AND schedule_id > $2 ORDER BY schedule_id LIMIT $3',
    [namespace, afterId, limit],
  );
  return rows;
}

/** Every schedule's key (start-up looks at each once); `due` only those to look at by `until`. */
export async function scheduleKeys(q: Queryable, until?: number): Promise<{ namespace: string; schedule_id: string }[]> {
  const { rows } = await q.query<{ namespace: string; schedule_id: string }>(
    until === undefined ? 'SELECT namespace, schedule_id FROM engine_schedules' : 'SELECT namespace, schedule_id FROM engine_schedules WHERE next_wake_at <= $1 ORDER BY next_wake_at LIMIT 500',
    until === undefined ? [] : [until],
  );
  return rows;
}

export async function nextScheduleWake(q: Queryable): Promise<number | undefined> {
  const { rows } = await q.query<{ at: number | null }>('SELECT min(next_wake_at) AS at FROM engine_schedules');
  return rows[0]?.at ?? undefined;
}
