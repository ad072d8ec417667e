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
 * A transaction-scoped advisory lock, `pg_advisory_xact_lock(key, hashtext(name))`: writers of one
 * key wait for each other until the holder commits.
 */
export type XactLock = readonly [key: number, name: string];

/** Takes `lock` in the open transaction `tx` (held until it ends). */
export async function takeXactLock(tx: Queryable, lock: XactLock): Promise<void> {
  await tx.query('SELECT pg_advisory_xact_lock($1, hashtext($2))', [...lock]);
}

/** Queryable with transactions: the database, or the one connection holding a lease. */
export interface Session extends Queryable {
  /**
   * Runs `fn` in one transaction: committed when it resolves, rolled back when it throws. With
   * `lock`, the transaction takes it first; on Postgres it goes with BEGIN, one round trip for both.
   */
  transaction<T>(fn: (tx: Queryable) => Promise<T>, lock?: XactLock): Promise<T>;
}

/**
 * The one database interface every store module uses. Two backends answer it with the same SQL:
 * a `pg` pool (when `DATABASE_URL` is set) and an in-process PGlite.
 */
export interface Db extends Session {
  readonly backend: 'postgres' | 'pglite';
  /**
   * Takes the database-wide exclusive right `name` (within the schema) until released, this process
   * ends or its connection is lost; undefined when another process holds it. On Postgres a session
   * advisory lock on a connection kept for the purpose; PGlite has one process by construction.
   */
  lease(name: string): Promise<Lease | undefined>;
  /**
   * Calls `onNotify` with the payload of every NOTIFY on `channel` (an unquoted identifier), from
   * any process, until the returned function stops it. On Postgres a connection kept for the
   * purpose, opened again with back-off when lost; notifications sent meanwhile are lost, so
   * `onNotify` also hears an empty payload once listening again (look for what was missed).
   */
  listen(channel: string, onNotify: (payload: string) => void): Promise<() => Promise<void>>;
  close(): Promise<void>;
}

export interface Lease {
  /**
   * The connection that holds the lease. Writes sent through it can only commit while the lease is
   * held: when the connection dies, Postgres frees the lock and they fail with it, so a process
   * that lost the lease cannot overwrite what the next holder does. Statements run one at a time.
   */
  session: Session;
  /** Resolves (never rejects) when the lease is lost without a release: its connection died. */
  lost: Promise<void>;
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
  /** Pool size for Postgres (default DEFAULT_POOL_SIZE). */
  maxConnections?: number;
  /**
   * How many distinct statements with parameters are prepared on Postgres connections (default
   * DEFAULT_PREPARED_STATEMENTS; 0: none, for a PgBouncer in transaction mode before 1.21).
   */
  preparedStatements?: number;
}

/** Connections a Postgres pool opens at most, by default. */
export const DEFAULT_POOL_SIZE = 10;

/** The statements prepared per connection by default: more than the store and the engine send. */
export const DEFAULT_PREPARED_STATEMENTS = 256;

// int8 (counts, sums) as JS numbers: values here stay far below 2^53.
pg.types.setTypeParser(20, (v) => Number(v));

export async function openDb(options: OpenDbOptions = {}): Promise<Db> {
  return options.url ? openPostgres(options.url, options) : openPglite(options.dataDir);
}

/** Longest wait for a pooled connection (a new one, or a free one when all are busy). */
const CONNECT_TIMEOUT_MS = 15_000;

