import { invalid } from '../errors';
import type { RecordCounts } from '../types';
import { deleteInBatches, type Db, type Queryable } from './db';
import { toJsonb } from './records';

export type LogLevel = 'debug' | 'info' | 'warn' | 'error';

/** One line of an execution's log. */
export interface LogEntry {
  level: LogLevel;
  message: string;
  /** ISO instant. */
  createdAt: string;
}

/** One HTTP request a script sent through the helper: never headers or bodies, and no secret in the URL. */
export interface HttpCallLog {
  method: string;
  /** Without user info; credential query parameters and known secrets replaced by `[redacted]`. */
  url: string;
  /** Null when no response came (network error, timeout). */
  status: number | null;
  durationMs: number;
  /** The network error code, when there was no response. */
  error?: string;
}

/** A log entry as the collector keeps it: HTTP calls carry their details (one entry per attempt). */
export interface CollectedLogEntry extends LogEntry {
  http?: HttpCallLog;
}

/** Longest log entry kept, in bytes (Nango's limit is ~100 KB). */
export const MAX_LOG_ENTRY_BYTES = 100_000;

/** `message` cut to {@link MAX_LOG_ENTRY_BYTES}, marked `… [truncated]` when it was longer. */
export function truncate(message: string): string {
  if (Buffer.byteLength(message) <= MAX_LOG_ENTRY_BYTES) return message;
  const suffix = '… [truncated]';
  let cut = Buffer.from(message).subarray(0, MAX_LOG_ENTRY_BYTES - Buffer.byteLength(suffix)).toString('utf8');
  if (cut.endsWith('\uFFFD')) cut = cut.slice(0, -1);
  return cut + suffix;
}

/** What a stored log line is: a script's own line, one HTTP call it made, or how its run ended. */
export type LogKind = 'log' | 'http' | 'outcome';
/** What kind of execution wrote it (`auth`: a token refresh that failed). */
export type Operation = 'sync' | 'action' | 'webhook' | 'auth' | 'on-event';

/** The execution a log line belongs to. */
export interface ExecutionRef {
  environmentId: number;
  integration: string;
  connectionId: string;
  operation: Operation;
  /** Sync or action name. */
  script: string;
  /** Sync job id or action run id. */
  jobId: string;
}

export interface StoredLog extends ExecutionRef {
  id: number;
  kind: LogKind;
  level: LogLevel;
  message: string;
  http: HttpCallLog | null;
  createdAt: Date;
}

/** How an execution ended, as told to `onExecutionEnd` listeners (metrics) once it is committed. */
export interface ExecutionEnd extends ExecutionRef {
  environment: string;
  success: boolean;
  startedAt: Date;
  finishedAt: Date;
  /** Records written per model (syncs). */
  counts: Record<string, RecordCounts>;
  error: { type: string; message: string } | null;
}

export interface LogQuery {
  connectionId?: string;
  integration?: string;
  operations?: Operation[];
  script?: string;
  jobId?: string;
  levels?: LogLevel[];
  kinds?: LogKind[];
  /** Lines created at or after this instant. */
  from?: Date;
  /** Lines created before this instant. */
  to?: Date;
  limit: number;
  /** `next_cursor` of the previous page (same filters and order). */
  cursor?: string;
  /** `desc` (default): newest first. */
  order?: 'asc' | 'desc';
}

interface LogRow {
  id: string | number;
  environment_id: number;
  integration_key: string;
  connection_id: string;
  operation: Operation;
  script: string;
  job_id: string;
  kind: LogKind;
  level: LogLevel;
  message: string;
  http: HttpCallLog | null;
  created_at: Date;
}

const toLog = (r: LogRow): StoredLog => ({
  id: Number(r.id),
  environmentId: r.environment_id,
  integration: r.integration_key,
  connectionId: r.connection_id,
  operation: r.operation,
  script: r.script,
  jobId: r.job_id,
  kind: r.kind,
  level: r.level,
  message: r.message,
  http: r.http,
  createdAt: new Date(r.created_at),
});

/** Largest JSON parameter of one insert; an execution's lines (up to 10,000 of up to 100 KB) go in several. */
const INSERT_CHUNK_BYTES = 8 * 1024 * 1024;

