import type { Db } from '../../src/store/db';
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
