import { startOrchestrationTest, waitFor, type OrchestrationTest } from './helpers';

jest.setTimeout(60_000);

const YAML = `integrations:
  fake:
    syncs:
      items:
        runs: every hour
        output: Item
        endpoint: GET /items
        sync_type: full
        track_deletes: true
      changes:
        runs: every day
        output: Change
        endpoint: GET /changes
        sync_type: incremental
      manual:
        runs: every day
        output: Item
        endpoint: GET /manual-items
        auto_start: false
models:
  Item:
    id: string
    name: string
  Change:
    id: string
    since: string | null
`;

const ITEMS = `module.exports = async function fetchData(nango) {
  const res = await nango.get({ endpoint: '/offset/items', params: { offset: 0, limit: 1000 } });
  await nango.batchSave(res.data.items.map((i) => ({ id: String(i.id), name: i.name })), 'Item');
};`;

const CHANGES = `module.exports = async function fetchData(nango) {
  const since = nango.lastSyncDate ? nango.lastSyncDate.toISOString() : null;
  await nango.log('lastSyncDate=' + since);
  await nango.batchSave([{ id: 'run-' + Date.now(), since }], 'Change');
};`;

let t: OrchestrationTest;

beforeAll(async () => {
  // Continue-as-new every 3 runs, so the tests below cross it; workflow code on two threads (SYNCLINE_WORKFLOW_THREADS=2, not the default).
  t = await startOrchestrationTest({ runsPerExecution: 3, workflowThreads: 2 });
  expect(t.orchestration.worker!.options.workflowThreadPoolSize).toBe(2);
  const res = await t.deploy(YAML, { 'sync/items': ITEMS, 'sync/changes': CHANGES, 'sync/manual': ITEMS });
  expect(res.status).toBe(200);
});
afterAll(() => t?.close());

const jobsOf = async (connectionId: string, sync: string) => {
  const [target] = await t.targets(connectionId, [sync]);
  return t.store.jobs.jobs(target!.row.id);
};
const finished = async (connectionId: string, sync: string, n: number) =>
  waitFor(`${n} finished ${sync} jobs of ${connectionId}`, async () => {
    const jobs = await jobsOf(connectionId, sync);
    return jobs.filter((j) => j.status !== 'RUNNING').length >= n && jobs;
  });

test('creating a connection starts its syncs: the first run saves the records and writes the job', async () => {
  await t.connect('c1');
  const jobs = await finished('c1', 'items', 1);
  expect(jobs[0]).toMatchObject({ status: 'SUCCESS', result: { Item: { added: 23, updated: 0, deleted: 0 } }, error: null });
  const records = await t.request('GET', '/records?model=Item&limit=100', { headers: { 'Connection-Id': 'c1', 'Provider-Config-Key': 'fake' } });
  expect(records.body.records).toHaveLength(23);
});

test('trigger runs now, and status matches the job rows', async () => {
  await t.connect('c2');
  await finished('c2', 'items', 1);
  t.fake.items.push({ id: 100, name: 'item 100' });
  const res = await t.request('POST', '/sync/trigger', { json: { syncs: ['items'], provider_config_key: 'fake', connection_id: 'c2' } });
  expect(res).toMatchObject({ status: 200, body: { success: true } });
  const jobs = await finished('c2', 'items', 2);
  expect(jobs[0]!.result).toEqual({ Item: { added: 1, updated: 0, deleted: 0 } });
  t.fake.items.pop();

  const status = await waitFor('status SUCCESS', async () => {
    const r = await t.request('GET', '/sync/status?syncs=items&provider_config_key=fake&connection_id=c2');
    return r.body.syncs?.[0]?.status === 'SUCCESS' && r.body.syncs[0];
  });
  expect(status).toMatchObject({
    connection_id: 'c2',
    name: 'items',
    variant: 'base',
    frequency: 'every hour',
    finishedAt: jobs[0]!.finishedAt!.toISOString(),
    latestResult: { Item: { added: 1, updated: 0, deleted: 0 } },
    recordCount: { Item: 24 },
  });
  expect(Date.parse(status.nextScheduledSyncAt)).toBeGreaterThan(Date.now());
  expect(Date.parse(status.nextScheduledSyncAt)).toBeLessThanOrEqual(Date.now() + 3_600_000);
  const all = await t.request('GET', '/sync/status?syncs=*&provider_config_key=fake&connection_id=c2');
  expect(all.body.syncs.map((s: any) => s.name).sort()).toEqual(['changes', 'items', 'manual']);
});

