import { invalid } from '../errors';
import type { RecordAction, RecordCounts, SyncRecord } from '../types';
import type { Db, Queryable, XactLock } from './db';

/** Rows per statement: large enough to amortise round trips, small enough to keep parameters cheap. */
export const RECORDS_CHUNK = 1000;
export const MAX_RECORDS_LIMIT = 10_000;
export const DEFAULT_RECORDS_LIMIT = 100;
/**
 * A page of records ends once it holds this many bytes of JSON (its last record may take it past
 * them), whatever its limit: records of megabytes each, 10,000 to a page, were read whole into the
 * process and made a body longer than V8 can hold. The page's next_cursor continues after it.
 */
export const MAX_PAGE_BYTES = 16 * 1024 * 1024;
const MAX_ID_LENGTH = 255;

export interface ListRecordsQuery {
  model: string;
  /** Only records whose last modification is at or after this instant. */
  modifiedAfter?: Date;
  /** Only records whose last action is one of these. */
  filter?: RecordAction[];
  limit?: number;
  /** Opaque cursor from a previous page's `next_cursor` or a record's `_nango_metadata.cursor`. */
  cursor?: string;
  ids?: string[];
}

export interface RecordsPage {
  records: SyncRecord[];
  next_cursor: string | null;
}

interface Position {
  at: string;
  id: string;
}

interface RecordRow {
  external_id: string;
  data: Record<string, unknown>;
  last_action: RecordAction;
  first_seen_at: string;
  last_modified_at: string;
  deleted_at: string | null;
  pruned_at: string | null;
}

// Timestamps leave Postgres as ISO text with microseconds, so cursors lose no precision.
const iso = (column: string) => `to_char(${column} AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')`;

/** The lock writers of one (connection, model) take first (see RecordStore). */
export const writersLock = (connection: number, model: string): XactLock => [connection, model];

/**
 * The write's timestamp: strictly after every existing row of the (connection, model), even when
 * the clock has only millisecond resolution (PGlite), so cursor order always equals commit order.
 */
const STAMP = `ts AS (SELECT greatest(clock_timestamp(), (SELECT max(last_modified_at) + interval '1 microsecond'
  FROM records WHERE connection_id = $1 AND model = $2)) AS now)`;

const ISO_INSTANT = /^[1-9]\d{3}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{1,6})?Z$/;

/** An instant as cursors carry it, with fields Postgres accepts (Date.parse rolls Feb 30 over into March). */
function isInstant(text: string): boolean {
  if (!ISO_INSTANT.test(text)) return false;
  const date = new Date(text);
  return !Number.isNaN(date.getTime()) && date.toISOString().slice(0, 19) === text.slice(0, 19);
}

/** Cursor = base64("<last_modified_at>||<id>"), the same shape Nango uses. */
export function encodeCursor(position: Position): string {
  return Buffer.from(`${position.at}||${position.id}`, 'utf8').toString('base64');
}

export function decodeCursor(cursor: string): Position {
  const text = Buffer.from(cursor, 'base64').toString('utf8');
  const split = text.indexOf('||');
  const at = text.slice(0, split);
  if (split < 0 || !isInstant(at)) {
    throw invalid('invalid_cursor', 'The cursor is not one this server issued');
  }
  return { at, id: text.slice(split + 2) };
}

/**
 * What a caller writes in the same transaction as a batch of records, once they are written (the
 * ids a sync job saw): it commits with them or not at all.
 */
export type AlsoWrite = (tx: Queryable) => Promise<void>;

/** How a batch of records is written with what it accounts for. */
export interface WriteOptions {
  /** A sync job whose `result` counts what the batch added, updated and deleted: in the batch's own statements. */
  countsFor?: number;
  within?: AlsoWrite;
}

/**
 * `result` (of `sync_jobs`) with what `counts` (a relation of added, updated and deleted) wrote of
 * `model` added to its model's entry.
 */