async function openPostgres(url: string, options: OpenDbOptions): Promise<Db> {
  const schema = options.schema;
  if (schema !== undefined && !/^[a-z_][a-z0-9_]*$/.test(schema)) throw new Error(`invalid schema name ${schema}`);
  if (schema) {
    const admin = new pg.Client({ connectionString: url });
    admin.on('error', () => undefined); // surfaces as the failing query's error
    await admin.connect();
    try {
      await admin.query(`CREATE SCHEMA IF NOT EXISTS ${schema}`);
    } finally {
      await admin.end();
    }
  }
  // Every connection of this database: the pool's and the one kept to listen.
  const connectionConfig: pg.ClientConfig = {
    connectionString: url,
    options: schema ? `-c search_path=${schema}` : undefined,
    // A server that takes TCP connections but never answers (paused, a dead network path) must not
    // hang callers for ever: getting a connection gives up after this (a 503 for API calls), and
    // TCP keepalive finds idle sockets whose server is gone.
    connectionTimeoutMillis: CONNECT_TIMEOUT_MS,
    keepAlive: true,
    keepAliveInitialDelayMillis: 10_000,
  };
  const pool = new pg.Pool({ ...connectionConfig, max: options.maxConnections ?? DEFAULT_POOL_SIZE });
  // A client losing its server (Postgres restarted, backend terminated) emits 'error'; unhandled, that
  // ends the process. The query in flight fails with the error; a dead client leaves the pool on release.
  pool.on('error', () => undefined);
  pool.on('connect', (client) => client.on('error', () => undefined));
  const prepared = new PreparedStatements(options.preparedStatements ?? DEFAULT_PREPARED_STATEMENTS);
  const run = <R>(q: pg.Pool | pg.PoolClient, sql: string, params?: unknown[]) => runOn<R>(q, sql, params, prepared);
  const inTransaction = <T>(client: pg.PoolClient, fn: (tx: Queryable) => Promise<T>, lock?: XactLock) => runTransaction(client, fn, lock, prepared);
  return {
    backend: 'postgres',
    query: (sql, params) => run(pool, sql, params),
    exec: async (sql) => void (await run(pool, sql)),
    async transaction(fn, lock) {
      const client = await connect(pool);
      let broken: Error | undefined;
      try {
        return await inTransaction(client, fn, lock);
      } catch (err) {
        // A client whose connection failed must not go back to the pool.
        if (err instanceof DatabaseUnavailableError) broken = err;
        throw err;
      } finally {
        client.release(broken);
      }
    },
    async lease(name) {
      const client = await connect(pool);
      const key = [`syncline:${name}`];
      const { rows } = await run<{ ok: boolean }>(client, 'SELECT pg_try_advisory_lock(hashtext($1 || current_schema())) AS ok', key).catch((err: unknown) => {
        client.release(err as Error);
        throw err;
      });
      if (!rows[0]?.ok) {
        client.release();
        return undefined;
      }
      // The lock lives as long as this session: the connection stays out of the pool until release.
      let released = false;
      const lost = new Promise<void>((resolve) => {
        const onLost = () => {
          if (released) return;
          released = true;
          client.release(new Error('lease connection lost'));
          resolve();
        };
        client.once('error', onLost);
        client.once('end', onLost);
      });
      const serial = new Serial();
      return {
        session: {
          query: (sql, params) => serial.run(() => run(client, sql, params)),
          exec: (sql) => serial.run(async () => void (await run(client, sql))),
          transaction: (fn, lock) => serial.run(() => inTransaction(client, fn, lock)),
        },
        lost,
        async release() {
          if (released) return;
          released = true;
          await serial.run(() => client.query('SELECT pg_advisory_unlock(hashtext($1 || current_schema()))', key)).catch(() => undefined);
          client.release();
        },
      };
    },
    listen: (channel, onNotify) => listenOnPostgres(() => new pg.Client(connectionConfig), channel, onNotify),
    close: () => pool.end(),
  };
}

/** Longest pause between attempts to open a listening connection again. */
const LISTEN_RETRY_MAX_MS = 10_000;

async function listenOnPostgres(newClient: () => pg.Client, channel: string, onNotify: (payload: string) => void): Promise<() => Promise<void>> {
  checkChannel(channel);
  let stopped = false;
  let client: pg.Client | undefined;
  let wake: (() => void) | undefined;
  /** A connection listening on `channel` and the promise of its loss, or undefined when it could not be opened. */
  const open = async (): Promise<{ lost: Promise<void> } | undefined> => {
    const c = newClient();
    c.on('error', () => undefined);
    c.on('notification', (n) => {
      if (n.channel === channel) onNotify(n.payload ?? '');
    });
    const lost = new Promise<void>((resolve) => {
      c.once('end', resolve);
      c.once('error', resolve);
    });
    try {
      await c.connect();
      await c.query(`LISTEN ${channel}`);
    } catch {
      await c.end().catch(() => undefined);
      return undefined;
    }
    client = c;
    return { lost };
  };
  // The first attempt is awaited, so what is written from now on is heard (when it succeeded).
  let listening = await open();
  void (async () => {
    for (let delay = 500; !stopped; ) {
      if (listening) {
        await listening.lost;
        client = undefined;
        delay = 500;
      }
      if (stopped) return;
      await new Promise<void>((resolve) => {
        wake = resolve;
        setTimeout(resolve, delay).unref();
      });
      if (stopped) return;
      listening = await open();
      if (!listening) delay = Math.min(delay * 2, LISTEN_RETRY_MAX_MS);
      else if (stopped) await client?.end().catch(() => undefined);
      else onNotify('');
    }
  })();
  return async () => {
    stopped = true;
    wake?.();
    await client?.end().catch(() => undefined);
  };
}