/**
 * Execution logs: written when a sync job or an action run ends (from `JobStore.finishJob` and
 * `ActionRunStore.attempt`, in their transaction), read by `GET /logs`, pruned after the retention.
 *
 * @example
 * const page = await logs.list(env.id, { jobId: '42', order: 'asc', limit: 100 });
 * const next = page.nextCursor && (await logs.list(env.id, { jobId: '42', order: 'asc', limit: 100, cursor: page.nextCursor }));
 */
export class LogStore {
  constructor(private readonly db: Db) {}

  /** One page of an environment's lines, in insertion order (newest first unless `order: 'asc'`). */
  async list(environmentId: number, query: LogQuery): Promise<{ logs: StoredLog[]; nextCursor: string | null }> {
    const params: unknown[] = [environmentId];
    const param = (value: unknown) => `$${params.push(value)}`;
    const where = ['environment_id = $1'];
    const desc = query.order !== 'asc';
    if (query.connectionId !== undefined) where.push(`connection_id = ${param(query.connectionId)}`);
    if (query.integration !== undefined) where.push(`integration_key = ${param(query.integration)}`);
    if (query.operations?.length) where.push(`operation = ANY(${param(query.operations)}::text[])`);
    if (query.script !== undefined) where.push(`script = ${param(query.script)}`);
    if (query.jobId !== undefined) where.push(`job_id = ${param(query.jobId)}`);
    if (query.levels?.length) where.push(`level = ANY(${param(query.levels)}::text[])`);
    if (query.kinds?.length) where.push(`kind = ANY(${param(query.kinds)}::text[])`);
    if (query.from) where.push(`created_at >= ${param(query.from)}`);
    if (query.to) where.push(`created_at < ${param(query.to)}`);
    if (query.cursor !== undefined) where.push(`id ${desc ? '<' : '>'} ${param(decodeLogCursor(query.cursor))}`);
    const { rows } = await this.db.query<LogRow>(
      `SELECT * FROM logs WHERE ${where.join(' AND ')} ORDER BY id ${desc ? 'DESC' : 'ASC'} LIMIT ${param(query.limit + 1)}`,
      params,
    );
    const logs = rows.slice(0, query.limit).map(toLog);
    return { logs, nextCursor: rows.length > query.limit ? encodeLogCursor(logs[logs.length - 1]!.id) : null };
  }

  /** Stores lines of an execution that is still running (its end stores the rest and the outcome line). */
  async write(ref: ExecutionRef, entries: readonly unknown[]): Promise<void> {
    await writeLogs(this.db, ref, entries);
  }

  /**
   * Stores the lines and the outcome line of an execution that has no job row of its own (a
   * webhook handler run), then tells `onExecutionEnd` listeners.
   */
  async recordEnd(end: ExecutionEnd, entries: readonly unknown[]): Promise<void> {
    await this.db.transaction((tx) => writeLogs(tx, end, entries, outcomeOf(end)));
    emitExecutionEnd(end);
  }

  /** Deletes lines older than `retentionDays`, `batch` rows per statement; returns how many. */
  async prune(retentionDays: number, batch = 10_000): Promise<number> {
    return deleteInBatches(this.db, `DELETE FROM logs WHERE id IN (SELECT id FROM logs WHERE created_at < now() - $1 * interval '1 day' LIMIT $2)`, [retentionDays], batch);
  }
}

/** How an execution ended, for its outcome line: which run, and the facts its line is formatted from. */
type Outcome = Pick<ExecutionEnd, 'success' | 'startedAt' | 'finishedAt' | 'counts' | 'error'>;

/**
 * The outcome line's facts as SQL: a query of one row (success, started_at, finished_at, counts,
 * error), with parameters numbered from `$8` (the INSERT's own come first).
 */
export interface OutcomeSource {
  sql: string;
  params: unknown[];
}

/** The facts of an outcome known here (an action or a webhook handler run). */
function outcomeOf(end: Outcome): OutcomeSource {
  return {
    sql: 'SELECT $8::boolean AS success, $9::timestamptz AS started_at, $10::timestamptz AS finished_at, $11::jsonb AS counts, $12::jsonb AS error',
    params: [end.success, end.startedAt, end.finishedAt, JSON.stringify(end.counts), end.error ? JSON.stringify(end.error) : null],
  };
}

