import { spawn } from 'node:child_process';
import fs from 'node:fs';
import type net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { startFakeApi, type FakeApi } from '../fixtures/fake-apis';
import { onPostgres } from '../helpers/db';
import { freePort, MODES, startTemporalDevServer, type TemporalDevServer } from '../helpers/temporal';
import { childRequest, spawnChild, startChild, useModeBackends, type Child } from './child-process';
import { waitFor } from './helpers';

// The whole Syncline process (API + worker, and the engine when embedded) is SIGKILLed in the middle
// of a long sync that has committed checkpoints; after a restart on the same data the run resumes
// from the last checkpoint, and the records equal an uninterrupted run's. On the embedded engine and
// on a real Temporal server (`temporal server start-dev`), which outlives the process.
jest.setTimeout(180_000);

const ROOT = path.join(__dirname, '../..');
const KEY = 'sk_dev_crash_test_key_123';
const PAGE = 4;
const TOTAL = 60;

const YAML = `integrations:
  fake:
    syncs:
      pages:
        runs: every day
        output: Item
        endpoint: GET /items
        sync_type: full
        track_deletes: true
models:
  Item:
    id: string
    name: string
`;

// One page per step, a checkpoint after each committed page, and a pause so the kill lands mid-run.
const PAGES = `module.exports = async function fetchData(nango) {
  const checkpoint = await nango.getCheckpoint();
  let offset = checkpoint ? checkpoint.offset : 0;
  for (;;) {
    const res = await nango.get({ endpoint: '/offset/items', params: { offset, limit: ${PAGE} } });
    const items = res.data.items;
    await nango.log('page at ' + offset);
    if (items.length === 0) break;
    await nango.batchSave(items.map((i) => ({ id: String(i.id), name: i.name })), 'Item');
    offset += items.length;
    await nango.saveCheckpoint({ offset });
    await new Promise((r) => setTimeout(r, 150));
  }
  await nango.clearCheckpoint();
};`;

let fake: FakeApi;
let dir: string;

beforeAll(async () => {
  fake = await startFakeApi();
  fake.items = Array.from({ length: TOTAL }, (_, i) => ({ id: i + 1, name: `item ${i + 1}` }));
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'syncline-crash-'));
  fs.writeFileSync(
    path.join(dir, 'providers.yaml'),
    `fake:\n  display_name: Fake\n  auth_mode: API_KEY\n  proxy:\n    base_url: ${fake.url}\n    headers:\n      x-api-key: \${apiKey}\n`,
  );
});

