import { testStore } from '../helpers/db';

test('smoke', async () => {
  const store = await testStore();
  try {
    const created = await store.environments.ensureDefaults();
    expect(created.map((c) => c.name)).toEqual(['dev', 'prod']);
    const env = (await store.environments.bySecretKey(created[0]!.secretKey))!;
    await store.integrations.create(env.id, { uniqueKey: 'github', provider: 'github' });
    const { connection } = await store.connections.upsert(env.id, 'github', { connectionId: 'c1', credentials: { type: 'API_KEY', apiKey: 'x' } });
    const r = await store.records.upsert(connection.id, 'Issue', [{ id: 1, title: 'a' }, { id: '2', title: 'b' }]);
    expect(r).toEqual({ added: 2, updated: 0, deleted: 0 });
    const r2 = await store.records.upsert(connection.id, 'Issue', [{ id: 1, title: 'a' }, { id: '2', title: 'c' }]);
    expect(r2).toEqual({ added: 0, updated: 1, deleted: 0 });
    const page = await store.records.list(connection.id, { model: 'Issue', limit: 1 });
    expect(page.records).toHaveLength(1);
    expect(page.next_cursor).not.toBeNull();
    console.log(JSON.stringify(page));
  } finally {
    await store.drop();
  }
});