test('runs follow the schedule; pause stops them; start runs now and resumes the schedule', async () => {
  await t.connect('c3');
  await finished('c3', 'items', 1);
  const [target] = await t.targets('c3', ['items']);
  const handle = t.orchestration.orchestrator.client.workflow.getHandle((await import('../../src/worker/workflow-ids')).syncWorkflowId(target!.key));
  const firstRun = (await handle.describe()).runId;
  await t.orchestration.orchestrator.setFrequencyMs(target!, 700);
  await finished('c3', 'items', 4);
  // Three runs per execution: the workflow continued as new, with its schedule.
  expect((await handle.describe()).runId).not.toBe(firstRun);

  const paused = await t.request('POST', '/sync/pause', { json: { syncs: ['items'], provider_config_key: 'fake', connection_id: 'c3' } });
  expect(paused.body).toEqual({ success: true });
  // The run in progress ends first; on a loaded machine (the whole suite at once) that took over 20 s.
  await waitFor('PAUSED', async () => (await t.request('GET', '/sync/status?syncs=items&provider_config_key=fake&connection_id=c3')).body.syncs[0].status === 'PAUSED', 60_000);
  const count = (await jobsOf('c3', 'items')).length;
  await new Promise((r) => setTimeout(r, 2000));
  expect((await jobsOf('c3', 'items')).length).toBe(count);
  const status = (await t.request('GET', '/sync/status?syncs=items&provider_config_key=fake&connection_id=c3')).body.syncs[0];
  expect(status).toMatchObject({ status: 'PAUSED', nextScheduledSyncAt: null });

  await t.request('POST', '/sync/start', { json: { syncs: ['items'], provider_config_key: 'fake', connection_id: 'c3' } });
  await finished('c3', 'items', count + 2);
  // Quiet again, and idle: the faults other tests inject on the fake API's shared path are theirs alone.
  // Sent while the workflow continues as new every three runs: it meets the run current then (a NOT_FOUND from the run that had just closed once made this a 500).
  expect((await t.request('POST', '/sync/pause', { json: { syncs: ['items'], provider_config_key: 'fake', connection_id: 'c3' } })).body).toEqual({ success: true });
  await waitFor('PAUSED again', async () => (await t.request('GET', '/sync/status?syncs=items&provider_config_key=fake&connection_id=c3')).body.syncs[0].status === 'PAUSED', 60_000);
  await waitFor('c3 idle', async () => (await jobsOf('c3', 'items')).every((j) => j.status !== 'RUNNING'), 60_000);
}, 150_000);

test('a trigger during a run queues one more run, not more', async () => {
  await t.connect('c4');
  await finished('c4', 'items', 1);
  t.fake.fail('/offset/items'); // nothing queued: just make sure the path exists
  const [target] = await t.targets('c4', ['items']);
  const before = (await jobsOf('c4', 'items')).length;
  await Promise.all(Array.from({ length: 5 }, () => t.orchestration.orchestrator.trigger([target!])));
  await finished('c4', 'items', before + 1);
  await new Promise((r) => setTimeout(r, 1500));
  const after = (await jobsOf('c4', 'items')).length;
  expect(after - before).toBeGreaterThanOrEqual(1);
  expect(after - before).toBeLessThanOrEqual(2);
  // Quiet again, and idle: a late run of c4 would take the fault the next test queues on the shared path.
  await t.request('POST', '/sync/pause', { json: { syncs: ['items'], provider_config_key: 'fake', connection_id: 'c4' } });
  await waitFor('c4 idle', async () => (await jobsOf('c4', 'items')).every((j) => j.status !== 'RUNNING'));
});

test('track_deletes: a successful run deletes exactly the unseen records; a failed run deletes nothing', async () => {
  await t.connect('c5');
  await finished('c5', 'items', 1);
  const gone = t.fake.items.splice(0, 3);
  try {
    await t.request('POST', '/sync/trigger', { json: { syncs: ['items'], provider_config_key: 'fake', connection_id: 'c5' } });
    const jobs = await finished('c5', 'items', 2);
    expect(jobs[0]).toMatchObject({ status: 'SUCCESS', result: { Item: { added: 0, updated: 0, deleted: 3 } } });
    const deleted = await t.request('GET', '/records?model=Item&filter=deleted', { headers: { 'Connection-Id': 'c5', 'Provider-Config-Key': 'fake' } });
    expect(deleted.body.records.map((r: any) => r.id).sort()).toEqual(gone.map((i) => String(i.id)).sort());

    t.fake.items.splice(0, 5);
    t.fake.fail('/offset/items', { status: 500 });
    // The integration and connection as Nango's legacy headers.
    await t.request('POST', '/sync/trigger', { json: { syncs: ['items'] }, headers: { 'Provider-Config-Key': 'fake', 'Connection-Id': 'c5' } });
    const after = await finished('c5', 'items', 3);
    expect(after[0]).toMatchObject({ status: 'ERROR', result: {} });
    expect(after[0]!.error!.message).toMatch(/500/);
    const live = await t.store.records.countByModel((await t.targets('c5'))[0]!.connection.id);
    expect(live.Item).toBe(20);
    // The connection reports the failed run, pointing at its logs.
    const connection = await t.request('GET', '/connections/c5?provider_config_key=fake');
    expect(connection.body.errors).toEqual([{ type: 'sync', log_id: String(after[0]!.id) }]);
    const logs = await t.request('GET', `/logs?jobId=${connection.body.errors[0].log_id}&kind=outcome`);
    expect(logs.body.logs).toEqual([expect.objectContaining({ kind: 'outcome', level: 'error', connection_id: 'c5' })]);
  } finally {
    t.fake.reset();
  }
});

