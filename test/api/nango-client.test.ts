import { Nango } from '@nangohq/node';
import { isAxiosError } from 'axios';
import { addConnection, addIntegration, startTestApi, writeRecords, type TestApi } from '../helpers/api';

let api: TestApi;
let nango: Nango;

/** Reading a connection stamps last_fetched_at, so two reads differ only there. */
const withoutFetchTimes = <T extends { last_fetched_at?: unknown }>(c: T) => ({ ...c, last_fetched_at: 'ignored' });

beforeAll(async () => {
  api = await startTestApi();
  nango = new Nango({ secretKey: api.keys.dev, host: api.url });
  await addIntegration(api.dev, 'github');
  await addIntegration(api.dev, 'slack');
  await addConnection(api.dev, 'github', 'alice', { end_user: { id: 'u-alice' }, tags: { plan: 'pro' }, metadata: { a: 1 } });
  await addConnection(api.dev, 'slack', 'alice', { end_user: { id: 'u-alice' } });
  await addConnection(api.dev, 'github', 'bob');
  await writeRecords(api, 'github', 'alice', 'Issue', Array.from({ length: 30 }, (_, i) => ({ id: `i${i}`, title: `t${i}` })));
  await api.dev.setEnvironmentVariables([{ name: 'BOT_TOKEN', value: 'abc' }]);
});
afterAll(() => api.close());

test('getConnection returns what our SDK returns, refresh token only when asked', async () => {
  const theirs = await nango.getConnection('github', 'alice');
  const ours = await api.dev.getConnection('github', 'alice');
  expect(withoutFetchTimes(theirs)).toEqual(withoutFetchTimes(ours));
  expect(theirs.credentials).not.toHaveProperty('refresh_token');
  const withRefresh = await nango.getConnection('github', 'alice', false, true);
  expect(withRefresh.credentials).toMatchObject({ access_token: 'access-alice', refresh_token: 'refresh-alice' });
  expect(await nango.getToken('github', 'alice')).toBe('access-alice');
});

test('listConnections in both call forms', async () => {
  expect(await nango.listConnections()).toEqual(await api.dev.listConnections());
  expect(await nango.listConnections('alice')).toEqual(await api.dev.listConnections('alice'));
  expect(await nango.listConnections(undefined, 'bo')).toEqual(await api.dev.listConnections(undefined, 'bo'));
  const filtered = await nango.listConnections({ userId: 'u-alice', integrationId: ['github', 'slack'], tags: { plan: 'pro' } });
  expect(filtered).toEqual(await api.dev.listConnections({ userId: 'u-alice', integrationId: ['github', 'slack'], tags: { plan: 'pro' } }));
  expect(filtered.connections.map((c) => `${c.provider_config_key}/${c.connection_id}`)).toEqual(['github/alice']);
});

test("listConnections' email and displayName tags filter on the end user", async () => {
  await addConnection(api.dev, 'github', 'dora', { end_user: { id: 'u-dora', email: 'dora@example.com', display_name: 'Dora M' } });
  const ids = (r: { connections: Array<{ connection_id: string }> }) => r.connections.map((c) => c.connection_id);
  expect(ids(await nango.listConnections({ tags: { email: 'dora@example.com' } }))).toEqual(['dora']);
  expect(ids(await nango.listConnections({ tags: { displayName: 'Dora M' } }))).toEqual(['dora']);
  expect(ids(await nango.listConnections({ tags: { email: 'nobody@example.com' } }))).toEqual([]);
});

test('setMetadata / updateMetadata / getMetadata, and ours sees the same', async () => {
  const set = await nango.setMetadata('github', ['alice', 'bob'], { filter: 'status=closed' });
  expect(set.data).toEqual({ metadata: { filter: 'status=closed' }, connection_id: ['alice', 'bob'], provider_config_key: 'github' });
  await nango.updateMetadata('github', 'bob', { extra: true });
  expect(await nango.getMetadata('github', 'alice')).toEqual({ filter: 'status=closed' });
  expect(await nango.getMetadata<{ filter: string; extra: boolean }>('github', 'bob')).toEqual(await api.dev.getMetadata('github', 'bob'));
  expect(await api.dev.getMetadata('github', 'bob')).toEqual({ filter: 'status=closed', extra: true });
});

test('listIntegrations and getIntegration, with and without credentials', async () => {
  expect(await nango.listIntegrations()).toEqual(await api.dev.listIntegrations());
  expect(await nango.getIntegration({ uniqueKey: 'github' })).toEqual(await api.dev.getIntegration({ uniqueKey: 'github' }));
  const theirs = await nango.getIntegration({ uniqueKey: 'github' }, { include: ['credentials'] });
  expect(theirs).toEqual(await api.dev.getIntegration({ uniqueKey: 'github' }, { include: ['credentials'] }));
  expect(theirs.data.credentials).toMatchObject({ client_secret: 'secret-github' });
});

test('listRecords: pages, cursors, ids and filter (Nango calls /records/ with a trailing slash)', async () => {
  const config = { providerConfigKey: 'github', connectionId: 'alice', model: 'Issue', limit: 12 };
  let cursor: string | null = null;
  const seen: Array<string | number> = [];
  do {
    const theirs: Awaited<ReturnType<Nango['listRecords']>> = await nango.listRecords({ ...config, cursor });
    expect(theirs).toEqual(await api.dev.listRecords({ ...config, cursor }));
    seen.push(...theirs.records.map((r) => r.id));
    cursor = theirs.next_cursor;
  } while (cursor);
  // One batch shares a timestamp, so ids order it: i0, i1, i10, ...
  expect(seen).toEqual(Array.from({ length: 30 }, (_, i) => `i${i}`).sort());

  const ids = Array.from({ length: 25 }, (_, i) => `i${i}`);
  const byIds = await nango.listRecords({ ...config, limit: 100, ids, filter: 'added' });
  expect(byIds.records).toHaveLength(25);
  expect(byIds).toEqual(await api.dev.listRecords({ ...config, limit: 100, ids, filter: 'added' }));
});

test('getEnvironmentVariables', async () => {
  expect(await nango.getEnvironmentVariables()).toEqual([{ name: 'BOT_TOKEN', value: 'abc' }]);
});

test('patchConnection and deleteConnection', async () => {
  await addConnection(api.dev, 'github', 'carol');
  expect(await nango.patchConnection({ connectionId: 'carol', provider_config_key: 'github' }, { tags: { via: 'nango' } })).toEqual({ success: true });
  expect((await api.dev.getConnection('github', 'carol')).tags).toEqual({ via: 'nango' });
  await nango.deleteConnection('github', 'carol');
  expect((await api.dev.listConnections('carol')).connections).toEqual([]);
});

test('errors reach the official client as axios errors carrying our error body', async () => {
  const err = await nango.getConnection('github', 'nobody').catch((e: unknown) => e);
  if (!isAxiosError(err)) throw err; // @nangohq/node has its own copy of axios, hence no instanceof
  expect(err.response?.status).toBe(404);
  expect(err.response?.data).toEqual({ error: { code: 'unknown_connection', message: expect.any(String) } });
});

test('the apiKey option works as well as secretKey', async () => {
  const byApiKey = new Nango({ apiKey: api.keys.prod, host: `${api.url}/` });
  expect(await byApiKey.listIntegrations()).toEqual({ configs: [] });
});