export const resultPlus = (model: string, counts: string): string =>
  `jsonb_set(result, ARRAY[${model}], jsonb_build_object(
     'added', coalesce((result -> ${model} ->> 'added')::int, 0) + ${counts}.added,
     'updated', coalesce((result -> ${model} ->> 'updated')::int, 0) + ${counts}.updated,
     'deleted', coalesce((result -> ${model} ->> 'deleted')::int, 0) + ${counts}.deleted))`;

/**
 * The end of a write statement whose CTE `written` returns the `last_action` of each row it wrote:
 * it selects the counts and, for a job (`options.countsFor`, parameter `job`: see countsParam), adds
 * them to the job's result ($2 is the model).
 */
const countWritten = ({ countsFor }: WriteOptions, job: string): string =>
  `counts AS (
     SELECT count(*) FILTER (WHERE last_action = 'ADDED')::int AS added,
            count(*) FILTER (WHERE last_action = 'UPDATED')::int AS updated,
            count(*) FILTER (WHERE last_action = 'DELETED')::int AS deleted
     FROM written
   )${countsFor ? `,
   counted AS (UPDATE sync_jobs SET result = ${resultPlus('$2', 'counts')} FROM counts WHERE id = ${job} AND counts.added + counts.updated + counts.deleted > 0)` : ''}
   SELECT added, updated, deleted FROM counts`;

/**
 * Synced records of one connection and model: set-based upserts with a content-hash guard,
 * soft deletes, cursor paging in (last_modified_at, id) order, and pruning.
 *
 * Writers to one (connection, model) are serialised by an advisory lock and stamp rows with
 * the clock *after* taking it, so timestamps follow commit order and a reader paging by cursor
 * never skips a record committed behind it.
 */
export class RecordStore {
  constructor(private readonly db: Db) {}

  /** Inserts new records, rewrites changed ones, revives deleted ones; unchanged ones are not touched. */
  async upsert(connection: number, model: string, records: readonly unknown[], options: WriteOptions = {}): Promise<RecordCounts> {
    const byId = new Map<string, unknown>();
    for (const record of records) byId.set(recordId(record), stripMetadata(record as Record<string, unknown>));
    return this.writeChunks(connection, model, [...byId], options, async (tx, chunk) => {
      const { rows } = await tx.query<RecordCounts>(
        `WITH ${STAMP},
         written AS (
           INSERT INTO records AS r (connection_id, model, external_id, data, data_hash, data_bytes, first_seen_at, last_modified_at, last_action)
           SELECT $1, $2, i.external_id, i.data, md5(j.text), octet_length(j.text), ts.now, ts.now, 'ADDED'
           FROM unnest($3::text[], $4::jsonb[]) AS i(external_id, data) CROSS JOIN LATERAL (SELECT i.data::text AS text) AS j, ts
           ON CONFLICT (connection_id, model, external_id) DO UPDATE SET
             data = excluded.data,
             data_hash = excluded.data_hash,
             data_bytes = excluded.data_bytes,
             last_modified_at = excluded.last_modified_at,
             first_seen_at = CASE WHEN r.deleted_at IS NULL THEN r.first_seen_at ELSE excluded.first_seen_at END,
             last_action = CASE WHEN r.deleted_at IS NULL THEN 'UPDATED' ELSE 'ADDED' END,
             deleted_at = NULL,
             pruned_at = NULL
           WHERE r.data_hash <> excluded.data_hash OR r.deleted_at IS NOT NULL OR r.pruned_at IS NOT NULL
           RETURNING r.last_action
         ),
         ${countWritten(options, '$5')}`,
        [connection, model, ...idsAndPayloads(chunk), ...countsParam(options)],
      );
      return rows[0]!;
    });
  }

