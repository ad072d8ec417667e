import { startOrchestrationTest, waitFor, type OrchestrationTest } from './helpers';

// Fair scheduling: a worker of 6 activity slots, at most 4 runs of one environment and 3 of one
// connection at once. A flood of 7 actions hanging 8 s on one connection of `dev` (more than the
// worker's slots: without the caps it would hold all of them, and everything else would wait 8 s)
// delays only that connection: another dev connection, prod's actions and prod's sync keep their
// latency; the flood itself runs 3 at a time, the waiting calls starting as slots free up. A flood
// spread over three dev connections (no connection past its cap, together more than the worker's
// slots) is held by the environment's cap: it delays dev, and prod keeps its latency.
jest.setTimeout(120_000);

const YAML = `integrations:
  fake:
    syncs:
      items:
        runs: every hour
        output: Item
        endpoint: GET /items
    actions:
      echo:
        endpoint: POST /echo
      slow:
        endpoint: POST /slow
models:
  Item:
    id: string
    name: string
`;
const ITEMS = `module.exports = async function fetchData(nango) {
  const res = await nango.get({ endpoint: '/offset/items', params: { offset: 0, limit: 5 } });
  await nango.batchSave(res.data.items.map((i) => ({ id: String(i.id), name: i.name })), 'Item');
};`;
const ECHO = `module.exports = async function runAction(nango, input) { return input; };`;
const SLOW = `module.exports = async function runAction(nango, input) {
  await nango.get({ endpoint: '/slow', params: { ms: input.ms, tag: input.tag } });
  return { tag: input.tag };
};`;
const FLOOD = 7;
const SLOW_MS = 8000;
const CAPS = { perEnvironment: 4, perConnection: 3 };

let t: OrchestrationTest;

beforeAll(async () => {
  t = await startOrchestrationTest({ activitySlots: 6, runLimits: CAPS });
  await t.store.integrations.create(t.env.prod, { uniqueKey: 'fake', provider: 'fake' });
  for (const key of [t.keys.dev, t.keys.prod]) {
    const flowConfigs = Object.entries({ 'sync/items': ITEMS, 'action/echo': ECHO, 'action/slow': SLOW }).map(([id, js]) => {
      const [type, name] = id.split('/');
      return { type, name, providerConfigKey: 'fake', fileBody: { js } };
    });
    expect((await t.request('POST', '/sync/deploy', { key, json: { nangoYamlBody: YAML, flowConfigs } })).status).toBe(200);
  }
  for (const id of ['d1', 'd2', 'd3', 'd4', 'd5']) await t.connect(id);
  t.fake.items = [{ id: 1, name: 'one' }];
  const imported = await t.request('POST', '/connections', { key: t.keys.prod, json: { provider_config_key: 'fake', connection_id: 'p1', credentials: { type: 'API_KEY', apiKey: 'k' } } });
  expect(imported.status).toBeLessThan(300);
  await prodSyncRuns(1);
});
afterAll(() => t?.close());

const trigger = (key: string, connectionId: string, action: string, input: unknown, async = false) =>
  t.request('POST', '/action/trigger', { key, json: { action_name: action, input }, headers: { 'Connection-Id': connectionId, 'Provider-Config-Key': 'fake', ...(async ? { 'X-Async': 'true' } : {}) } });

/** Milliseconds an echo call takes, checked. */
async function echoMs(key: string, connectionId: string): Promise<number> {
  const started = Date.now();
  const res = await trigger(key, connectionId, 'echo', { at: started });
  expect(res).toMatchObject({ status: 200, body: { at: started } });
  return Date.now() - started;
}

const slowCalls = (prefix: string) => t.fake.requestsTo('/slow').filter((r) => String(r.query.tag).startsWith(prefix));
const running = async () => (await t.store.db.query<{ n: number }>("SELECT count(*)::int AS n FROM action_runs WHERE status = 'RUNNING'")).rows[0]!.n;

/** Waits until prod's sync of p1 has finished `count` runs, all successful. */
async function prodSyncRuns(count: number): Promise<void> {
  const [target] = await t.orchestration.orchestrator.targets((await t.store.environments.byName('prod'))!, 'fake', ['items'], 'p1');
  await waitFor(`${count} runs of prod's sync`, async () => {
    const jobs = await t.store.jobs.jobs(target!.row.id);
    return jobs.length >= count && jobs.every((j) => j.status === 'SUCCESS');
  });
}

