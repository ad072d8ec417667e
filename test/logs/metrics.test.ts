import type { AddressInfo } from 'node:net';
import type { Server } from 'node:http';
import { createApp } from '../../src/api/app';
import { createLogger } from '../../src/logger';
import { useUserProviders } from '../../src/providers';
import type { FakeOAuthProvider } from '../fixtures/oauth-provider';
import { call, startTestApi, type TestApi } from '../helpers/api';
import { addFakeIntegration, startFakeProvider } from '../helpers/oauth';
import { parsePrometheus, valueOf } from './prometheus';

let api: TestApi;
let fake: FakeOAuthProvider;

beforeAll(async () => {
  [api, fake] = await Promise.all([startTestApi(), startFakeProvider()]);
  await addFakeIntegration(api, 'fake-oauth2', fake);
}, 60_000);
afterAll(async () => {
  useUserProviders({});
  await Promise.all([api.close(), fake.close()]);
});

const scrape = async (key: string | null = api.keys.dev) => {
  const res = await call(api, 'GET', '/metrics', { key });
  expect(res.status).toBe(200);
  expect(res.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
  return parsePrometheus(res.body);
};

test('the output parses as Prometheus text, with the process metrics and every Syncline family', async () => {
  const families = await scrape();
  for (const name of ['syncline_runs_total', 'syncline_run_duration_seconds', 'syncline_records_written_total', 'syncline_sync_schedule_lag_seconds', 'syncline_proxy_requests_total', 'syncline_token_refreshes_total']) {
    expect(families.get(name)).toMatchObject({ help: expect.any(String) });
  }
  expect(families.get('syncline_run_duration_seconds')!.type).toBe('histogram');
  expect(families.get('process_cpu_user_seconds_total')!.type).toBe('counter');
  // Sampled every 100 ms (EVENT_LOOP_SAMPLE_MS): still there, with samples.
  expect(families.get('nodejs_eventloop_lag_p99_seconds')!.type).toBe('gauge');
  expect(families.get('nodejs_eventloop_lag_max_seconds')!.samples[0]!.value).toBeGreaterThan(0);
});

test('every Syncline family counts what this process did (no gauge read from the database): summed over the processes of a cluster, nothing is counted twice', async () => {
  const families = [...(await scrape()).entries()].filter(([name]) => name.startsWith('syncline_'));
  expect(families.length).toBeGreaterThanOrEqual(6);
  // A gauge of database state (connections, pending deliveries...) would be the same in every
  // process, and a sum across processes would multiply it: it must then be served by one process only.
  expect(families.filter(([, family]) => family.type !== 'counter' && family.type !== 'histogram').map(([name]) => name)).toEqual([]);
});

test('proxied calls are counted by status class, token refreshes by result', async () => {
  const tokens = fake.issue();
  await api.dev.importConnection({ provider_config_key: 'fake-oauth2', connection_id: 'm1', credentials: { type: 'OAUTH2', ...tokens, expires_at: new Date(Date.now() + 3600_000).toISOString(), raw: tokens } });
  const labels = { environment: 'dev', integration: 'fake-oauth2' };
  const before = await scrape();

  expect((await api.dev.get({ providerConfigKey: 'fake-oauth2', connectionId: 'm1', endpoint: '/echo' })).status).toBe(200);
  const notFound = await call(api, 'GET', '/proxy/no-such-path', { headers: { 'connection-id': 'm1', 'provider-config-key': 'fake-oauth2', 'base-url-override': fake.url } });
  expect(notFound.status).toBe(404);
  expect((await call(api, 'GET', '/connections/m1?provider_config_key=fake-oauth2&force_refresh=true')).status).toBe(200);
  fake.refreshFailure = { status: 400, body: { error: 'invalid_grant' } };
  try {
    expect((await call(api, 'GET', '/connections/m1?provider_config_key=fake-oauth2&force_refresh=true')).status).toBe(424);
  } finally {
    fake.refreshFailure = undefined;
  }

  const after = await scrape();
  const delta = (name: string, extra: Record<string, string>) => valueOf(after, name, { ...labels, ...extra }) - valueOf(before, name, { ...labels, ...extra });
  expect(delta('syncline_proxy_requests_total', { status_class: '2xx' })).toBe(1);
  expect(delta('syncline_proxy_requests_total', { status_class: '4xx' })).toBe(1);
  // The refresh counter is bumped once the environment's name is known (first use looks it up).
  await new Promise((r) => setTimeout(r, 50));
  const settled = await scrape();
  expect(valueOf(settled, 'syncline_token_refreshes_total', { ...labels, result: 'success' }) - valueOf(before, 'syncline_token_refreshes_total', { ...labels, result: 'success' })).toBe(1);
  expect(valueOf(settled, 'syncline_token_refreshes_total', { ...labels, result: 'failure' }) - valueOf(before, 'syncline_token_refreshes_total', { ...labels, result: 'failure' })).toBe(1);
});

test("with SYNCLINE_METRICS_AUTH=key a key is required and sees only its environment's series; with none, anyone sees all", async () => {
  expect((await call(api, 'GET', '/metrics', { key: null })).status).toBe(401);
  const prod = await scrape(api.keys.prod);
  expect(valueOf(prod, 'syncline_proxy_requests_total')).toBe(0);
  expect(prod.get('syncline_proxy_requests_total')!.samples).toEqual([]);
  expect(valueOf(prod, 'process_cpu_user_seconds_total')).toBeGreaterThan(0);

  const open = createApp({ store: api.store, logger: createLogger('silent'), metricsAuth: 'none' });
  const server = await new Promise<Server>((resolve) => {
    const s = open.listen(0, '127.0.0.1', () => resolve(s));
  });
  try {
    const res = await fetch(`http://127.0.0.1:${(server.address() as AddressInfo).port}/metrics`);
    expect(res.status).toBe(200);
    const all = parsePrometheus(await res.text());
    expect(valueOf(all, 'syncline_proxy_requests_total', { environment: 'dev' })).toBeGreaterThanOrEqual(2);
  } finally {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  }
});
