import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { asyncLocalStorage, Context, type Info } from '@temporalio/activity';
import { runSync } from '../../src/activities/sync';
import { parseNangoYaml } from '../../src/config/nango-yaml';
import { useUserProviders } from '../../src/providers';
import { statementsSent } from '../../src/store/db';
import type { Environment } from '../../src/types';
import type { RunSyncResult } from '../../src/workflows/types';
import { testStore } from '../helpers/db';

// Issue 15: what one trivial sync run (a script saving one record, no HTTP, no webhook configured)
// costs the database. The runSync activity is called as the worker calls it, without the engine, so
// only the run's own statements are counted.

const YAML = `integrations:
  cost:
    syncs:
      tick:
        runs: every hour
        output: Tick
        endpoint: GET /ticks
      fetch:
        runs: every hour
        output: Tick
        endpoint: GET /fetched
models:
  Tick:
    id: string
    at: string
`;
const TICK = `module.exports = async function fetchData(nango) {
  await nango.batchSave([{ id: 'tick', at: new Date().toISOString() }], 'Tick');
};`;
// One request to the provider (the connection's credentials are fetched for it), one record.
const FETCH = `module.exports = async function fetchData(nango) {
  const res = await nango.get({ endpoint: '/now' });
  await nango.batchSave([{ id: 'now', at: res.data.at }], 'Tick');
};`;

let store: Awaited<ReturnType<typeof testStore>>;
let env: Environment;
let api: Server;
/** The API key of each request the provider got. */
const keys: unknown[] = [];

beforeAll(async () => {
  api = createServer((req, res) => {
    keys.push(req.headers['x-api-key']);
    res.setHeader('content-type', 'application/json').end(JSON.stringify({ at: new Date().toISOString() }));
  });
  await new Promise<void>((resolve) => api.listen(0, '127.0.0.1', resolve));
  const baseUrl = `http://127.0.0.1:${(api.address() as AddressInfo).port}`;
  useUserProviders({ costly: { display_name: 'Costly', auth_mode: 'API_KEY', proxy: { base_url: baseUrl, headers: { 'x-api-key': '${apiKey}' } } } } as never);
  store = await testStore();
  await store.environments.ensureDefaults();
  env = (await store.environments.byName('dev'))!;
  await store.integrations.create(env.id, { uniqueKey: 'cost', provider: 'costly' });
  await store.scripts.deploy(env.id, YAML, parseNangoYaml(YAML, 'nango.yaml'), [
    { integration: 'cost', type: 'sync', name: 'tick', js: TICK },
    { integration: 'cost', type: 'sync', name: 'fetch', js: FETCH },
  ]);
  await store.connections.upsert(env.id, 'cost', { connectionId: 'c1', credentials: { type: 'API_KEY', apiKey: 'k' } });
});

afterAll(async () => {
  useUserProviders({});
  await store.drop();
  await new Promise((resolve) => api.close(resolve));
});

/** One run of sync `sync` of connection c1, as activity `activityId` of one workflow run. */
async function run(activityId: string, sync = 'tick'): Promise<{ result: RunSyncResult; statements: number }> {
  const info = { attempt: 1, activityId, heartbeatTimeoutMs: 60_000, workflowExecution: { workflowId: 'run-cost', runId: 'r1' } } as unknown as Info;
  const context = new Context(info, new Promise<never>(() => undefined), new AbortController().signal, () => undefined, undefined as never, undefined as never, undefined as never, undefined as never);
  const key = { environmentId: env.id, environment: env.name, integration: 'cost', connectionId: 'c1', sync, variant: 'base' };
  const before = statementsSent();
  const result = await asyncLocalStorage.run(context, () => runSync({ store }, { key, reset: false, scheduledAt: Date.now() }));
  return { result, statements: statementsSent() - before };
}

test('a trivial sync run sends at most 12 statements to Postgres (8 on PGlite, which sends no BEGIN/COMMIT)', async () => {
  // The first run creates the sync's row; the bound is for the runs after it.
  expect((await run('1')).result).toMatchObject({ outcome: 'success', notify: false });
  const { result, statements } = await run('2');
  expect(result).toMatchObject({ outcome: 'success', notify: false, frequencyMs: 3_600_000 });
  const job = await store.jobs.job((result as { jobId: number }).jobId);
  expect(job).toMatchObject({ status: 'SUCCESS', result: { Tick: { added: 0, updated: 1, deleted: 0 } } });
  // Before commit b245eb8 the same run sent 21 statements on Postgres (17 on PGlite): the
  // connection read twice, the integration, the environment settings, an upsert of the syncs row, a
  // last_fetched_at update, the open trackDeletes phases, the counts in a transaction of their own,
  // a DELETE of seen ids and a read of the job's names at its end. Now: the connection, the script,
  // beginJob, the records' transaction (lock, upsert, counts) and the job's end (its UPDATE, its
  // logs and the webhook settings), plus two BEGIN/COMMIT pairs on Postgres.
  expect(statements).toBeLessThanOrEqual(store.db.backend === 'postgres' ? 12 : 8);
  // The script fetched no credentials, so the connection was not stamped as fetched.
  const { rows } = await store.db.query<{ last_fetched_at: Date | null }>(`SELECT last_fetched_at FROM connections WHERE connection_id = 'c1'`);
  expect(rows[0]!.last_fetched_at).toBeNull();
});

test('a run whose script calls the provider reads its connection once: at most one statement more, stamping last_fetched_at', async () => {
  expect((await run('3', 'fetch')).result).toMatchObject({ outcome: 'success' });
  const since = new Date(Date.now() - 1000);
  const { result, statements } = await run('4', 'fetch');
  expect(result).toMatchObject({ outcome: 'success' });
  const [record] = (await store.records.list((await store.connections.get(env.id, 'cost', 'c1')).id, { model: 'Tick', ids: ['now'] })).records;
  expect(Date.parse(String(record!.at))).toBeGreaterThanOrEqual(since.getTime());
  expect(keys).toEqual(['k', 'k']);
  // Before b245eb8: 21 on Postgres (17 on PGlite); the credentials came from a second read of the connection.
  expect(statements).toBeLessThanOrEqual(store.db.backend === 'postgres' ? 13 : 9);
  const { rows } = await store.db.query<{ last_fetched_at: Date | null }>(`SELECT last_fetched_at FROM connections WHERE connection_id = 'c1'`);
  expect(new Date(rows[0]!.last_fetched_at!).getTime()).toBeGreaterThanOrEqual(since.getTime());
});
