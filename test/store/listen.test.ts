import { onOutboxWrite } from '../../src/store/outbox';
import { onPostgres, testStore } from '../helpers/db';

// Announcements between processes (LISTEN/NOTIFY): what wakes the outbox drains at once instead of
// their polling, on both backends; on Postgres also across a lost listening connection.

let store: Awaited<ReturnType<typeof testStore>>;
beforeAll(async () => {
  store = await testStore();
  await store.environments.ensureDefaults();
});
afterAll(() => store.drop());

/** The payloads `listen` hands over, and a wait for the next one(s). */
function recorder() {
  const heard: string[] = [];
  let waiters: Array<() => void> = [];
  return {
    heard,
    hear(payload: string) {
      heard.push(payload);
      for (const w of waiters) w();
      waiters = [];
    },
    async until(ok: () => boolean, ms = 5000): Promise<void> {
      const deadline = Date.now() + ms;
      while (!ok()) {
        if (Date.now() > deadline) throw new Error(`not heard in ${ms} ms (heard: ${JSON.stringify(heard)})`);
        await new Promise<void>((resolve) => {
          waiters.push(resolve);
          setTimeout(resolve, 50);
        });
      }
    },
  };
}

const pause = (ms: number) => new Promise((r) => setTimeout(r, ms));

test('a notification from another session is heard with its payload, until the listener stops', async () => {
  const r = recorder();
  const stop = await store.db.listen('syncline_test_channel', r.hear);
  await store.db.query(`SELECT pg_notify('syncline_test_channel', 'one')`);
  await store.db.transaction(async (tx) => void (await tx.query(`SELECT pg_notify('syncline_test_channel', 'two')`)));
  await r.until(() => r.heard.includes('two'));
  expect(r.heard).toEqual(['one', 'two']);
  await stop();
  await store.db.query(`SELECT pg_notify('syncline_test_channel', 'three')`);
  await pause(300);
  expect(r.heard).toEqual(['one', 'two']);
});

test('a channel name that is not a plain identifier is refused', async () => {
  await expect(store.db.listen('x; DROP TABLE connections', () => undefined)).rejects.toThrow('invalid channel name');
});

test("rows added to an outbox are announced at their commit to this schema's listeners", async () => {
  const r = recorder();
  const stop = await onOutboxWrite(store.db, () => r.hear('written'));
  try {
    const env = (await store.environments.byName('dev'))!;
    await store.integrations.create(env.id, { uniqueKey: 'announced', provider: 'github' });
    await pause(200);
    expect(r.heard).toEqual([]);
    // A connection's creation adds a lifecycle row (and an auth row).
    await store.connections.upsert(env.id, 'announced', { connectionId: 'c1', credentials: { type: 'API_KEY', apiKey: 'k' } });
    await r.until(() => r.heard.length > 0);
    const { rows } = await store.db.query<{ n: number }>(`SELECT count(*)::int AS n FROM sync_lifecycle_events`);
    expect(rows[0]!.n).toBeGreaterThan(0);
    // Not heard before the commit of the transaction that wrote the rows.
    const before = r.heard.length;
    await store.db.transaction(async (tx) => {
      await tx.query(`INSERT INTO sync_lifecycle_events (kind, environment_id, integration_key, connection_id) VALUES ('connection_created', $1, 'announced', 'c2')`, [env.id]);
      await pause(300);
      expect(r.heard.length).toBe(before);
    });
    await r.until(() => r.heard.length > before);
  } finally {
    await stop();
  }
});

onPostgres('another schema of the database announcing on the same channel does not wake this one', async () => {
  const r = recorder();
  const stop = await onOutboxWrite(store.db, () => r.hear('written'));
  try {
    await store.db.query(`SELECT pg_notify('syncline_outbox', 'some_other_schema')`);
    await pause(300);
    expect(r.heard).toEqual([]);
    const { rows } = await store.db.query<{ schema: string }>('SELECT current_schema() AS schema');
    await store.db.query(`SELECT pg_notify('syncline_outbox', $1)`, [rows[0]!.schema]);
    await r.until(() => r.heard.length === 1);
  } finally {
    await stop();
  }
});

onPostgres('a lost listening connection is opened again, and says so (what was sent meanwhile was missed)', async () => {
  const r = recorder();
  const stop = await store.db.listen('syncline_test_lost', r.hear);
  try {
    const listener = async () =>
      (await store.db.query<{ pid: number }>(`SELECT pid FROM pg_stat_activity WHERE query = 'LISTEN syncline_test_lost' AND datname = current_database()`)).rows.map((x) => x.pid);
    const [pid] = await listener();
    expect(pid).toBeDefined();
    await store.db.query('SELECT pg_terminate_backend($1)', [pid]);
    await r.until(() => r.heard.includes(''), 10_000);
    expect(await listener()).not.toContain(pid);
    await store.db.query(`SELECT pg_notify('syncline_test_lost', 'after')`);
    await r.until(() => r.heard.includes('after'));
  } finally {
    await stop();
  }
  // Stopped: its connection is gone.
  await pause(100);
  const { rows } = await store.db.query(`SELECT pid FROM pg_stat_activity WHERE query = 'LISTEN syncline_test_lost' AND datname = current_database() AND state <> 'idle in transaction'`);
  expect(rows).toEqual([]);
});
