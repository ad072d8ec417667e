import { startRetention } from '../../src/store/retention';
import { testStore } from '../helpers/db';

let store: Awaited<ReturnType<typeof testStore>>;
let env: number;

beforeAll(async () => {
  store = await testStore();
  await store.environments.ensureDefaults();
  env = (await store.environments.byName('dev'))!.id;
});
afterAll(() => store.drop());

const delivery = (key: string) => ({ dedupeKey: key, type: 'sync' as const, connectionId: 'c1', providerConfigKey: 'github', url: 'http://127.0.0.1:9/hook', body: '{}' });
const age = (table: string, column: string, days: number, where: string, value: unknown) =>
  store.db.query(`UPDATE ${table} SET ${column} = now() - $1 * interval '1 day' WHERE ${where} = $2`, [days, value]);

test('retention deletes finished deliveries and received payloads past it; pending and recent ones stay', async () => {
  const [oldFailed, oldPending, recentFailed] = await store.webhooks.enqueue(env, [delivery('old-failed'), delivery('old-pending'), delivery('recent-failed')]);
  await store.webhooks.fail(oldFailed!);
  await store.webhooks.fail(recentFailed!);
  await age('webhook_deliveries', 'created_at', 20, 'id', oldFailed);
  await age('webhook_deliveries', 'created_at', 20, 'id', oldPending);
  const oldPayload = await store.webhooks.saveIncoming(env, 'github', { old: true });
  const recentPayload = await store.webhooks.saveIncoming(env, 'github', { recent: true });
  await age('incoming_webhooks', 'received_at', 20, 'id', oldPayload);

  const stop = startRetention(store, 15, (err) => {
    throw err;
  });
  try {
    const deadline = Date.now() + 10_000;
    let ids: number[] = [];
    let payloads: string[] = [];
    while (Date.now() < deadline) {
      ids = (await store.db.query<{ id: string }>('SELECT id FROM webhook_deliveries ORDER BY id')).rows.map((r) => Number(r.id));
      payloads = (await store.db.query<{ id: string }>('SELECT id FROM incoming_webhooks')).rows.map((r) => r.id);
      if (!ids.includes(oldFailed!) && !payloads.includes(oldPayload)) break;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    expect(ids).toEqual([oldPending, recentFailed]);
    expect(payloads).toEqual([recentPayload]);
  } finally {
    stop();
  }
});
