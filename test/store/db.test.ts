import { randomBytes } from 'node:crypto';
import { openDb, type Db } from '../../src/store/db';
import { onPostgres, testDb } from '../helpers/db';

let db: Db & { drop(): Promise<void> };
beforeAll(async () => {
  db = await testDb();
});
afterAll(() => db.drop());

/** Whether another transaction could take the lock `pg_advisory_xact_lock(key, hashtext(name))` now. */
const lockIsFree = (key: number, name: string) =>
  db.transaction(async (tx) => (await tx.query<{ free: boolean }>('SELECT pg_try_advisory_xact_lock($1, hashtext($2)) AS free', [key, name])).rows[0]!.free);

describe('a transaction that takes a lock first', () => {
  // A name that needs quoting, sent without parameters on Postgres.
  const name = `it's a \\ "model"; SELECT 1`;

  test('holds it until it commits: a second one with the same lock starts after', async () => {
    const order: string[] = [];
    let release!: () => void;
    const held = new Promise<void>((resolve) => (release = resolve));
    let entered!: () => void;
    const first = db.transaction(async () => {
      entered();
      order.push('first in');
      await held;
      order.push('first out');
    }, [7, name]);
    await new Promise<void>((resolve) => (entered = resolve));
    const second = db.transaction(async () => void order.push('second in'), [7, name]);
    await new Promise((resolve) => setTimeout(resolve, 200));
    release();
    await Promise.all([first, second]);
    expect(order).toEqual(['first in', 'first out', 'second in']);
  });

  onPostgres('takes the same lock as pg_advisory_xact_lock(key, hashtext(name)) with parameters, and lets go of it on commit and on rollback', async () => {
    let release!: () => void;
    const held = new Promise<void>((resolve) => (release = resolve));
    let entered!: () => void;
    const holding = db.transaction(async () => {
      entered();
      await held;
    }, [8, name]);
    await new Promise<void>((resolve) => (entered = resolve));
    expect(await lockIsFree(8, name)).toBe(false);
    expect(await lockIsFree(8, `${name} `)).toBe(true);
    release();
    await holding;
    expect(await lockIsFree(8, name)).toBe(true);

    await expect(db.transaction(() => Promise.reject(new Error('boom')), [8, name])).rejects.toThrow('boom');
    expect(await lockIsFree(8, name)).toBe(true);
  });

  test('commits what it wrote', async () => {
    await db.query('CREATE TABLE locked_writes (v int)');
    await db.transaction((tx) => tx.query('INSERT INTO locked_writes VALUES (1)'), [9, name]);
    await expect(db.transaction((tx) => tx.query('INSERT INTO locked_writes VALUES (2)').then(() => Promise.reject(new Error('no'))), [9, name])).rejects.toThrow('no');
    expect((await db.query<{ v: number }>('SELECT v FROM locked_writes')).rows).toEqual([{ v: 1 }]);
  });

  test('refuses a key that is not an integer, and writes nothing', async () => {
    await db.query('CREATE TABLE refused_writes (v int)');
    await expect(db.transaction((tx) => tx.query('INSERT INTO refused_writes VALUES (1)'), [1.5, name])).rejects.toThrow();
    expect((await db.query('SELECT v FROM refused_writes')).rows).toEqual([]);
  });
});

describe('statements with parameters, on Postgres', () => {
  /** A one-connection database in a schema of its own, preparing at most `preparedStatements` statements. */
  async function oneConnection(preparedStatements?: number) {
    const schema = `t_${randomBytes(6).toString('hex')}`;
    const own = await openDb({ url: process.env.DATABASE_URL!, schema, maxConnections: 1, preparedStatements });
    return Object.assign(own, { drop: async () => (await own.query(`DROP SCHEMA ${schema} CASCADE`), await own.close()) });
  }
  /** The statements prepared on the (one) connection. */
  const preparedOn = async (own: Db) => (await own.query<{ statement: string }>('SELECT statement FROM pg_prepared_statements ORDER BY statement')).rows.map((r) => r.statement);

  onPostgres('are prepared once per connection, up to the limit; statements without parameters never are', async () => {
    const own = await oneConnection(2);
    try {
      for (let i = 0; i < 3; i++) {
        expect((await own.query<{ x: number }>('SELECT $1::int + 1 AS x', [i])).rows).toEqual([{ x: i + 1 }]);
        await own.transaction((tx) => tx.query('SELECT $1::text AS y', [`in a transaction ${i}`]));
      }
      await own.query('SELECT $1::int + 2 AS x', [1]);
      await own.query('SELECT 3 AS x');
      expect(await preparedOn(own)).toEqual(['SELECT $1::int + 1 AS x', 'SELECT $1::text AS y']);
    } finally {
      await own.drop();
    }
  });

  onPostgres('are not prepared with a limit of 0', async () => {
    const own = await oneConnection(0);
    try {
      await own.query('SELECT $1::int AS x', [1]);
      expect(await preparedOn(own)).toEqual([]);
    } finally {
      await own.drop();
    }
  });

  onPostgres('still run after another process changed a table they read: alone at once, in a transaction from the next one', async () => {
    const own = await oneConnection();
    const other = await openDb({ url: process.env.DATABASE_URL! });
    try {
      const schema = (await own.query<{ s: string }>('SELECT current_schema() AS s')).rows[0]!.s;
      await own.query('CREATE TABLE reshaped (id int, a text)');
      await own.query("INSERT INTO reshaped VALUES (1, 'one')");
      const read = (q: Pick<Db, 'query'>) => q.query('SELECT * FROM reshaped WHERE id = $1', [1]);
      expect((await read(own)).rows).toEqual([{ id: 1, a: 'one' }]);
      await other.query(`ALTER TABLE ${schema}.reshaped ADD COLUMN b text DEFAULT 'new'`);
      expect((await read(own)).rows).toEqual([{ id: 1, a: 'one', b: 'new' }]);

      const readIn = (q: Pick<Db, 'query'>) => q.query('SELECT * FROM reshaped WHERE id = $1 AND true', [1]);
      expect((await own.transaction(readIn)).rows).toEqual([{ id: 1, a: 'one', b: 'new' }]);
      await other.query(`ALTER TABLE ${schema}.reshaped ADD COLUMN c int DEFAULT 3`);
      await expect(own.transaction(readIn)).rejects.toThrow('cached plan must not change result type');
      expect((await own.transaction(readIn)).rows).toEqual([{ id: 1, a: 'one', b: 'new', c: 3 }]);
      // The connection still holds the stale statement under its name: a new statement gets a name of its own.
      expect((await own.query<{ x: number }>('SELECT $1::int + 4 AS x', [1])).rows).toEqual([{ x: 5 }]);
      expect((await own.transaction((tx) => tx.query<{ x: number }>('SELECT $1::int + 5 AS x', [1]))).rows).toEqual([{ x: 6 }]);
    } finally {
      await other.close();
      await own.drop();
    }
  });
});
