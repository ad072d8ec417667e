import { useUserProviders } from '../../src/providers';
import { Syncline } from '../../src/sdk';
import { snapshot } from '../helpers/api';
import { startOrchestrationTest, waitFor, type OrchestrationTest } from '../orchestration/helpers';
import { parsePrometheus, valueOf } from './prometheus';

jest.setTimeout(60_000);

const API_KEY = 'ak-super-secret-123';
const ENV_SECRET = 'env-secret-value-456';

const YAML = `integrations:
  leaky:
    syncs:
      chatty:
        runs: every day
        output: Item
        endpoint: GET /items
    actions:
      shout:
        endpoint: POST /shout
models:
  Item:
    id: string
    name: string
`;

// Logs both secrets, sends them in a query parameter, an unnamed parameter and a header, fails one call.
const CHATTY = `module.exports = async function fetchData(nango) {
  const vars = await nango.getEnvironmentVariables();
  const token = vars.find((v) => v.name === 'TOKEN').value;
  const connection = await nango.getConnection();
  await nango.log('starting with ' + token);
  await nango.log('key is ' + connection.credentials.apiKey, { level: 'warn' });
  const res = await nango.get({ endpoint: '/offset/items', params: { offset: 0, limit: 3, token, q: token }, headers: { authorization: 'Bearer ' + token } });
  await nango.get({ endpoint: '/missing' }).catch(() => nango.log('missing is gone', { level: 'error' }));
  await nango.batchSave(res.data.items.map((i) => ({ id: String(i.id), name: i.name })), 'Item');
};`;

const SHOUT = `module.exports = async function runAction(nango, input) {
  await nango.log('shouting ' + input.text);
  const res = await nango.post({ endpoint: '/things/echo', data: input });
  return { heard: res.data.body.text };
};`;

let t: OrchestrationTest;
let jobId: string;

const logs = async (query: string, key?: string) => {
  const res = await t.request('GET', `/logs?${query}`, key ? { key } : {});
  expect(res.status).toBe(200);
  return res.body as { logs: any[]; next_cursor: string | null };
};

beforeAll(async () => {
  t = await startOrchestrationTest();
  // The provider puts the API key in the query string, the way some APIs want it.
  useUserProviders({
    fake: { display_name: 'Fake', auth_mode: 'API_KEY', proxy: { base_url: t.fake.url, headers: { 'x-api-key': '${apiKey}' } } },
    leaky: { display_name: 'Leaky', auth_mode: 'API_KEY', proxy: { base_url: t.fake.url, query: { api_key: '${apiKey}' } } },
  } as never);
  await t.store.integrations.create(t.env.dev, { uniqueKey: 'leaky', provider: 'leaky' });
  expect((await t.request('POST', '/environment-variables', { json: [{ name: 'TOKEN', value: ENV_SECRET }] })).status).toBeLessThan(300);
  const deployed = await t.deploy(YAML, { 'sync/chatty/leaky': CHATTY, 'action/shout/leaky': SHOUT });
  expect(deployed.status).toBe(200);
  const created = await t.request('POST', '/connections', { json: { provider_config_key: 'leaky', connection_id: 'q1', credentials: { type: 'API_KEY', apiKey: API_KEY } } });
  expect(created.status).toBe(201);
  const outcome = await waitFor('the first chatty run', async () => (await logs('sync=chatty&connectionId=q1&kind=outcome')).logs[0]);
  jobId = outcome.job_id;
});
afterAll(() => t?.close());

test("a sync run's script lines, HTTP calls and outcome are stored in order", async () => {
  const { logs: lines } = await logs(`jobId=${jobId}&order=asc`);
  expect(lines.map((l) => [l.kind, l.level])).toEqual([
    ['log', 'info'],
    ['log', 'warn'],
    ['http', 'info'],
    ['http', 'error'],
    ['log', 'error'],
    ['outcome', 'info'],
  ]);
  for (const l of lines) expect(l).toMatchObject({ operation: 'sync', integration: 'leaky', connection_id: 'q1', name: 'chatty', job_id: jobId });
  expect(lines[2].http).toEqual({
    method: 'GET',
    url: `${t.fake.url}/offset/items?api_key=[redacted]&offset=0&limit=3&token=[redacted]&q=[redacted]`,
    status: 200,
    duration_ms: expect.any(Number),
  });
  expect(lines[3].http).toMatchObject({ method: 'GET', url: `${t.fake.url}/missing?api_key=[redacted]`, status: 404 });
  expect(lines[5].message).toMatch(/^Sync "chatty" succeeded in \d+\.\d\d s \(Item: 3 added, 0 updated, 0 deleted\)$/);
});

test('secrets never reach the stored logs, though the script logged and sent them', async () => {
  const sent = t.fake.requestsTo('/offset/items').at(-1)!;
  expect(sent.query).toMatchObject({ api_key: API_KEY, token: ENV_SECRET, q: ENV_SECRET });
  expect(sent.headers.authorization).toBe(`Bearer ${ENV_SECRET}`);
  const stored = JSON.stringify((await snapshot(t.store.db)).logs);
  expect(stored).toContain('starting with [redacted]');
  expect(stored).toContain('key is [redacted]');
  for (const secret of [API_KEY, ENV_SECRET, 'Bearer']) expect(stored).not.toContain(secret);
});

