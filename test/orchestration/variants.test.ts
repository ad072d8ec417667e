import { Nango } from '@nangohq/node';
import { Syncline, SynclineApiError } from '../../src/sdk';
import { syncWorkflowId } from '../../src/worker/workflow-ids';
import { startOrchestrationTest, waitFor, type OrchestrationTest } from './helpers';

// Sync variants (created and deleted only through their routes, over real HTTP with both clients)
// and `opts.emptyCache` on trigger.
jest.setTimeout(90_000);

const YAML = `integrations:
  fake:
    syncs:
      items:
        runs: every hour
        output: Item
        endpoint: GET /items
        sync_type: full
      writer:
        runs: every day
        output: Item
        endpoint: GET /writer
        auto_start: false
models:
  Item:
    id: string
    name: string
`;

// Saves the fake API's items, named after the variant so each variant's records are told apart.
const ITEMS = `module.exports = async function fetchData(nango) {
  const res = await nango.get({ endpoint: '/offset/items', params: { offset: 0, limit: 1000 } });
  await nango.batchSave(res.data.items.map((i) => ({ id: String(i.id), name: nango.variant + ':' + i.name })), 'Item');
};`;

// Commits one record and a checkpoint per slow call, forever.
const WRITER = `module.exports = async function fetchData(nango) {
  for (let i = 0; ; i++) {
    await nango.get({ endpoint: '/slow', params: { ms: 100, who: nango.connectionId + '/' + nango.variant } });
    await nango.batchSave([{ id: String(i), name: 'n' + i }], 'Item');
    await nango.saveCheckpoint({ i });
  }
};`;

let t: OrchestrationTest;
let syncline: Syncline;

beforeAll(async () => {
  t = await startOrchestrationTest({ heartbeatTimeoutMs: 3000 });
  syncline = new Syncline({ secretKey: t.keys.dev, host: t.url });
  const res = await t.deploy(YAML, { 'sync/items': ITEMS, 'sync/writer': WRITER });
  expect(res.status).toBe(200);
});
afterAll(() => t?.close());

const records = async (connectionId: string, variant?: string, filter?: string) => {
  const page = await syncline.listRecords<{ id: string; name: string }>({ providerConfigKey: 'fake', connectionId, model: 'Item', variant, filter: filter as never, limit: 1000 });
  return page.records;
};
const jobsOf = async (connectionId: string, sync: string) => {
  const [target] = await t.targets(connectionId, [sync]);
  return t.store.jobs.jobs(target!.row.id);
};
const finished = (connectionId: string, sync: string, n: number) =>
  waitFor(`${n} finished ${sync} jobs of ${connectionId}`, async () => {
    const jobs = await jobsOf(connectionId, sync);
    return jobs.filter((j) => j.status !== 'RUNNING').length >= n && jobs;
  });
const syncRows = async (connectionId: string) => {
  const [target] = await t.targets(connectionId, ['items']);
  return (await t.store.jobs.syncsOf([target!.connection.id])).map((r) => `${r.name}::${r.variant}`).sort();
};
const calls = (who: string) => t.fake.requestsTo('/slow').filter((r) => r.query.who === who).length;

test('a variant that was not created is a 404 in every sync route, and creates nothing', async () => {
  await t.connect('v0');
  await finished('v0', 'items', 1);
  const target = { provider_config_key: 'fake', connection_id: 'v0' };
  const routes = [
    t.request('POST', '/sync/trigger', { json: { ...target, syncs: ['items::ghost'] } }),
    t.request('POST', '/sync/trigger', { json: { ...target, syncs: [{ name: 'items', variant: 'ghost' }] } }),
    t.request('POST', '/sync/pause', { json: { ...target, syncs: ['items::ghost'] } }),
    t.request('POST', '/sync/start', { json: { ...target, syncs: ['items::ghost'] } }),
    t.request('GET', '/sync/status?syncs=items::ghost&provider_config_key=fake&connection_id=v0'),
    t.request('PUT', '/sync/update-connection-frequency', { json: { ...target, sync_name: 'items', sync_variant: 'ghost', frequency: 'every 2 hours' } }),
    // Integration-wide: no connection has it.
    t.request('POST', '/sync/trigger', { json: { provider_config_key: 'fake', syncs: ['items::ghost'] } }),
  ];
  for (const res of await Promise.all(routes)) expect(res).toMatchObject({ status: 404, body: { error: { code: 'unknown_sync_variant' } } });
  expect(await syncRows('v0')).toEqual(['items::base', 'writer::base']);
  await expect(t.orchestration.orchestrator.live((await t.targets('v0', ['items'])).map((x) => ({ ...x, key: { ...x.key, variant: 'ghost' } })))).resolves.toEqual([null]);
});