afterAll(async () => {
  await fake?.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

const api = (child: Child, method: string, p: string, body?: unknown) => childRequest(child, KEY, method, p, body, { 'connection-id': 'c1', 'provider-config-key': 'fake' });

const allRecords = async (child: Child) => {
  const res = await api(child, 'GET', '/records?model=Item&limit=1000');
  return res.body.records as Array<{ id: string; name: string; _nango_metadata: { last_action: string } }>;
};

describe.each(MODES)('%s', (mode) => {
  const backends = useModeBackends(mode, 'crash');

  if (mode === 'cluster') {
    test('start-up before the Temporal server answers waits for it with back-off, saying so, then serves', async () => {
      const address = `127.0.0.1:${await freePort()}`;
      const child = spawnChild({ api: await freePort(), engine: await freePort() }, { dataDir: path.join(dir, 'not-ready'), databaseUrl: backends.database?.url, temporalAddress: address, providersFile: path.join(dir, 'providers.yaml'), secretKey: KEY }, 'warn');
      let late: TemporalDevServer | undefined;
      try {
        const waits = () => child.output().split('\n').filter((line) => line.includes(`"msg":"waiting for the Temporal server at ${address}"`));
        // Its start before it connects (migrations, loading) takes seconds, tens on a busy machine.
        await waitFor('two logged waits', () => waits().length >= 2, 90_000);
        const delays = waits().map((line) => JSON.parse(line).retryInMs as number);
        expect(delays[1]).toBeGreaterThan(delays[0]!);
        late = await startTemporalDevServer(Number(address.split(':')[1]));
        const url = await child.ready;
        expect((await fetch(`${url}/integrations`, { headers: { authorization: `Bearer ${KEY}` } })).status).toBe(200);
      } finally {
        child.ready.catch(() => undefined); // killed before it was ready, when a check above failed
        child.process.kill('SIGTERM');
        await child.exited;
        await late?.close();
      }
    });
  }

  test('SIGKILL of the whole process mid-sync: the run resumes from its checkpoint after restart, nothing lost or duplicated', async () => {
    const ports = { api: await freePort(), engine: await freePort() };
    const place = { dataDir: path.join(dir, mode), databaseUrl: backends.database?.url, temporalAddress: backends.temporal?.address, providersFile: path.join(dir, 'providers.yaml'), secretKey: KEY };
    fake.requests.length = 0;
    let child = await startChild(ports, place);
    try {
      expect((await api(child, 'POST', '/integrations', { provider: 'fake', unique_key: 'fake' })).status).toBeLessThan(300);
      const deploy = await api(child, 'POST', '/sync/deploy', { nangoYamlBody: YAML, flowConfigs: [{ type: 'sync', name: 'pages', providerConfigKey: 'fake', fileBody: { js: PAGES } }] });
      expect(deploy.status).toBe(200);
      const imported = await api(child, 'POST', '/connections', { provider_config_key: 'fake', connection_id: 'c1', credentials: { type: 'API_KEY', apiKey: 'k' } });
      expect(imported.status).toBeLessThan(300);

      // Some pages committed (and checkpointed), not all.
      await waitFor('a few pages', async () => (await allRecords(child)).length >= 3 * PAGE, 60_000);
      // The running attempt's log lines are stored as it runs (about once a second), not at its end.
      const pageLines = async () =>
        ((await api(child, 'GET', '/logs?sync=pages&kind=log&order=asc&limit=1000')).body.logs as Array<{ message: string; job_id: string }>).filter((l) => l.message.startsWith('page at '));
      await waitFor('the running attempt’s first lines stored', async () => (await pageLines()).some((l) => l.message === 'page at 0'), 30_000);
      child.process.kill('SIGKILL');
      await child.exited;
      const requestsBefore = fake.requestsTo('/offset/items').length;
      const committed = fake.requestsTo('/offset/items').map((r) => Number(r.query.offset));
      expect(Math.max(...committed)).toBeLessThan(TOTAL);

      child = await startChild(ports, place);
      const done = await waitFor(
        'the resumed run to finish',
        async () => {
          const status = await api(child, 'GET', '/sync/status?syncs=pages&provider_config_key=fake&connection_id=c1');
          const s = status.body.syncs?.[0];
          return s && s.status === 'SUCCESS' && s.finishedAt && s;
        },
        90_000,
      );
      expect(done.recordCount).toEqual({ Item: TOTAL });

      // Resumed: the first request after the restart continued past offset 0.
      const after = fake.requestsTo('/offset/items').slice(requestsBefore).map((r) => Number(r.query.offset));
      expect(after[0]).toBeGreaterThan(0);
      expect(after).not.toContain(0);

      const records = await allRecords(child);
      expect(records.map((r) => r.id).sort((a, b) => Number(a) - Number(b))).toEqual(fake.items.map((i) => String(i.id)));
      expect(records.every((r) => r._nango_metadata.last_action === 'ADDED')).toBe(true);

      // The killed attempt's stored lines are kept (the last second before the kill may be lost) and
      // the resumed attempt adds its own, all in the run's one job.
      const lines = await pageLines();
      const logged = lines.map((l) => Number(l.message.slice('page at '.length)));
      expect(logged).toContain(0);
      expect(logged).toContain(Math.max(...after));
      expect(new Set(lines.map((l) => l.job_id)).size).toBe(1);
    } finally {
      child.process.kill('SIGTERM');
      await child.exited;
    }
  });
});

// Cluster mode: the API and engine stay up, the worker process is SIGKILLed mid-run; a new worker
// picks the run up after the heartbeat timeout and resumes from the checkpoint. Needs Postgres
// (two processes share the store).
onPostgres('SIGKILL of the worker process mid-sync: a new worker resumes the run from its checkpoint', async () => {
  const { openDb, openStore } = await import('../../src/store');
  const { startOrchestration } = await import('../../src/worker');
  const { createApp } = await import('../../src/api/app');
  const { createLogger } = await import('../../src/logger');
  const { useUserProviders } = await import('../../src/providers');
  const schema = `crash_w_${Date.now().toString(36)}`;
  const key = Buffer.alloc(32, 9);
  const db = await openDb({ url: process.env.DATABASE_URL!, schema, maxConnections: 5 });
  const store = await openStore(db, key);
  useUserProviders({ fake: { display_name: 'Fake', auth_mode: 'API_KEY', proxy: { base_url: fake.url, headers: { 'x-api-key': '${apiKey}' } } } } as never);
  const [devKey] = await store.environments.ensureDefaults(KEY);
  const env = (await store.environments.byName('dev'))!;
  await store.integrations.create(env.id, { uniqueKey: 'fake', provider: 'fake' });
  const logger = createLogger('silent');
  const orchestration = await startOrchestration({ store, logger, enginePort: 0, worker: false, heartbeatTimeoutMs: 1500 });
  const server = createApp({ store, logger, orchestrator: orchestration.orchestrator }).listen(0, '127.0.0.1');
  await new Promise((r) => server.once('listening', r));
  const parent: Child = { process: undefined as never, url: `http://127.0.0.1:${(server.address() as net.AddressInfo).port}`, exited: Promise.resolve() };
  expect(devKey?.secretKey ?? KEY).toBe(KEY);

  const startWorker = async () => {
    const child = spawn(process.execPath, ['--import', 'tsx', path.join(__dirname, 'fixtures/worker-child.ts')], {
      cwd: ROOT,
      env: { ...process.env, TEST_SCHEMA: schema, TEST_ENCRYPTION_KEY: key.toString('hex'), TEMPORAL_ADDRESS: orchestration.address, SYNCLINE_PROVIDERS_FILE: path.join(dir, 'providers.yaml') },
    });
    let out = '';
    let err = '';
    child.stderr!.on('data', (d) => (err += d));
    const exited = new Promise((resolve) => child.once('exit', resolve));
    await new Promise<void>((resolve, reject) => {
      child.stdout!.on('data', (d) => ((out += d), /READY/.test(out) && resolve()));
      child.once('exit', (code) => reject(new Error(`worker exited ${code}: ${err.slice(-2000)}`)));
    });
    return { child, exited };
  };

  fake.requests.length = 0;
  let worker = await startWorker();
  try {
    await api(parent, 'POST', '/sync/deploy', { nangoYamlBody: YAML, flowConfigs: [{ type: 'sync', name: 'pages', providerConfigKey: 'fake', fileBody: { js: PAGES } }] });
    await api(parent, 'POST', '/connections', { provider_config_key: 'fake', connection_id: 'c1', credentials: { type: 'API_KEY', apiKey: 'k' } });
    await waitFor('a few pages', async () => (await allRecords(parent)).length >= 3 * PAGE, 60_000);
    worker.child.kill('SIGKILL');
    await worker.exited;
    const before = fake.requestsTo('/offset/items').length;

    worker = await startWorker();
    const done = await waitFor(
      'the resumed run to finish',
      async () => {
        const s = (await api(parent, 'GET', '/sync/status?syncs=pages&provider_config_key=fake&connection_id=c1')).body.syncs?.[0];
        return s && s.status === 'SUCCESS' && s.finishedAt && s;
      },
      60_000,
    );
    expect(done.recordCount).toEqual({ Item: TOTAL });
    const after = fake.requestsTo('/offset/items').slice(before).map((r) => Number(r.query.offset));
    expect(after[0]).toBeGreaterThan(0);
    const records = await allRecords(parent);
    expect(records.map((r) => r.id).sort((a, b) => Number(a) - Number(b))).toEqual(fake.items.map((i) => String(i.id)));
    // One job, continued by the second attempt.
    const [target] = await orchestration.orchestrator.targets(env, 'fake', ['pages'], 'c1');
    const jobs = await store.jobs.jobs(target!.row.id);
    expect(jobs).toHaveLength(1);
    expect(jobs[0]).toMatchObject({ status: 'SUCCESS', attempts: 2 });
    expect(jobs[0]!.result.Item!.added).toBe(TOTAL);
  } finally {
    worker.child.kill('SIGTERM');
    await worker.exited;
    server.closeAllConnections();
    await new Promise((r) => server.close(r));
    await orchestration.close();
    useUserProviders({});
    await db.query(`DROP SCHEMA ${schema} CASCADE`);
    await db.close();
  }
});