function checkChannel(channel: string): void {
  if (!/^[a-z_][a-z0-9_]*$/.test(channel)) throw new Error(`invalid channel name ${channel}`);
}

let statements = 0;

/** Statements this process has sent to its databases so far (for benches: statements per run). */
export function statementsSent(): number {
  return statements;
}

/**
 * Names for statements with parameters, so each is parsed and planned once per connection rather
 * than at every execution: half of Postgres's CPU for a sync run went to parsing and planning the
 * same few dozen statements again. The first `max` distinct texts get a name; later ones (a store
 * building many shapes of query) go unnamed, so no connection holds more than `max`.
 */
class PreparedStatements {
  private readonly names = new Map<string, string>();
  /** Texts whose prepared form went stale (a table they read changed shape): never prepared again. */
  private readonly stale = new Set<string>();
  /**
   * Names handed out, stale ones included: connections keep a stale statement under its name, so
   * no name is given to another text, and it still counts towards `max`.
   */
  private issued = 0;

  constructor(private readonly max: number) {}

  nameOf(sql: string): string | undefined {
    let name = this.names.get(sql);
    if (name === undefined && this.issued < this.max && !this.stale.has(sql)) this.names.set(sql, (name = `syncline_${++this.issued}`));
    return name;
  }

  /** After a schema change (another process's migration), a prepared statement's plan may not return the new row type. */
  markStale(sql: string): void {
    this.names.delete(sql);
    this.stale.add(sql);
  }
}

/** Postgres refusing to run a prepared statement whose result type has changed since it was prepared. */
const isStalePlan = (err: unknown) => (err as { code?: unknown }).code === '0A000' && /cached plan must not change result type/.test(String((err as Error).message));

async function runOn<R>(q: pg.Pool | pg.PoolClient, sql: string, params: unknown[] | undefined, prepared: PreparedStatements): Promise<QueryResult<R>> {
  statements++;
  const name = params?.length ? prepared.nameOf(sql) : undefined;
  try {
    const result = await q.query(name ? { name, text: sql, values: params } : { text: sql, values: params });
    return { rows: result.rows as R[], rowCount: result.rowCount ?? 0 };
  } catch (err) {
    if (name && isStalePlan(err)) {
      prepared.markStale(sql);
      // Alone, the statement is sent again unprepared; in a transaction, the transaction has failed.
      if (q instanceof pg.Pool) return runOn(q, sql, params, prepared);
    }
    throw isConnectionError(err) ? new DatabaseUnavailableError(err) : err;
  }
}

async function connect(pool: pg.Pool): Promise<pg.PoolClient> {
  try {
    return await pool.connect();
  } catch (err) {
    throw isConnectionError(err) ? new DatabaseUnavailableError(err) : err;
  }
}

async function runTransaction<T>(client: pg.PoolClient, fn: (tx: Queryable) => Promise<T>, lock: XactLock | undefined, prepared: PreparedStatements): Promise<T> {
  const run = <R>(sql: string, params?: unknown[]) => runOn<R>(client, sql, params, prepared);
  try {
    await begin(run, client, lock);
    const result = await fn({
      query: (sql, params) => run(sql, params),
      exec: async (sql) => void (await run(sql)),
    });
    await run('COMMIT');
    return result;
  } catch (err) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw err;
  }
}

/** BEGIN, and the lock with it: two statements in one simple query (which takes no parameters: the key is checked, the name quoted). */
async function begin(run: (sql: string) => Promise<unknown>, client: pg.PoolClient, lock: XactLock | undefined): Promise<void> {
  if (!lock) return void (await run('BEGIN'));
  if (!Number.isSafeInteger(lock[0])) throw new TypeError(`an advisory lock key must be an integer, not ${lock[0]}`);
  statements++;
  await run(`BEGIN; SELECT pg_advisory_xact_lock(${lock[0]}, hashtext(${client.escapeLiteral(lock[1])}))`);
}