test('createSyncVariant starts the variant: its own records and jobs, listed and addressed by name and variant', async () => {
  await t.connect('v1');
  await finished('v1', 'items', 1);
  const created = await syncline.createSyncVariant({ provider_config_key: 'fake', connection_id: 'v1', name: 'items', variant: 'eu' });
  expect(created).toEqual({ id: expect.any(String), name: 'items', variant: 'eu' });

  await finished('v1', 'items::eu', 1);
  const eu = await records('v1', 'eu');
  expect(eu).toHaveLength(23);
  expect(eu.every((r) => r.name.startsWith('eu:'))).toBe(true);
  expect((await records('v1')).every((r) => r.name.startsWith('base:'))).toBe(true);

  const { syncs } = await syncline.syncStatus('fake', '*', 'v1');
  expect(syncs.map((s) => `${s.name}::${s.variant}`).sort()).toEqual(['items::base', 'items::eu', 'writer::base']);
  const variant = syncs.find((s) => s.variant === 'eu')!;
  expect(variant).toMatchObject({ id: created.id, recordCount: { 'Item::eu': 23 }, latestResult: { 'Item::eu': { added: 23, updated: 0, deleted: 0 } } });

  // Addressed as {name, variant} and as name::variant; the base sync is not run by it.
  const baseJobs = (await jobsOf('v1', 'items')).length;
  await syncline.triggerSync('fake', [{ name: 'items', variant: 'eu' }], 'v1');
  await finished('v1', 'items::eu', 2);
  expect((await jobsOf('v1', 'items')).length).toBe(baseJobs);
  expect((await syncline.syncStatus('fake', ['items::eu' as never], 'v1')).syncs).toEqual([expect.objectContaining({ variant: 'eu' })]);

  const error = (p: Promise<unknown>) => p.then(() => null, (e: SynclineApiError) => ({ status: e.status, code: e.code }));
  const props = { provider_config_key: 'fake', connection_id: 'v1', name: 'items' };
  expect(await error(syncline.createSyncVariant({ ...props, variant: 'eu' }))).toEqual({ status: 409, code: 'sync_variant_already_exists' });
  expect(await error(syncline.createSyncVariant({ ...props, variant: 'BASE' }))).toEqual({ status: 400, code: 'invalid_variant' });
  expect(await error(syncline.createSyncVariant({ ...props, variant: 'a b' }))).toEqual({ status: 400, code: 'invalid_params' });
  expect(await error(syncline.createSyncVariant({ ...props, name: 'nope', variant: 'x' }))).toEqual({ status: 404, code: 'unknown_sync' });
  expect(await error(syncline.createSyncVariant({ ...props, connection_id: 'nobody', variant: 'x' }))).toMatchObject({ status: 404 });
  expect((await t.request('POST', '/sync/items/variant/x', { json: { provider_config_key: 'fake' } })).status).toBe(400);
});

test('deleteSyncVariant stops a running variant, then deletes its records, checkpoint and jobs; the base sync stays', async () => {
  await t.connect('v2');
  await finished('v2', 'items', 1);
  await syncline.createSyncVariant({ provider_config_key: 'fake', connection_id: 'v2', name: 'writer', variant: 'w' });
  await syncline.triggerSync('fake', [{ name: 'writer', variant: 'w' }], 'v2');
  await waitFor('the variant committing records', async () => (await records('v2', 'w')).length >= 3);
  const [target] = await t.targets('v2', ['writer::w']);
  expect(await t.store.jobs.jobs(target!.row.id)).toEqual([expect.objectContaining({ status: 'RUNNING' })]);

  expect(await syncline.deleteSyncVariant({ provider_config_key: 'fake', connection_id: 'v2', name: 'writer', variant: 'w' })).toEqual({ success: true });
  const stoppedAt = calls('v2/w');
  await new Promise((r) => setTimeout(r, 1500));
  // The script was stopped before its records were deleted: none come back.
  expect(calls('v2/w')).toBe(stoppedAt);
  expect(await records('v2', 'w')).toEqual([]);
  expect(await records('v2', 'w', 'deleted')).toEqual([]);
  expect(await t.store.jobs.jobs(target!.row.id)).toEqual([]);
  expect(await syncRows('v2')).toEqual(['items::base', 'writer::base']);
  expect(await t.orchestration.orchestrator.live([target!])).toEqual([null]);
  const [checkpoint] = (await t.store.db.query('SELECT count(*)::int AS n FROM checkpoints WHERE key LIKE $1', ['%:v2:writer:w'])).rows as Array<{ n: number }>;
  expect(checkpoint!.n).toBe(0);
  expect((await records('v2')).length).toBe(23);

  const again = await t.request('DELETE', '/sync/writer/variant/w', { json: { provider_config_key: 'fake', connection_id: 'v2' } });
  expect(again).toMatchObject({ status: 404, body: { error: { code: 'unknown_sync_variant' } } });
  const base = await t.request('DELETE', '/sync/writer/variant/base', { json: { provider_config_key: 'fake', connection_id: 'v2' } });
  expect(base).toMatchObject({ status: 400, body: { error: { code: 'invalid_variant' } } });
  // It can be created again, from nothing.
  await syncline.createSyncVariant({ provider_config_key: 'fake', connection_id: 'v2', name: 'items', variant: 'w' });
  await finished('v2', 'items::w', 1);
});