/** The facts of a sync job's outcome, from `rows`: its ended row (a `sync_jobs` row, or the RETURNING of its end). */
export const jobOutcomeSql = (rows: string): string => `SELECT status = 'SUCCESS' AS success, started_at, finished_at, result AS counts, error FROM ${rows}`;

/** The facts of a sync job's outcome, from its row `$8` as it stands (ended) in the transaction. */
const jobOutcome = (jobId: number): OutcomeSource => ({ sql: jobOutcomeSql('sync_jobs WHERE id = $8'), params: [jobId] });

/** The parameters `$1`-`$6` of {@link insertLogsSql}. */
export const refParams = (ref: ExecutionRef): unknown[] => [ref.environmentId, ref.integration, ref.connectionId, ref.operation, ref.script, ref.jobId];

/**
 * An INSERT of an execution's lines: `$1`-`$6` the execution (refParams), `$7` a JSON array of
 * lines (logChunks). With `outcome` (a query of one row, see OutcomeSource), its outcome line,
 * formatted by the database's outcome_message, follows them.
 */
export function insertLogsSql(outcome?: string): string {
  const closing = outcome
    ? `UNION ALL
       SELECT 'outcome', CASE WHEN o.success THEN 'info' ELSE 'error' END,
         outcome_message($4, $5, o.success, o.started_at, o.finished_at, o.counts, o.error, ${MAX_LOG_ENTRY_BYTES}), NULL, o.finished_at, 9223372036854775807
       FROM (${outcome}) AS o`
    : '';
  return `INSERT INTO logs (environment_id, integration_key, connection_id, operation, script, job_id, kind, level, message, http, created_at)
    SELECT $1, $2, $3, $4, $5, $6, l.kind, l.level, l.message, l.http, l.created_at FROM (
      SELECT e.kind, e.level, e.message, e.http, e.created_at, a.n
      FROM jsonb_array_elements($7::jsonb) WITH ORDINALITY AS a(entry, n)
      CROSS JOIN LATERAL jsonb_to_record(a.entry) AS e(kind text, level text, message text, http jsonb, created_at timestamptz)
      ${closing}
    ) AS l ORDER BY l.n`;
}

/**
 * An execution's lines (`CollectedLogEntry`s from the runtime; anything else is skipped) as JSON
 * arrays, in order, each at most INSERT_CHUNK_BYTES (or one line): one INSERT each. At least one.
 */
export function logChunks(entries: readonly unknown[]): string[] {
  const chunks: string[] = [];
  let chunk: string[] = [];
  let size = 0;
  for (const entry of entries) {
    if (!isEntry(entry)) continue;
    const json = toJsonb({
      kind: entry.kind ?? (entry.http ? 'http' : 'log'),
      level: entry.level,
      message: entry.message,
      http: entry.http ? { ...entry.http } : null,
      created_at: entry.createdAt,
    });
    if (chunk.length > 0 && size + json.length > INSERT_CHUNK_BYTES) {
      chunks.push(`[${chunk.join(',')}]`);
      chunk = [];
      size = 0;
    }
    chunk.push(json);
    size += json.length;
  }
  chunks.push(`[${chunk.join(',')}]`);
  return chunks;
}

/**
 * Inserts an execution's lines, in order, in as few statements as their size allows; with
 * `outcome`, its outcome line last.
 */
export async function writeLogs(q: Queryable, ref: ExecutionRef, entries: readonly unknown[], outcome?: OutcomeSource): Promise<void> {
  const chunks = logChunks(entries);
  for (const [i, chunk] of chunks.entries()) {
    const last = i === chunks.length - 1;
    if (chunk === '[]' && !(last && outcome)) continue;
    await q.query(insertLogsSql(last ? outcome?.sql : undefined), [...refParams(ref), chunk, ...(last && outcome ? outcome.params : [])]);
  }
}

/** The sync a job ran: its environment (id and name), integration, connection and sync name. */
export type SyncJobRef = Pick<ExecutionEnd, 'environmentId' | 'environment' | 'integration' | 'connectionId' | 'script'>;

