import { asyncLocalStorage, Context, type Info } from '@temporalio/activity';
import { MAX_UNFINISHED_ATTEMPTS, runSync } from '../../src/activities/sync';
import { configureRecordLimits, DEFAULT_RECORD_LIMITS } from '../../src/runtime';
import { syncRunKey } from '../../src/workflows/types';
import { startOrchestrationTest, waitFor, type OrchestrationTest } from './helpers';

// Issue 14, item 1, scaled to CI: syncs saving large records on several connections at once go
// through the process's record budget (lowered here to a few MB), the server answers /health all
// along, a batch over the batch limit ends its run with a clear batch_too_large error (once: not
// retried), and a run whose attempts keep dying is not started a fourth time.

jest.setTimeout(120_000);

const MB = 1024 * 1024;
const YAML = `integrations:
  fake:
    syncs:
      bulk:
        runs: every day
        output: Blob
        endpoint: GET /blobs
      oversized:
        runs: every day
        output: Blob
        endpoint: GET /oversized
      fatal:
        runs: every day
        auto_start: false
        output: Blob
        endpoint: GET /fatal
models:
  Blob:
    id: string
    body: string
`;
// 10 × batchSave of 10 records of ~50 KB (500 KB a call) per connection.
const BULK = `module.exports = async function fetchData(nango) {
  for (let b = 0; b < 10; b++) {
    await nango.batchSave(Array.from({ length: 10 }, (_, k) => ({ id: String(b * 10 + k), body: String(b).repeat(50 * 1024) })), 'Blob');
  }
};`;
// One call of 3 MB, over the 2 MB batch limit; the script catches the error and carries on.
const OVERSIZED = `module.exports = async function fetchData(nango) {
  await nango.batchSave([{ id: 'small', body: 'ok' }], 'Blob');
  try {
    await nango.batchSave(Array.from({ length: 3 }, (_, k) => ({ id: 'big' + k, body: 'x'.repeat(1024 * 1024) })), 'Blob');
  } catch (e) {
    await nango.log('caught: ' + e.message);
  }
};`;
// An allocation V8 does not survive, whatever the memory limit: it ends the process it runs in.
const FATAL = `module.exports = async function fetchData(nango) {
  await nango.batchSave([{ id: 'before', body: String('x'.repeat(2 ** 28).split('').length) }], 'Blob');
};`;
const CONNECTIONS = ['r1', 'r2', 'r3', 'r4'];

let t: OrchestrationTest;
beforeAll(async () => {
  configureRecordLimits({ maxBatchBytes: 2 * MB, inFlightBytes: 3 * MB });
  t = await startOrchestrationTest();
  expect((await t.deploy(YAML, { 'sync/bulk': BULK, 'sync/oversized': OVERSIZED, 'sync/fatal': FATAL })).status).toBe(200);
});
afterAll(async () => {
  await t?.close();
  configureRecordLimits(DEFAULT_RECORD_LIMITS);
});

const jobsOf = async (connectionId: string, sync: string) => {
  const [target] = await t.targets(connectionId, [sync]);
  return target ? t.store.jobs.jobs(target.row.id) : [];
};