test('an action run is logged too; runs and schedule lag are in /metrics', async () => {
  const before = parsePrometheus((await t.request('GET', '/metrics')).body);
  const res = await t.request('POST', '/action/trigger', { json: { action_name: 'shout', input: { text: 'hey' } }, headers: { 'Connection-Id': 'q1', 'Provider-Config-Key': 'leaky' } });
  expect(res).toMatchObject({ status: 200, body: { heard: 'hey' } });
  const { logs: lines } = await logs('action=shout&order=asc');
  expect(lines.map((l) => [l.kind, l.message.replace(/\d+(\.\d+)? (ms|s)/g, 'T')])).toEqual([
    ['log', 'shouting hey'],
    ['http', `POST ${t.fake.url}/things/echo?api_key=[redacted] 200 (T)`],
    ['outcome', 'Action "shout" succeeded in T'],
  ]);
  expect(lines[0]).toMatchObject({ operation: 'action', name: 'shout', job_id: expect.stringMatching(/^[0-9a-f-]{36}$/) });

  const after = parsePrometheus((await t.request('GET', '/metrics')).body);
  const labels = { environment: 'dev', integration: 'leaky', operation: 'action', script: 'shout', status: 'success' };
  expect(valueOf(after, 'syncline_runs_total', labels) - valueOf(before, 'syncline_runs_total', labels)).toBe(1);
  expect(valueOf(after, 'syncline_run_duration_seconds_count', labels) - valueOf(before, 'syncline_run_duration_seconds_count', labels)).toBe(1);
  // The sync run of beforeAll: one success, three records added.
  expect(valueOf(after, 'syncline_runs_total', { integration: 'leaky', operation: 'sync', script: 'chatty', status: 'success' })).toBeGreaterThanOrEqual(1);
  expect(valueOf(after, 'syncline_records_written_total', { integration: 'leaky', sync: 'chatty', model: 'Item', change: 'added' })).toBeGreaterThanOrEqual(3);
  // A new sync's first run is due at once: its lag from then to its start is measured.
  expect(valueOf(after, 'syncline_sync_schedule_lag_seconds_count', { environment: 'dev', integration: 'leaky', sync: 'chatty' })).toBe(1);
  expect(valueOf(after, 'syncline_sync_schedule_lag_seconds_sum', { environment: 'dev', integration: 'leaky', sync: 'chatty' })).toBeLessThan(30);
});

test('filters: connection, integration, sync or action, job, level, kind, time range; other environments see nothing', async () => {
  const messages = async (query: string) => (await logs(`${query}&order=asc&limit=1000`)).logs.map((l) => l.message);
  const all = await messages('integration=leaky');
  expect(all.length).toBeGreaterThanOrEqual(9);
  expect(await messages('connectionId=nobody')).toEqual([]);
  expect(await messages(`jobId=${jobId}&level=error`)).toEqual([expect.stringContaining('/missing?api_key=[redacted] 404'), 'missing is gone']);
  expect(await messages(`jobId=${jobId}&level=warn,error&kind=log`)).toEqual(['key is [redacted]', 'missing is gone']);
  expect((await messages('action=shout&kind=outcome')).length).toBe(1);
  expect((await messages('sync=chatty&kind=http')).length % 2).toBe(0);
  const future = new Date(Date.now() + 60_000).toISOString();
  expect(await messages(`integration=leaky&from=${encodeURIComponent(future)}`)).toEqual([]);
  expect(await messages(`integration=leaky&to=${encodeURIComponent(future)}`)).toEqual(all);
  expect((await logs('integration=leaky', t.keys.prod)).logs).toEqual([]);
  for (const bad of ['level=loud', 'kind=nope', 'from=yesterday', 'limit=0', 'limit=1001', 'cursor=bm9wZQ', 'sync=a&action=b']) {
    const res = await t.request('GET', `/logs?${bad}`);
    expect({ bad, status: res.status }).toEqual({ bad, status: 400 });
  }
  expect((await t.request('GET', '/logs', { key: null })).status).toBe(401);
});

test('cursor paging walks every line once, newest first by default, oldest first with order=asc', async () => {
  for (const order of ['desc', 'asc']) {
    const whole = (await logs(`integration=leaky&order=${order}&limit=1000`)).logs.map((l) => l.id);
    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const page: { logs: any[]; next_cursor: string | null } = await logs(`integration=leaky&order=${order}&limit=2${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`);
      expect(page.logs.length).toBeLessThanOrEqual(2);
      seen.push(...page.logs.map((l) => l.id));
      cursor = page.next_cursor;
    } while (cursor);
    expect(seen).toEqual(whole);
    const numbers = whole.map(Number);
    expect(numbers).toEqual([...numbers].sort((a, b) => (order === 'asc' ? a - b : b - a)));
  }
});

test('the SDK lists and pages the same lines', async () => {
  const syncline = new Syncline({ secretKey: t.keys.dev, host: t.url });
  const lines: string[] = [];
  let cursor: string | null = null;
  do {
    const page: Awaited<ReturnType<Syncline['listLogs']>> = await syncline.listLogs({ jobId, order: 'asc', limit: 4, cursor });
    lines.push(...page.logs.map((l) => l.kind));
    cursor = page.next_cursor;
  } while (cursor);
  expect(lines).toEqual(['log', 'log', 'http', 'http', 'log', 'outcome']);
  const errors = await syncline.listLogs({ integration: 'leaky', sync: 'chatty', level: ['error'], kind: 'log' });
  expect(errors.logs.map((l) => l.message)).toContain('missing is gone');
  expect(errors.logs.every((l) => l.level === 'error' && l.kind === 'log')).toBe(true);
  await expect(syncline.listLogs({ level: 'loud' as never })).rejects.toMatchObject({ status: 400 });
});
