import { syncWorkflow } from '../../src/workflows';
import { syncWorkflowId } from '../../src/worker/workflow-ids';
import { TASK_QUEUE } from '../../src/workflows/types';
import { startOrchestrationTest, waitFor, type OrchestrationTest } from './helpers';

// A stopped workflow stops its running script: the worker learns it from the next heartbeat
// (every second here) and terminates the script's worker thread. Pause lets a run finish. A run
// whose every attempt times out ends its job as ERROR.
jest.setTimeout(90_000);

const YAML = `integrations:
  fake:
    syncs:
      endless:
        runs: every day
        output: Item
        endpoint: GET /endless
        auto_start: false
      writer:
        runs: every day
        output: Item
        endpoint: GET /writer
        auto_start: false
      bounded:
        runs: every day
        output: Item
        endpoint: GET /bounded
        auto_start: false
    actions:
      hang:
        endpoint: POST /hang
models:
  Item:
    id: string
    name: string
`;

// Calls the slow fake API forever; records stay buffered (nothing is flushed).
const ENDLESS = `module.exports = async function fetchData(nango) {
  for (let i = 0; ; i++) {
    await nango.get({ endpoint: '/slow', params: { ms: 100, who: nango.connectionId + '/endless' } });
    await nango.batchSave([{ id: String(i), name: 'n' + i }], 'Item');
  }
};`;

// Commits one record and a checkpoint per call, forever.
const WRITER = `module.exports = async function fetchData(nango) {
  for (let i = 0; ; i++) {
    await nango.get({ endpoint: '/slow', params: { ms: 100, who: nango.connectionId + '/writer' } });
    await nango.batchSave([{ id: String(i), name: 'n' + i }], 'Item');
    await nango.saveCheckpoint({ i });
  }
};`;

// Eight slow calls (about 2 s), then saves eight records.
const BOUNDED = `module.exports = async function fetchData(nango) {
  const items = [];
  for (let i = 0; i < 8; i++) {
    await nango.get({ endpoint: '/slow', params: { ms: 250, who: nango.connectionId + '/bounded' } });
    items.push({ id: String(i), name: 'n' + i });
  }
  await nango.batchSave(items, 'Item');
};`;

const HANG = `module.exports = async function runAction(nango) {
  for (;;) await nango.get({ endpoint: '/slow', params: { ms: 100, who: nango.connectionId + '/hang' } });
};`;

let t: OrchestrationTest;

beforeAll(async () => {
  t = await startOrchestrationTest({ heartbeatTimeoutMs: 3000 });
  const res = await t.deploy(YAML, { 'sync/endless': ENDLESS, 'sync/writer': WRITER, 'sync/bounded': BOUNDED, 'action/hang': HANG });
  expect(res.status).toBe(200);
});
afterAll(() => t?.close());

const calls = (who: string) => t.fake.requestsTo('/slow').filter((r) => r.query.who === who).length;
const trigger = (connectionId: string, sync: string) =>
  t.request('POST', '/sync/trigger', { json: { syncs: [sync], provider_config_key: 'fake', connection_id: connectionId } });
const jobsOf = async (connectionId: string, sync: string) => {
  const [target] = await t.targets(connectionId, [sync]);
  return t.store.jobs.jobs(target!.row.id);
};

/** Waits until `who` has made no call for 1.5 s, and returns how long that took. */
async function quietAfter(who: string): Promise<number> {
  const start = Date.now();
  let last = calls(who);
  let lastChange = Date.now();
  await waitFor(`${who} to stop calling`, () => {
    const now = calls(who);
    if (now !== last) [last, lastChange] = [now, Date.now()];
    return Date.now() - lastChange >= 1500;
  }, 30_000);
  return lastChange - start;
}

test('deleting a connection stops its running script within seconds', async () => {
  await t.connect('del');
  await trigger('del', 'endless');
  await waitFor('the script calling the API', () => calls('del/endless') >= 3);
  expect((await t.request('DELETE', '/connections/del?provider_config_key=fake')).status).toBe(200);
  // Without cancellation it would go on (its connection is memoised for a minute).
  expect(await quietAfter('del/endless')).toBeLessThan(8000);
  const settled = calls('del/endless');
  await new Promise((r) => setTimeout(r, 1000));
  expect(calls('del/endless')).toBe(settled);
});

