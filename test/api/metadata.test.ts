import { addConnection, addIntegration, expectApiError, expectUnchanged, startTestApi, type TestApi } from '../helpers/api';

let api: TestApi;

beforeAll(async () => {
  api = await startTestApi();
  await addIntegration(api.dev, 'github');
  await addIntegration(api.dev, 'slack');
});
afterAll(() => api.close());

interface Mapping {
  fieldMapping: Record<string, string>;
  idsToSkip: { id: number; path: string };
}

/** Fresh connections with known metadata, named after the test. */
async function connections(prefix: string, count: number): Promise<string[]> {
  const ids = Array.from({ length: count }, (_, i) => `${prefix}-${i}`);
  for (const id of ids) await addConnection(api.dev, 'github', id, { metadata: { keep: 'old', nested: { a: 1, b: 2 } } });
  return ids;
}

test('setMetadata (POST) replaces the whole metadata and echoes the request', async () => {
  const [id] = await connections('set', 1);
  const echoed = await api.dev.setMetadata('github', id!, { nested: { a: 9 } });
  expect(echoed).toEqual({ metadata: { nested: { a: 9 } }, connection_id: id, provider_config_key: 'github' });
  expect(await api.dev.getMetadata('github', id!)).toEqual({ nested: { a: 9 } });
});

test('updateMetadata (PATCH) merges top-level keys; a given key replaces the old value whole', async () => {
  const [id] = await connections('update', 1);
  await api.dev.updateMetadata('github', id!, { nested: { c: 3 }, added: true });
  expect(await api.dev.getMetadata('github', id!)).toEqual({ keep: 'old', nested: { c: 3 }, added: true });
});

test('an array of ids changes every one of them, and no other connection', async () => {
  const ids = await connections('many', 3);
  const [bystander] = await connections('bystander', 1);
  await api.dev.setMetadata('github', [ids[0]!, ids[1]!], { batch: 1 });
  await api.dev.updateMetadata('github', [ids[1]!, ids[2]!], { merged: 2 });
  expect(await api.dev.getMetadata('github', ids[0]!)).toEqual({ batch: 1 });
  expect(await api.dev.getMetadata('github', ids[1]!)).toEqual({ batch: 1, merged: 2 });
  expect(await api.dev.getMetadata('github', ids[2]!)).toEqual({ keep: 'old', nested: { a: 1, b: 2 }, merged: 2 });
  expect(await api.dev.getMetadata('github', bystander!)).toEqual({ keep: 'old', nested: { a: 1, b: 2 } });
});

test('getMetadata is typed by the caller', async () => {
  const [id] = await connections('typed', 1);
  await api.dev.setMetadata('github', id!, { fieldMapping: { title: 'name' }, idsToSkip: { id: 4, path: '/x' } });
  const typed = await api.dev.getMetadata<Mapping>('github', id!);
  expect(typed.fieldMapping.title).toBe('name');
  expect(typed.idsToSkip.id + 1).toBe(5);
});

test('all or nothing: one unknown id in the array changes none (POST and PATCH)', async () => {
  const ids = await connections('atomic', 2);
  await expectUnchanged(api.store.db, async () => {
    await expectApiError(api.dev.setMetadata('github', [...ids, 'nobody'], { lost: true }), 404, 'unknown_connection');
    await expectApiError(api.dev.updateMetadata('github', ['nobody', ...ids], { lost: true }), 404, 'unknown_connection');
  });
  for (const id of ids) expect(await api.dev.getMetadata('github', id)).toEqual({ keep: 'old', nested: { a: 1, b: 2 } });
});

test('ids are scoped to the integration: a connection of another integration counts as unknown', async () => {
  const [id] = await connections('scoped', 1);
  await addConnection(api.dev, 'slack', 'slack-only');
  await expectUnchanged(api.store.db, () =>
    expectApiError(api.dev.setMetadata('github', [id!, 'slack-only'], { lost: true }), 404, 'unknown_connection'),
  );
  await expectApiError(api.dev.setMetadata('nope', id!, {}), 404, 'unknown_provider_config');
});

test('an empty object clears metadata with POST and is a no-op with PATCH', async () => {
  const [a, b] = await connections('empty', 2);
  await api.dev.setMetadata('github', a!, {});
  await api.dev.updateMetadata('github', b!, {});
  expect(await api.dev.getMetadata('github', a!)).toEqual({});
  expect(await api.dev.getMetadata('github', b!)).toEqual({ keep: 'old', nested: { a: 1, b: 2 } });
});