  /** Shallow-merges partial records into existing, non-deleted ones; unknown ids are ignored. */
  async update(connection: number, model: string, partials: readonly unknown[], options: WriteOptions = {}): Promise<RecordCounts> {
    const byId = new Map<string, Record<string, unknown>>();
    for (const partial of partials) {
      const id = recordId(partial);
      byId.set(id, { ...byId.get(id), ...stripMetadata(partial as Record<string, unknown>) });
    }
    return this.writeChunks(connection, model, [...byId], options, async (tx, chunk) => {
      const { rows } = await tx.query<RecordCounts>(
        `WITH ${STAMP},
         written AS (
           UPDATE records r SET data = r.data || i.patch, data_hash = md5((r.data || i.patch)::text), data_bytes = octet_length((r.data || i.patch)::text),
             last_modified_at = ts.now, last_action = 'UPDATED'
           FROM unnest($3::text[], $4::jsonb[]) AS i(external_id, patch), ts
           WHERE r.connection_id = $1 AND r.model = $2 AND r.external_id = i.external_id
             AND r.deleted_at IS NULL AND r.pruned_at IS NULL AND r.data_hash <> md5((r.data || i.patch)::text)
           RETURNING r.last_action
         ),
         ${countWritten(options, '$5')}`,
        [connection, model, ...idsAndPayloads(chunk), ...countsParam(options)],
      );
      return rows[0]!;
    });
  }

  /** Soft-deletes records by id (only `id` is read); already deleted or unknown ids count for nothing. */
  async delete(connection: number, model: string, records: readonly unknown[], options: WriteOptions = {}): Promise<RecordCounts> {
    const ids = [...new Set(records.map(recordId))].map((id) => [id, null] as [string, null]);
    return this.writeChunks(connection, model, ids, options, async (tx, chunk) => {
      const { rows } = await tx.query<RecordCounts>(
        `WITH ${STAMP},
         written AS (
           UPDATE records r SET deleted_at = ts.now, last_modified_at = ts.now, last_action = 'DELETED'
           FROM ts
           WHERE r.connection_id = $1 AND r.model = $2 AND r.external_id = ANY($3::text[]) AND r.deleted_at IS NULL
           RETURNING r.last_action
         ),
         ${countWritten(options, '$4')}`,
        [connection, model, chunk.map(([id]) => id), ...countsParam(options)],
      );
      return rows[0]!;
    });
  }

  /** One page of records in cursor order. */
  async list(connection: number, query: ListRecordsQuery): Promise<RecordsPage> {
    const limit = checkLimit(query.limit ?? DEFAULT_RECORDS_LIMIT);
    const params: unknown[] = [connection, query.model];
    const where = ['connection_id = $1', 'model = $2'];
    const param = (value: unknown) => `$${params.push(value)}`;
    if (query.cursor !== undefined) {
      const after = decodeCursor(query.cursor);
      where.push(`(last_modified_at, external_id) > (${param(after.at)}::timestamptz, ${param(after.id)})`);
    }
    if (query.modifiedAfter) where.push(`last_modified_at >= ${param(query.modifiedAfter.toISOString())}::timestamptz`);
    if (query.filter?.length) where.push(`last_action = ANY(${param(query.filter)}::text[])`);
    if (query.ids?.length) where.push(`external_id = ANY(${param(query.ids)}::text[])`);
    // The candidates' sizes come from data_bytes (the payloads are not read for that); only those
    // within MAX_PAGE_BYTES of the page's start are returned, with how many candidates there were.
    const { rows } = await this.db.query<RecordRow & { candidates: number }>(
      `WITH candidates AS (
         SELECT external_id, data, last_action, first_seen_at, last_modified_at, deleted_at, pruned_at, coalesce(data_bytes, octet_length(data::text)) AS bytes
         FROM records WHERE ${where.join(' AND ')}
         ORDER BY records.last_modified_at, records.external_id
         LIMIT ${param(limit + 1)}
       ),
       sized AS (
         SELECT *, sum(bytes) OVER (ORDER BY last_modified_at, external_id ROWS UNBOUNDED PRECEDING) - bytes AS before, count(*) OVER () AS candidates FROM candidates
       )
       SELECT external_id, data, last_action, ${iso('sized.first_seen_at')} AS first_seen_at, ${iso('sized.last_modified_at')} AS last_modified_at,
              ${iso('sized.deleted_at')} AS deleted_at, ${iso('sized.pruned_at')} AS pruned_at, candidates::int AS candidates
       FROM sized WHERE before < ${param(MAX_PAGE_BYTES)}
       -- Qualified: bare names would sort by the text columns of the same names above.
       ORDER BY sized.last_modified_at, sized.external_id`,
      params,
    );
    const page = rows.slice(0, limit);
    const last = page[page.length - 1];
    const more = rows.length > limit || (rows[0]?.candidates ?? 0) > rows.length;
    return {
      records: page.map(toRecord),
      next_cursor: more && last ? encodeCursor({ at: last.last_modified_at, id: last.external_id }) : null,
    };
  }