test('a flood of hanging actions on one dev connection delays only that connection', async () => {
  await echoMs(t.keys.dev, 'd2');
  await echoMs(t.keys.prod, 'p1');
  const before = { dev: await echoMs(t.keys.dev, 'd2'), prod: await echoMs(t.keys.prod, 'p1') };
  const flood = await Promise.all(Array.from({ length: FLOOD }, (_, i) => trigger(t.keys.dev, 'd1', 'slow', { ms: SLOW_MS, tag: `f${i}` }, true)));
  const floodedAt = Date.now();
  expect(flood.every((r) => r.status === 202)).toBe(true);
  await waitFor('the flood to take its slots', () => t.fake.requestsTo('/slow').length >= CAPS.perConnection);

  // While dev's connection d1 is saturated: another dev connection, and prod.
  const during = { dev: await echoMs(t.keys.dev, 'd2'), prod: await echoMs(t.keys.prod, 'p1'), prodSync: 0 };
  const triggered = Date.now();
  expect((await t.request('POST', '/sync/trigger', { key: t.keys.prod, json: { provider_config_key: 'fake', connection_id: 'p1', syncs: ['items'] } })).status).toBe(200);
  await prodSyncRuns(2);
  during.prodSync = Date.now() - triggered;
  const startedDuring = t.fake.requestsTo('/slow').filter((r) => r.at < floodedAt + SLOW_MS).length;
  console.log(
    `echo before the flood: dev ${before.dev} ms, prod ${before.prod} ms; during it: dev (another connection) ${during.dev} ms, prod ${during.prod} ms, prod sync trigger to finished run ${during.prodSync} ms`,
  );
  // Without the caps each of these would have waited for a flooded call to end (SLOW_MS).
  expect(Date.now() - floodedAt).toBeLessThan(SLOW_MS);
  expect(startedDuring).toBe(CAPS.perConnection);

  // The waiting calls start as the first ones end, never more than the connection's cap at once.
  await waitFor('the first flooded calls to end', async () => (await Promise.all(flood.map((r) => t.request('GET', r.body.statusUrl)))).filter((r) => r.status === 200).length >= CAPS.perConnection, 20_000);
  await waitFor('the next flooded calls to start', () => slowCalls('f').length >= 2 * CAPS.perConnection, 20_000);
  const starts = slowCalls('f').map((r) => r.at);
  const mostAtOnce = Math.max(...starts.map((at) => starts.filter((other) => other <= at && at < other + SLOW_MS).length));
  const secondBatch = starts.slice(CAPS.perConnection, 2 * CAPS.perConnection).map((at) => at - floodedAt);
  console.log(`flood: ${starts.length}/${FLOOD} calls started, at most ${mostAtOnce} at once; the second three started ${secondBatch.join(', ')} ms after the flood`);
  expect(mostAtOnce).toBe(CAPS.perConnection);
});

test("a flood spread over dev's connections is held by the environment's cap: dev waits, prod's actions and sync keep their latency", async () => {
  // The first test's flood is over: every slot is free again.
  await waitFor('the first flood to end', async () => (await running()) === 0, 40_000);
  const before = { prod: await echoMs(t.keys.prod, 'p1') };
  // 3 + 3 + 2 calls: no connection past its cap of 3; 8 together would take all 6 of the worker's slots.
  const spread = ['d3', 'd3', 'd3', 'd4', 'd4', 'd4', 'd5', 'd5'];
  const flood = await Promise.all(spread.map((id, i) => trigger(t.keys.dev, id, 'slow', { ms: SLOW_MS, tag: `s${i}` }, true)));
  const floodedAt = Date.now();
  expect(flood.every((r) => r.status === 202)).toBe(true);
  await waitFor("the flood to take its environment's slots", () => slowCalls('s').length >= CAPS.perEnvironment);
  // dev's own next call waits for a flooded one to end; prod's do not.
  const devCall = echoMs(t.keys.dev, 'd2');
  const during = { prod: await echoMs(t.keys.prod, 'p1'), prodSync: 0 };
  const triggered = Date.now();
  expect((await t.request('POST', '/sync/trigger', { key: t.keys.prod, json: { provider_config_key: 'fake', connection_id: 'p1', syncs: ['items'] } })).status).toBe(200);
  await prodSyncRuns(3);
  during.prodSync = Date.now() - triggered;
  const prodDoneAt = Date.now();
  const startedDuring = slowCalls('s').filter((r) => r.at < floodedAt + SLOW_MS).length;
  const devMs = await devCall;
  console.log(`spread flood: prod echo before ${before.prod} ms, during ${during.prod} ms; prod sync trigger to finished run ${during.prodSync} ms; dev's other call ${devMs} ms; ${startedDuring} flooded calls started in the first ${SLOW_MS} ms`);
  // prod never waited for a flooded call; dev's call did, and the flood never ran more than the environment's cap.
  expect(prodDoneAt - floodedAt).toBeLessThan(SLOW_MS);
  expect(startedDuring).toBe(CAPS.perEnvironment);
  expect(devMs).toBeGreaterThan(SLOW_MS / 2);
});