test('@nangohq/node: createSyncVariant and deleteSyncVariant', async () => {
  await t.connect('v3');
  const nango = new Nango({ secretKey: t.keys.dev, host: t.url });
  const created = await nango.createSyncVariant({ provider_config_key: 'fake', connection_id: 'v3', name: 'items', variant: 'nango' });
  expect(created).toMatchObject({ name: 'items', variant: 'nango' });
  await finished('v3', 'items::nango', 1);
  const listed = await nango.listRecords({ providerConfigKey: 'fake', connectionId: 'v3', model: 'Item', variant: 'nango' });
  expect(listed.records).toHaveLength(23);
  const status = await nango.syncStatus('fake', [{ name: 'items', variant: 'nango' }] as never, 'v3');
  expect(status.syncs).toEqual([expect.objectContaining({ name: 'items', variant: 'nango' })]);
  expect(await nango.deleteSyncVariant({ provider_config_key: 'fake', connection_id: 'v3', name: 'items', variant: 'nango' })).toEqual({ success: true });
  expect((await nango.listRecords({ providerConfigKey: 'fake', connectionId: 'v3', model: 'Item', variant: 'nango' })).records).toEqual([]);
});

test('deleting a connection stops its variants too', async () => {
  await t.connect('v4');
  await syncline.createSyncVariant({ provider_config_key: 'fake', connection_id: 'v4', name: 'items', variant: 'x' });
  await finished('v4', 'items::x', 1);
  const [target] = await t.targets('v4', ['items::x']);
  expect(await t.orchestration.orchestrator.live([target!])).not.toEqual([null]);
  await syncline.deleteConnection('fake', 'v4');
  await waitFor('the variant workflow stopped', async () => (await t.orchestration.orchestrator.live([target!]))[0] === null);
  const handle = t.orchestration.orchestrator.client.workflow.getHandle(syncWorkflowId(target!.key));
  expect((await handle.describe()).status.name).toBe('TERMINATED');
});

test('trigger with reset and emptyCache deletes the sync records before the run; either alone keeps them', async () => {
  await t.connect('e1');
  await finished('e1', 'items', 1);
  const removed = t.fake.items.splice(0, 3);
  try {
    // No track_deletes: a reset run alone leaves the removed items in place.
    await syncline.triggerSync('fake', ['items'], 'e1', { reset: true });
    await finished('e1', 'items', 2);
    expect(await records('e1')).toHaveLength(23);
    await syncline.triggerSync('fake', ['items'], 'e1', { emptyCache: true });
    await finished('e1', 'items', 3);
    expect(await records('e1')).toHaveLength(23);

    await syncline.triggerSync('fake', ['items'], 'e1', { reset: true, emptyCache: true });
    const jobs = await finished('e1', 'items', 4);
    const ids = (await records('e1')).map((r) => r.id);
    expect(ids).toHaveLength(20);
    for (const item of removed) expect(ids).not.toContain(String(item.id));
    // Gone entirely, not marked deleted; the run re-added what it saw.
    expect(await records('e1', undefined, 'deleted')).toEqual([]);
    expect(jobs[0]).toMatchObject({ status: 'SUCCESS', reset: true, result: { Item: { added: 20, updated: 0, deleted: 0 } } });

    // The deprecated sync_mode of older clients, with @nangohq/node's opts too.
    t.fake.items.splice(0, 2);
    const nango = new Nango({ secretKey: t.keys.dev, host: t.url });
    await nango.triggerSync('fake', ['items'], 'e1', { reset: true, emptyCache: true });
    await finished('e1', 'items', 5);
    expect(await records('e1')).toHaveLength(18);
    t.fake.items.splice(0, 1);
    await nango.triggerSync('fake', ['items'], 'e1', 'full_refresh_and_clear_cache');
    await finished('e1', 'items', 6);
    expect(await records('e1')).toHaveLength(17);
  } finally {
    t.fake.reset();
  }
});