test('an incremental sync gets lastSyncDate = start of the last successful run', async () => {
  const logsOf = async (job: { id: number }) => (await t.store.logs.list(t.env.dev, { jobId: String(job.id), kinds: ['log'], order: 'asc', limit: 10 })).logs;
  await t.connect('c6');
  const first = await finished('c6', 'changes', 1);
  expect(await logsOf(first[0]!)).toEqual([expect.objectContaining({ message: 'lastSyncDate=null' })]);
  await t.request('POST', '/sync/trigger', { json: { syncs: ['changes'], provider_config_key: 'fake', connection_id: 'c6' } });
  const second = await finished('c6', 'changes', 2);
  expect(await logsOf(second[0]!)).toEqual([expect.objectContaining({ message: `lastSyncDate=${first[0]!.startedAt.toISOString()}` })]);
  // A reset run starts over.
  await t.request('POST', '/sync/trigger', { json: { syncs: ['changes'], provider_config_key: 'fake', connection_id: 'c6', opts: { reset: true } } });
  const third = await finished('c6', 'changes', 3);
  expect(await logsOf(third[0]!)).toEqual([expect.objectContaining({ message: 'lastSyncDate=null' })]);
});

test('update-connection-frequency overrides the schedule per connection and null reverts it', async () => {
  await t.connect('c7');
  await finished('c7', 'items', 1);
  const put = (frequency: string | null) =>
    t.request('PUT', '/sync/update-connection-frequency', { json: { sync_name: 'items', provider_config_key: 'fake', connection_id: 'c7', frequency } });
  expect((await put('every 5 minutes')).body).toEqual({ frequency: 'every 5 minutes' });
  const status = await waitFor('frequency applied', async () => {
    const s = (await t.request('GET', '/sync/status?syncs=items&provider_config_key=fake&connection_id=c7')).body.syncs[0];
    return s.frequency === 'every 5 minutes' && Date.parse(s.nextScheduledSyncAt) <= Date.now() + 300_000 && s;
  });
  expect(status.frequency).toBe('every 5 minutes');
  expect((await put(null)).body).toEqual({ frequency: 'every hour' });
  expect((await put('every 10s')).status).toBe(400);
  expect((await put('sometimes')).status).toBe(400);
});

test('unknown syncs and connections are 404s; a missing field is a 400', async () => {
  expect((await t.request('POST', '/sync/trigger', { json: { syncs: ['nope'], provider_config_key: 'fake' } })).status).toBe(404);
  expect((await t.request('POST', '/sync/pause', { json: { syncs: ['items'], provider_config_key: 'fake', connection_id: 'nobody' } })).status).toBe(404);
  expect((await t.request('POST', '/sync/start', { json: { syncs: ['items'] } })).status).toBe(400);
  expect((await t.request('GET', '/sync/status?syncs=*&provider_config_key=nope')).body.error.code).toBe('unknown_provider_config');
});

test('deleting a connection stops its workflows; a deploy without a sync stops that sync everywhere', async () => {
  await t.connect('c8');
  await finished('c8', 'items', 1);
  const [target] = await t.targets('c8', ['items']);
  const del = await t.request('DELETE', '/connections/c8?provider_config_key=fake');
  expect(del.status).toBe(200);
  await waitFor('c8 workflows stopped', async () => (await t.orchestration.orchestrator.live([target!]))[0] === null);

  const withoutChanges = YAML.replace(/      changes:[\s\S]*?sync_type: incremental\n/, '').replace(/  Change:[\s\S]*$/, '');
  expect((await t.deploy(withoutChanges, { 'sync/items': ITEMS, 'sync/manual': ITEMS })).status).toBe(200);
  const [changes] = await t.targets('c1', ['changes']).catch(() => [undefined]);
  expect(changes).toBeUndefined();
  const live = await t.orchestration.orchestrator.live(
    (await t.targets('c1', ['items'])).map((x) => ({ ...x, key: { ...x.key, sync: 'changes' } })),
  );
  expect(live).toEqual([null]);
  const items = await t.orchestration.orchestrator.live(await t.targets('c1', ['items']));
  expect(items[0]).not.toBeNull();
});

test('auto_start: false waits paused until started; workflows carry search attributes for the Web UI', async () => {
  await t.connect('c9');
  await finished('c9', 'items', 1);
  const manual = await waitFor('manual PAUSED', async () => {
    const s = (await t.request('GET', '/sync/status?syncs=manual&provider_config_key=fake&connection_id=c9')).body.syncs[0];
    return s.status === 'PAUSED' && s;
  });
  expect(manual.finishedAt).toBeNull();
  expect(await jobsOf('c9', 'manual')).toEqual([]);
  await t.request('POST', '/sync/start', { json: { syncs: ['manual'], provider_config_key: 'fake', connection_id: 'c9' } });
  await finished('c9', 'manual', 1);

  const listed: string[] = [];
  for await (const w of t.orchestration.orchestrator.client.workflow.list({ query: "SynclineConnection = 'c9'" })) listed.push(w.workflowId);
  expect(listed.sort()).toEqual(['sync:dev:fake:c9:items', 'sync:dev:fake:c9:manual']);
});
