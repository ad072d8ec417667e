import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { MAX_UNFINISHED_ATTEMPTS } from '../../src/activities/sync';
import { startFakeApi, type FakeApi } from '../fixtures/fake-apis';
import { freePort } from '../helpers/temporal';
import { childRequest, createDatabase, startChild, stopChild, type Child } from './child-process';
import { waitFor } from './helpers';

// Issue 14, item 1: a run that takes the process down resumed at every restart and took it down
// again. Here the whole Syncline process is SIGKILLed while the same sync run's script runs, three
// times; after each restart the dead attempt's heartbeat timeout (2 s in the child) starts it again.
// After the third restart the run is not started a fourth time: it ends as ERROR run_crash_loop, the
// server serves, and the sync's next run starts afresh. The guard is in the sync activity, whatever
// the engine: this runs on the embedded one (crash.test.ts holds both to the resume itself).
// Each start of a child takes seconds, over a minute on PGlite on a loaded machine.
jest.setTimeout(420_000);

const KEY = 'sk_dev_crash_loop_key_1234';
const YAML = `integrations:
  fake:
    syncs:
      doom:
        runs: every day
        output: Item
        endpoint: GET /items
models:
  Item:
    id: string
`;
/** Says it started (the fake API keeps the request), then runs until the process dies. */
const DOOM = `module.exports = async function fetchData(nango) {
  await nango.post({ endpoint: '/things/echo', data: { tag: 'doom' } });
  await new Promise((r) => setTimeout(r, 10 * 60_000));
};`;

let fake: FakeApi;
let dir: string;
let database: Awaited<ReturnType<typeof createDatabase>>;

beforeAll(async () => {
  fake = await startFakeApi();
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'syncline-crash-loop-'));
  fs.writeFileSync(
    path.join(dir, 'providers.yaml'),
    `fake:\n  display_name: Fake\n  auth_mode: API_KEY\n  proxy:\n    base_url: ${fake.url}\n    headers:\n      x-api-key: \${apiKey}\n`,
  );
  database = await createDatabase('crash_loop');
});

afterAll(async () => {
  await fake?.close();
  await database?.drop();
  fs.rmSync(dir, { recursive: true, force: true });
});

const starts = () => fake.requestsTo('/things/echo').filter((r) => (r.body as { tag?: string } | null)?.tag === 'doom').length;

test(`a sync run that dies with the process ${MAX_UNFINISHED_ATTEMPTS} times is not started again: ERROR run_crash_loop, and the next run starts afresh`, async () => {
  const ports = { api: await freePort(), engine: await freePort() };
  const place = { dataDir: path.join(dir, 'data'), databaseUrl: database?.url, providersFile: path.join(dir, 'providers.yaml'), secretKey: KEY };
  let child: Child = await startChild(ports, place);
  const api = (method: string, p: string, body?: unknown) => childRequest(child, KEY, method, p, body);
  const status = async () => (await api('GET', '/sync/status?syncs=doom&provider_config_key=fake&connection_id=c1')).body.syncs?.[0];
  try {
    expect((await api('POST', '/integrations', { provider: 'fake', unique_key: 'fake' })).status).toBeLessThan(300);
    expect((await api('POST', '/sync/deploy', { nangoYamlBody: YAML, flowConfigs: [{ type: 'sync', name: 'doom', providerConfigKey: 'fake', fileBody: { js: DOOM } }] })).status).toBe(200);
    expect((await api('POST', '/connections', { provider_config_key: 'fake', connection_id: 'c1', credentials: { type: 'API_KEY', apiKey: 'k' } })).status).toBeLessThan(300);

    // The run's first attempt starts with the connection; each restart starts it again.
    for (let kill = 1; kill <= MAX_UNFINISHED_ATTEMPTS; kill++) {
      await waitFor(`attempt ${kill} of the run to start its script`, () => starts() >= kill, 90_000);
      child.process.kill('SIGKILL');
      await child.exited;
      child = await startChild(ports, place);
    }

    const restarted = Date.now();
    const ended = await waitFor(
      'the run to end',
      async () => {
        const s = await status();
        return s?.status === 'ERROR' && s;
      },
      90_000,
    );
    console.log(`crash loop: the run ended ${Date.now() - restarted} ms after the last restart`);
    expect(ended.finishedAt).toEqual(expect.any(String));
    const errors = (await api('GET', '/logs?sync=doom&level=error')).body.logs as Array<{ message: string }>;
    expect(errors.map((l) => l.message)).toEqual([
      expect.stringMatching(
        /^Sync "doom" failed after [\d.]+ s: run_crash_loop: The run was started 3 times and never finished \(the process or its worker died during it\): it is not started again\. The next scheduled run starts afresh/,
      ),
    ]);
    expect((await fetch(`${child.url}/health`)).status).toBe(200);
    // Its script was not started a fourth time, not even a while later.
    await new Promise((r) => setTimeout(r, 3000));
    expect(starts()).toBe(MAX_UNFINISHED_ATTEMPTS);

    // The sync is not dead: the next run (triggered here rather than waiting a day) starts its script.
    expect((await api('POST', '/sync/trigger', { provider_config_key: 'fake', connection_id: 'c1', syncs: ['doom'] })).status).toBe(200);
    await waitFor('the next run to start its script', () => starts() > MAX_UNFINISHED_ATTEMPTS, 60_000);
  } finally {
    await stopChild(child);
  }
});