test('terminating a sync workflow stops its script; the job ends as ERROR (cancelled) and nothing more is written', async () => {
  await t.connect('term');
  await trigger('term', 'writer');
  await waitFor('records being committed', async () => (await t.store.records.countByModel((await t.targets('term'))[0]!.connection.id)).Item! >= 3);
  const [target] = await t.targets('term', ['writer']);
  await t.orchestration.orchestrator.client.workflow.getHandle(syncWorkflowId(target!.key)).terminate('test');
  const [job] = await waitFor('the job to end', async () => {
    const jobs = await jobsOf('term', 'writer');
    return jobs[0]?.status !== 'RUNNING' && jobs;
  });
  expect(job).toMatchObject({ status: 'ERROR', error: { type: 'run_cancelled' } });
  expect(job!.error!.message).toMatch(/cancelled/);
  await quietAfter('term/writer');
  const count = (await t.store.records.countByModel(target!.connection.id)).Item;
  await new Promise((r) => setTimeout(r, 1500));
  expect((await t.store.records.countByModel(target!.connection.id)).Item).toBe(count);
  expect((await jobsOf('term', 'writer'))[0]).toMatchObject({ id: job!.id, status: 'ERROR' });
});

test('pause lets a running run finish: its job succeeds with every record', async () => {
  await t.connect('pause');
  await trigger('pause', 'bounded');
  await waitFor('the run to be under way', () => calls('pause/bounded') >= 2);
  await t.request('POST', '/sync/pause', { json: { syncs: ['bounded'], provider_config_key: 'fake', connection_id: 'pause' } });
  const [job] = await waitFor('the job to end', async () => {
    const jobs = await jobsOf('pause', 'bounded');
    return jobs[0]?.status !== 'RUNNING' && jobs;
  });
  expect(job).toMatchObject({ status: 'SUCCESS', result: { Item: { added: 8, updated: 0, deleted: 0 } } });
  expect(calls('pause/bounded')).toBe(8);
  // The workflow takes the run's result a moment after the job row ends.
  const status = await waitFor('PAUSED', async () => {
    const s = (await t.request('GET', '/sync/status?syncs=bounded&provider_config_key=fake&connection_id=pause')).body.syncs[0];
    return s.status !== 'RUNNING' && s;
  });
  expect(status).toMatchObject({ status: 'PAUSED', nextScheduledSyncAt: null });
});

test('a run whose attempts all time out ends its job as ERROR, and the workflow keeps its schedule', async () => {
  await t.connect('exhaust');
  const [target] = await t.targets('exhaust', ['endless']);
  // The same workflow as the orchestrator starts, with a 1.5 s limit per attempt and two attempts.
  const handle = await t.orchestration.orchestrator.client.workflow.start(syncWorkflow, {
    taskQueue: TASK_QUEUE,
    workflowId: `${syncWorkflowId(target!.key)}:exhaust-test`,
    args: [{ key: target!.key, frequencyMs: 3_600_000, heartbeatTimeoutMs: 3000, runTimeoutMs: 1500, runAttempts: 2 }],
  });
  try {
    const [job] = await waitFor('the job to end', async () => {
      const jobs = await jobsOf('exhaust', 'endless');
      return jobs[0] && jobs[0].status !== 'RUNNING' && jobs;
    }, 30_000);
    expect(job).toMatchObject({ status: 'ERROR', attempts: 2, error: { type: 'run_failed' } });
    expect(job!.error!.message).toMatch(/timed? ?out|timeout/i);
    expect((await handle.describe()).status.name).toBe('RUNNING');
    const live = await waitFor('the workflow to take the failed run', async () => {
      const state = await handle.query<{ running: boolean; lastRun: { success: boolean } | null }>('status');
      return !state.running && state;
    });
    expect(live).toMatchObject({ running: false, lastRun: { success: false } });
    // Each timed-out attempt's script was stopped too.
    await quietAfter('exhaust/endless');
  } finally {
    await handle.terminate('test over');
  }
});

test('terminating an action workflow stops its script; the call ends as ERROR (cancelled)', async () => {
  await t.connect('act');
  const res = await t.request('POST', '/action/trigger', {
    headers: { 'Connection-Id': 'act', 'Provider-Config-Key': 'fake', 'X-Async': 'true' },
    json: { action_name: 'hang', input: {} },
  });
  expect(res.status).toBe(202);
  await waitFor('the action calling the API', () => calls('act/hang') >= 3);
  await t.orchestration.orchestrator.client.workflow.getHandle(`action:dev:${res.body.id}`).terminate('test');
  // Actions heartbeat every 5 s (their heartbeat timeout is not shortened here).
  expect(await quietAfter('act/hang')).toBeLessThan(12_000);
  const result = await waitFor('the call to end', async () => {
    const r = await t.request('GET', `/action/${res.body.id}`);
    return r.status !== 404 && r; // 404 while it runs, as Nango answers
  });
  expect(result.body.error).toMatchObject({ code: 'action_cancelled' });
});
