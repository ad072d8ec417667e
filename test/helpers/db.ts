import { randomBytes } from 'node:crypto';
import { openDb, type Db } from '../../src/store/db';
import { openStore, type Store } from '../../src/store';

/**
 * A fresh, migrated database for one test file: its own schema on the Postgres of `DATABASE_URL`,
 * else an in-memory PGlite. `drop()` removes the schema and closes the pool. The pool is small
 * (`maxConnections`, 5) because test files run side by side.
 */
export async function testDb(maxConnections = 5): Promise<Db & { drop(): Promise<void> }> {
  const url = process.env.DATABASE_URL;
  const schema = `t_${randomBytes(6).toString('hex')}`;
  const db = await openDb(url ? { url, schema, maxConnections } : {});
  return Object.assign(db, {
    async drop() {
      if (url) await db.query(`DROP SCHEMA ${schema} CASCADE`);
      await db.close();
    },
  });
}

/** A migrated store with a random encryption key; `drop()` as above. */
export async function testStore(key = randomBytes(32), maxConnections?: number): Promise<Store & { drop(): Promise<void> }> {
  const db = await testDb(maxConnections);
  const store = await openStore(db, key);
  return Object.assign(store, { drop: () => db.drop() });
}

/** A test store with its default environments and a `github` integration in `dev`, whose id is `envId`. */
export async function storeWithGithub(): Promise<{ store: Store & { drop(): Promise<void> }; envId: number }> {
  const store = await testStore();
  await store.environments.ensureDefaults();
  const envId = (await store.environments.byName('dev'))!.id;
  await store.integrations.create(envId, { uniqueKey: 'github', provider: 'github' });
  return { store, envId };
}

/**
 * `test` for cases that only exist on Postgres (several processes or transactions at once; PGlite
 * is single-connection). On PGlite they are not defined at all, rather than reported as skipped.
 */
export const onPostgres = (name: string, fn: jest.ProvidesCallback, timeout?: number): void => {
  if (process.env.DATABASE_URL) test(name, fn, timeout);
};
