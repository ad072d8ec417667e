import { PGlite } from '@electric-sql/pglite';
import pg from 'pg';

/** Rows of one statement. */
export interface QueryResult<R> {
  rows: R[];
  rowCount: number;
}

/** Anything SQL can be sent to: the database itself or an open transaction. */
export interface Queryable {
  query<R = Record<string, unknown>>(sql: string, params?: unknown[]): Promise<QueryResult<R>>;
  /** Runs a script of several statements without parameters (migrations). */
  exec(sql: string): Promise<void>;
}

/**
 * The one database interface every store module uses. Two backends answer it with the same SQL:
 * a `pg` pool (when `DATABASE_URL` is set) and an in-process PGlite.
 */
export interface Db extends Queryable {
  readonly backend: 'postgres' | 'pglite';
  /** Runs `fn` in one transaction: committed when it resolves, rolled back when it throws. */
  transaction<T>(fn: (tx: Queryable) => Promise<T>): Promise<T>;
  /**
   * Takes the database-wide exclusive right `name` (within the schema) until released or this
   * process ends; undefined when another process holds it. On Postgres a session advisory lock on a
   * connection kept for the purpose; PGlite has one process by construction.
   */
  lease(name: string): Promise<Lease | undefined>;
  close(): Promise<void>;
}

export interface Lease {
  release(): Promise<void>;
}

/**
 * Repeats a DELETE that removes at most `batch` rows (passed as its last parameter) until one removes
 * fewer, so a large purge never holds one long transaction; returns how many rows went.
 */
export async function deleteInBatches(q: Queryable, sql: string, params: unknown[], batch: number): Promise<number> {
  let total = 0;
  for (;;) {
    const { rowCount } = await q.query(sql, [...params, batch]);
    total += rowCount;
    if (rowCount < batch) return total;
  }
}

export interface OpenDbOptions {
  /** Postgres URL; when absent, PGlite is used. */
  url?: string;
  /** PGlite data directory; absent means in memory. Ignored for Postgres. */
  dataDir?: string;
  /** Postgres schema to work in (created if missing); tests use one per file. */
  schema?: string;
  /** Pool size for Postgres. */
  maxConnections?: number;
}

// int8 (counts, sums) as JS numbers: values here stay far below 2^53.
pg.types.setTypeParser(20, (v) => Number(v));

export async function openDb(options: OpenDbOptions = {}): Promise<Db> {
  return options.url ? openPostgres(options.url, options) : openPglite(options.dataDir);
}

async function openPostgres(url: string, options: OpenDbOptions): Promise<Db> {
  const schema = options.schema;
  if (schema !== undefined && !/^[a-z_][a-z0-9_]*$/.test(schema)) throw new Error(`invalid schema name ${schema}`);
  if (schema) {
    const admin = new pg.Client({ connectionString: url });
    await admin.connect();
    try {
      await admin.query(`CREATE SCHEMA IF NOT EXISTS ${schema}`);
    } finally {
      await admin.end();
    }
  }
  const pool = new pg.Pool({
    connectionString: url,
    max: options.maxConnections ?? 10,
    options: schema ? `-c search_path=${schema}` : undefined,
  });
  // An idle client losing its server must not crash the process; the next query reconnects.
  pool.on('error', () => undefined);
  const run = async <R>(q: pg.Pool | pg.PoolClient, sql: string, params?: unknown[]): Promise<QueryResult<R>> => {
    const result = await q.query(sql, params as unknown[]);
    return { rows: result.rows as R[], rowCount: result.rowCount ?? 0 };
  };
  return {
    backend: 'postgres',
    query: (sql, params) => run(pool, sql, params),
    exec: async (sql) => void (await pool.query(sql)),
    async transaction(fn) {
      const client = await pool.connect();
      try {
        await client.query('BEGIN');
        const result = await fn({
          query: (sql, params) => run(client, sql, params),
          exec: async (sql) => void (await client.query(sql)),
        });
        await client.query('COMMIT');
        return result;
      } catch (err) {
        await client.query('ROLLBACK').catch(() => undefined);
        throw err;
      } finally {
        client.release();
      }
    },
    async lease(name) {
      const client = await pool.connect();
      const key = [`syncline:${name}`];
      const { rows } = await client.query<{ ok: boolean }>('SELECT pg_try_advisory_lock(hashtext($1 || current_schema())) AS ok', key).catch((err: unknown) => {
        client.release();
        throw err;
      });
      if (!rows[0]?.ok) {
        client.release();
        return undefined;
      }
      // The lock lives as long as this session: the connection stays out of the pool until release.
      return {
        async release() {
          await client.query('SELECT pg_advisory_unlock(hashtext($1 || current_schema()))', key).catch(() => undefined);
          client.release();
        },
      };
    },
    close: () => pool.end(),
  };
}

async function openPglite(dataDir?: string): Promise<Db> {
  const db = await PGlite.create(dataDir);
  const run = async <R>(q: Pick<PGlite, 'query'>, sql: string, params?: unknown[]): Promise<QueryResult<R>> => {
    // PGlite runs each statement synchronously in WASM and resolves without giving the event loop
    // a turn; yield first, so timers and sockets (the engine, HTTP) are not starved by a write burst.
    await new Promise<void>((resolve) => setImmediate(resolve));
    const result = await q.query<R>(sql, params);
    return { rows: result.rows, rowCount: result.affectedRows ?? result.rows.length };
  };
  return {
    backend: 'pglite',
    query: (sql, params) => run(db, sql, params),
    exec: async (sql) => void (await db.exec(sql)),
    // PGlite runs one statement at a time; its transaction() holds the connection until done.
    transaction: (fn) => db.transaction((tx) =>
        fn({ query: (sql, params) => run(tx, sql, params), exec: async (sql) => void (await tx.exec(sql)) }),
      ),
    lease: async () => ({ release: async () => undefined }),
    close: () => db.close(),
  };
}