/** What a sync job's end tells listeners: the job as it ended, of the sync `ref` names. */
export function syncJobEnd(
  job: { id: number; status: string; startedAt: Date; finishedAt: Date | null; result: Record<string, RecordCounts>; error: { type: string; message: string } | null },
  row: SyncJobRef,
): ExecutionEnd {
  return {
    environmentId: row.environmentId,
    environment: row.environment,
    integration: row.integration,
    connectionId: row.connectionId,
    operation: 'sync',
    script: row.script,
    jobId: String(job.id),
    success: job.status === 'SUCCESS',
    startedAt: job.startedAt,
    finishedAt: job.finishedAt ?? new Date(),
    counts: job.result,
    error: job.error,
  };
}

/**
 * The end of a sync job, its row already ended in `tx`: its lines and an outcome line are written
 * in `tx`; returns what listeners get. `ref` names the job's sync when the caller knows it;
 * otherwise it is read.
 */
export async function recordSyncJobEnd(tx: Queryable, job: Parameters<typeof syncJobEnd>[0], entries: readonly unknown[], ref?: SyncJobRef): Promise<ExecutionEnd> {
  const end = syncJobEnd(job, ref ?? (await syncJobRef(tx, job.id)));
  await writeLogs(tx, end, entries, jobOutcome(job.id));
  return end;
}

async function syncJobRef(tx: Queryable, jobId: number): Promise<SyncJobRef> {
  const { rows } = await tx.query<SyncJobRef>(
    `SELECT c.environment_id AS "environmentId", e.name AS environment, i.unique_key AS integration, c.connection_id AS "connectionId", s.name AS script
     FROM sync_jobs j JOIN syncs s ON s.id = j.sync_id JOIN connections c ON c.id = s.connection_id
     JOIN integrations i ON i.id = c.integration_id JOIN environments e ON e.id = c.environment_id
     WHERE j.id = $1`,
    [jobId],
  );
  return rows[0]!;
}

/** The end of an action run: its lines and an outcome line are written in `tx`; returns what listeners get. */
export async function recordActionRunEnd(
  tx: Queryable,
  run: { id: string; environment_id: number; integration_key: string; connection_id: string; action_name: string; status: string; created_at: Date; finished_at: Date | null; error: { type: string; message: string } | null },
  entries: readonly unknown[],
): Promise<ExecutionEnd> {
  const { rows } = await tx.query<{ name: string }>('SELECT name FROM environments WHERE id = $1', [run.environment_id]);
  const end: ExecutionEnd = {
    environmentId: run.environment_id,
    environment: rows[0]?.name ?? '',
    integration: run.integration_key,
    connectionId: run.connection_id,
    operation: 'action',
    script: run.action_name,
    jobId: run.id,
    success: run.status === 'SUCCESS',
    startedAt: new Date(run.created_at),
    finishedAt: run.finished_at ? new Date(run.finished_at) : new Date(),
    counts: {},
    error: run.error ? { type: run.error.type, message: run.error.message } : null,
  };
  await writeLogs(tx, end, entries, outcomeOf(end));
  return end;
}

const listeners = new Set<(end: ExecutionEnd) => void>();

/**
 * Calls `listener` after each execution end is committed (in the process that ended it).
 *
 * @example
 * const stop = onExecutionEnd((end) => runs.inc({ operation: end.operation, status: end.success ? 'success' : 'error' }));
 */
export function onExecutionEnd(listener: (end: ExecutionEnd) => void): () => void {
  listeners.add(listener);
  return () => listeners.delete(listener);
}

export function emitExecutionEnd(end: ExecutionEnd): void {
  for (const listener of listeners) {
    try {
      listener(end);
    } catch {
      // An observer must not fail the run it observes.
    }
  }
}

const LEVELS: ReadonlySet<unknown> = new Set(['debug', 'info', 'warn', 'error']);

function isEntry(value: unknown): value is CollectedLogEntry & { kind?: LogKind } {
  if (typeof value !== 'object' || value === null) return false;
  const entry = value as Record<string, unknown>;
  return LEVELS.has(entry.level) && typeof entry.message === 'string' && typeof entry.createdAt === 'string';
}

export function encodeLogCursor(id: number): string {
  return Buffer.from(`log:${id}`).toString('base64url');
}

export function decodeLogCursor(cursor: string): number {
  const match = /^log:(\d{1,18})$/.exec(Buffer.from(cursor, 'base64url').toString('utf8'));
  if (!match) throw invalid('invalid_cursor', 'The cursor is not one this server issued');
  return Number(match[1]);
}