/** Asks /health every 50 ms until stopped; how it answered. */
function watchHealth(): () => Promise<{ checks: number; failures: number; slowestMs: number }> {
  const health = { checks: 0, failures: 0, slowestMs: 0 };
  let polling = true;
  const poller = (async () => {
    while (polling) {
      const started = Date.now();
      const res = await fetch(`${t.url}/health`).catch(() => undefined);
      health.checks++;
      if (res?.status !== 200) health.failures++;
      health.slowestMs = Math.max(health.slowestMs, Date.now() - started);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  })();
  return async () => {
    polling = false;
    await poller;
    return health;
  };
}

test('4 connections saving 5 MB each through a 3 MB budget: every record lands, /health answers throughout, the oversized batch fails its run once', async () => {
  const stopWatching = watchHealth();
  const rssBefore = process.memoryUsage().rss;
  let rssPeak = rssBefore;
  const sampler = setInterval(() => (rssPeak = Math.max(rssPeak, process.memoryUsage().rss)), 50);
  try {
    for (const id of CONNECTIONS) await t.connect(id);
    for (const id of CONNECTIONS) {
      const jobs = await waitFor(`bulk run of ${id}`, async () => (await jobsOf(id, 'bulk')).find((j) => j.status !== 'RUNNING'), 90_000);
      expect(jobs).toMatchObject({ status: 'SUCCESS', result: { Blob: { added: 100, updated: 0, deleted: 0 } } });
    }
    const failed = await waitFor('the oversized run', async () => (await jobsOf('r1', 'oversized')).find((j) => j.status !== 'RUNNING'), 60_000);
    expect(failed.status).toBe('ERROR');
    expect(failed.error).toEqual({
      type: 'batch_too_large',
      message: expect.stringMatching(/^A batch of \d+ bytes of JSON is larger than the 2097152 bytes one batchSave, batchUpdate or batchDelete call may carry \(SYNCLINE_MAX_BATCH_MB\): save fewer or smaller records per call$/),
    });
    // Not retried: one attempt; the record saved before it is kept, nothing of the refused batch.
    expect(failed.attempts).toBe(1);
    const records = await t.request('GET', '/records?model=Blob', { headers: { 'Connection-Id': 'r1', 'Provider-Config-Key': 'fake' } });
    expect(records.body.records.filter((r: { id: string }) => !/^\d+$/.test(r.id)).map((r: { id: string }) => r.id)).toEqual(['small']);
  } finally {
    clearInterval(sampler);
  }
  const health = await stopWatching();
  console.log(`record limits: ${health.checks} /health checks, ${health.failures} failed, slowest ${health.slowestMs} ms; RSS ${Math.round(rssBefore / MB)} MB -> peak ${Math.round(rssPeak / MB)} MB`);
  expect(health.failures).toBe(0);
  expect(health.checks).toBeGreaterThan(5);
});

test('a script whose allocation aborts V8 ends its run with a clear error; the server answers /health throughout', async () => {
  const stopWatching = watchHealth();
  expect((await t.request('POST', '/sync/trigger', { json: { syncs: ['fatal'], provider_config_key: 'fake', connection_id: 'r2' } })).status).toBe(200);
  const job = await waitFor('the fatal run', async () => (await jobsOf('r2', 'fatal')).find((j) => j.status !== 'RUNNING'), 60_000);
  expect(job).toMatchObject({
    status: 'ERROR',
    error: { type: 'script_memory_exceeded', message: expect.stringMatching(/^The script process of this environment ended \(signal \w+: .*invalid size error.*\); the executions in it were stopped$/) },
  });
  const health = await stopWatching();
  expect(health.failures).toBe(0);
  expect(health.checks).toBeGreaterThan(5);
});

test(`a run whose attempts keep dying is not started again after ${MAX_UNFINISHED_ATTEMPTS}: it ends as ERROR run_crash_loop`, async () => {
  const [target] = await t.targets('r1', ['bulk']);
  const key = { environmentId: t.dev.id, environment: 'dev', integration: 'fake', connectionId: 'r1', sync: 'bulk', variant: 'base' };
  const info = { attempt: MAX_UNFINISHED_ATTEMPTS + 1, activityId: '1', heartbeatTimeoutMs: 60_000, workflowExecution: { workflowId: 'crash-loop-test', runId: 'run-1' } } as unknown as Info;
  // Three attempts that started and never finished (the process died under each).
  const runKey = syncRunKey('crash-loop-test', 'run-1', '1');
  for (let i = 0; i < MAX_UNFINISHED_ATTEMPTS; i++) await t.store.jobs.beginJob(target!.row, runKey, false, null);
  const context = new Context(info, new Promise<never>(() => undefined), new AbortController().signal, () => undefined, undefined as never, undefined as never, undefined as never, undefined as never);
  const result = await asyncLocalStorage.run(context, () => runSync({ store: t.store }, { key, reset: false }));
  expect(result).toMatchObject({ outcome: 'error', error: { type: 'run_crash_loop', message: expect.stringContaining('started 3 times and never finished') } });
  const job = (await jobsOf('r1', 'bulk')).find((j) => j.id === (result as { jobId: number }).jobId);
  expect(job).toMatchObject({ status: 'ERROR', attempts: MAX_UNFINISHED_ATTEMPTS + 1 });
});