  /**
   * Empties the payload of up to `limit` records at or before `untilCursor`, keeping their metadata.
   * A later sync of the same record restores the payload.
   */
  async prune(connection: number, model: string, untilCursor: string, limit = 1000): Promise<{ count: number; has_more: boolean }> {
    checkLimit(limit);
    const until = decodeCursor(untilCursor);
    const { rows } = await this.db.query<{ count: number; has_more: boolean }>(
      `WITH candidates AS (
         SELECT external_id, row_number() OVER (ORDER BY last_modified_at, external_id) AS position FROM records
         WHERE connection_id = $1 AND model = $2 AND pruned_at IS NULL
           AND (last_modified_at, external_id) <= ($3::timestamptz, $4)
         ORDER BY last_modified_at, external_id
         LIMIT $5 + 1
       ),
       pruned AS (
         UPDATE records r SET data = jsonb_build_object('id', r.data -> 'id'), data_bytes = NULL, pruned_at = now()
         WHERE r.connection_id = $1 AND r.model = $2
           AND r.external_id IN (SELECT external_id FROM candidates WHERE position <= $5)
           -- Checked again on the row as it is after any concurrent write: one rewritten since is kept.
           AND r.pruned_at IS NULL AND (r.last_modified_at, r.external_id) <= ($3::timestamptz, $4)
         RETURNING 1
       )
       SELECT (SELECT count(*)::int FROM pruned) AS count, (SELECT count(*) FROM candidates) > $5 AS has_more`,
      [connection, model, until.at, until.id, limit],
    );
    return rows[0]!;
  }

  /**
   * Hard-deletes every record of these models of a connection (a sync's cache emptied, a sync
   * variant deleted): nothing is left, not even deletion marks. Returns how many went.
   *
   * @example
   * await store.records.purge(connection.id, ['GithubIssue::octo-hello']);
   */
  async purge(connection: number, models: readonly string[]): Promise<number> {
    let total = 0;
    for (const model of models) {
      total += await this.db.transaction(async (tx) => {
        const { rowCount } = await tx.query('DELETE FROM records WHERE connection_id = $1 AND model = $2', [connection, model]);
        return rowCount ?? 0;
      }, writersLock(connection, model));
    }
    return total;
  }

  /** Live (not deleted) records per model of a connection. */
  async countByModel(connection: number): Promise<Record<string, number>> {
    const { rows } = await this.db.query<{ model: string; count: number }>(
      'SELECT model, count(*)::int AS count FROM records WHERE connection_id = $1 AND deleted_at IS NULL GROUP BY model',
      [connection],
    );
    return Object.fromEntries(rows.map((r) => [r.model, r.count]));
  }