/**
 * The database cannot be reached or the connection to it broke mid-statement (Postgres restarting,
 * failing over, a backend terminated): nothing was wrong with the statement; try again later.
 */
export class DatabaseUnavailableError extends Error {
  override name = 'DatabaseUnavailableError';
  readonly code = 'database_unavailable';
  constructor(cause: unknown) {
    super(`the database is unavailable: ${cause instanceof Error ? cause.message : String(cause)}`, { cause });
  }
}

/** Runs functions one after another (a transaction on a shared connection must not interleave). */
class Serial {
  private tail: Promise<unknown> = Promise.resolve();

  run<T>(fn: () => Promise<T>): Promise<T> {
    const next = this.tail.then(fn, fn);
    this.tail = next.catch(() => undefined);
    return next;
  }
}

/** Whether `err`, or an error it wraps, is a DatabaseUnavailableError. */
export function isDatabaseUnavailable(err: unknown): boolean {
  for (let e = err, depth = 0; e instanceof Error && depth < 5; e = e.cause, depth++) if (e instanceof DatabaseUnavailableError) return true;
  return false;
}

/**
 * Whether an error of the pg driver says the database cannot be reached or the connection to it
 * broke (rather than that a statement was wrong): a refused or reset socket, a server shutting down.
 */
function isConnectionError(err: unknown): boolean {
  if (typeof err !== 'object' || err === null) return false;
  const code = (err as { code?: unknown }).code;
  if (typeof code === 'string') {
    // Class 08: connection exception; 57P01-57P03: admin shutdown, crash shutdown, cannot connect now.
    if (code.startsWith('08') || /^57P0[123]$/.test(code)) return true;
    if (['ECONNREFUSED', 'ECONNRESET', 'EPIPE', 'ETIMEDOUT', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH'].includes(code)) return true;
  }
  const message = err instanceof Error ? err.message : '';
  return /Connection terminated|not queryable|Client was closed|timeout exceeded when trying to connect/i.test(message);
}

async function openPglite(dataDir?: string): Promise<Db> {
  const db = await PGlite.create(dataDir);
  const run = async <R>(q: Pick<PGlite, 'query'>, sql: string, params?: unknown[]): Promise<QueryResult<R>> => {
    // PGlite runs each statement synchronously in WASM and resolves without giving the event loop
    // a turn; yield first, so timers and sockets (the engine, HTTP) are not starved by a write burst.
    await new Promise<void>((resolve) => setImmediate(resolve));
    statements++;
    const result = await q.query<R>(sql, params);
    return { rows: result.rows, rowCount: result.affectedRows ?? result.rows.length };
  };
  const self: Db = {
    backend: 'pglite',
    query: (sql, params) => run(db, sql, params),
    exec: async (sql) => void (await db.exec(sql)),
    // PGlite runs one statement at a time; its transaction() holds the connection until done.
    transaction: (fn, lock) =>
      db.transaction(async (tx) => {
        const session: Queryable = { query: (sql, params) => run(tx, sql, params), exec: async (sql) => void (await tx.exec(sql)) };
        if (lock) await takeXactLock(session, lock);
        return fn(session);
      }),
    lease: async () => ({ session: self, lost: new Promise<void>(() => undefined), release: async () => undefined }),
    async listen(channel, onNotify) {
      checkChannel(channel);
      return db.listen(channel, onNotify);
    },
    close: () => db.close(),
  };
  return self;
}

/**
 * Resolves once the database answers, trying again with back-off (half a second doubling to
 * `maxDelayMs`) while it cannot be reached; `onWait` hears each failed attempt and the delay before
 * the next. Other errors (a wrong password, a missing database) are thrown at once.
 *
 * @example
 * await waitForDatabase(db, (err, ms) => logger.warn({ error: err.message }, `database unavailable; retrying in ${ms} ms`));
 */
export async function waitForDatabase(db: Queryable, onWait: (err: Error, retryInMs: number) => void, maxDelayMs = 10_000): Promise<void> {
  for (let delay = 500; ; delay = Math.min(delay * 2, maxDelayMs)) {
    try {
      await db.query('SELECT 1');
      return;
    } catch (err) {
      if (!(err instanceof DatabaseUnavailableError)) throw err;
      onWait(err, delay);
      await new Promise((resolve) => setTimeout(resolve, delay));
    }
  }
}