  private async writeChunks<T>(
    connection: number,
    model: string,
    entries: Array<[string, T]>,
    { within }: WriteOptions,
    write: (tx: Queryable, chunk: Array<[string, T]>) => Promise<RecordCounts>,
  ): Promise<RecordCounts> {
    const total: RecordCounts = { added: 0, updated: 0, deleted: 0 };
    if (entries.length === 0) return total;
    return this.db.transaction(async (tx) => {
      for (let i = 0; i < entries.length; i += RECORDS_CHUNK) {
        const counts = await write(tx, entries.slice(i, i + RECORDS_CHUNK));
        total.added += counts.added;
        total.updated += counts.updated;
        total.deleted += counts.deleted;
      }
      await within?.(tx);
      return total;
    }, writersLock(connection, model));
  }
}

/**
 * The id a record is stored under: its `id` with the same cleaning as every other string of it
 * (`storableText`), so the stored id and `data.id` agree. Empty (after cleaning) or too long is refused.
 */
function recordId(record: unknown): string {
  const id = record !== null && typeof record === 'object' && !Array.isArray(record) ? (record as { id?: unknown }).id : undefined;
  const text = typeof id === 'string' || typeof id === 'number' ? storableText(String(id)) : '';
  if (text === '' || text.length > MAX_ID_LENGTH) {
    throw invalid('invalid_record', `Every record must be an object with an "id" (a non-empty string or number of at most ${MAX_ID_LENGTH} characters)`);
  }
  return text;
}

function checkLimit(limit: number): number {
  if (!Number.isInteger(limit) || limit < 1 || limit > MAX_RECORDS_LIMIT) {
    throw invalid('invalid_limit', `limit must be an integer between 1 and ${MAX_RECORDS_LIMIT}`);
  }
  return limit;
}

/** The job parameter of countWritten, when the write counts for one. */
const countsParam = (options: WriteOptions): number[] => (options.countsFor ? [options.countsFor] : []);

/** The `$3::text[]` and `$4::jsonb[]` parameters of a chunk. */
function idsAndPayloads(chunk: Array<[string, unknown]>): [string[], string[]] {
  return [chunk.map(([id]) => id), chunk.map(([, data]) => toJsonb(data))];
}

// Postgres text and jsonb cannot hold NUL characters or lone UTF-16 surrogates, both of which real APIs send.
const UNSTORABLE = /\\u0000|\\ud[89a-f]/i;
const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g;

/** `text` without NUL characters, its lone surrogates replaced by U+FFFD. */
function storableText(text: string): string {
  return text.replace(/\u0000/g, '').replace(LONE_SURROGATE, '\ufffd');
}

/** Parsed JSON with `storableText` applied to every string, object keys included. */
function storableJson(value: unknown): unknown {
  if (typeof value === 'string') return storableText(value);
  if (Array.isArray(value)) return value.map(storableJson);
  if (typeof value !== 'object' || value === null) return value;
  return Object.fromEntries(Object.entries(value).map(([key, child]) => [storableText(key), storableJson(child)]));
}

/**
 * JSON text Postgres accepts as jsonb, rather than failing the whole batch: every string (values,
 * object keys, a record's id alike) loses its NUL characters and has lone surrogates replaced by
 * U+FFFD. The common case costs one scan.
 */
export function toJsonb(data: unknown): string {
  const text = JSON.stringify(data);
  return UNSTORABLE.test(text) ? JSON.stringify(storableJson(JSON.parse(text))) : text;
}

function stripMetadata(record: Record<string, unknown>): Record<string, unknown> {
  if (!('_nango_metadata' in record)) return record;
  const { _nango_metadata: _ignored, ...rest } = record;
  return rest;
}

function toRecord(row: RecordRow): SyncRecord {
  return {
    ...row.data,
    id: (row.data.id as string | number | undefined) ?? row.external_id,
    _nango_metadata: {
      first_seen_at: row.first_seen_at,
      last_modified_at: row.last_modified_at,
      last_action: row.last_action,
      deleted_at: row.deleted_at,
      pruned_at: row.pruned_at,
      cursor: encodeCursor({ at: row.last_modified_at, id: row.external_id }),
    },
  };
}
