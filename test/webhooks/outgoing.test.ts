import { Nango } from '@nangohq/node';
import { useUserProviders, validateProvider, type ProviderDefinition } from '../../src/providers';
import { Syncline } from '../../src/sdk';
import { syncWorkflow } from '../../src/workflows';
import { syncWorkflowId } from '../../src/worker/workflow-ids';
import { TASK_QUEUE } from '../../src/workflows/types';
import { FakeOAuthProvider, fakeProviderDefinitions } from '../fixtures/oauth-provider';
import { startOrchestrationTest, waitFor, type OrchestrationTest } from '../orchestration/helpers';
import { startReceiver, type Receiver } from './receiver';

jest.setTimeout(90_000);

const YAML = `integrations:
  fake:
    syncs:
      items:
        runs: every day
        output: [Item, Tag]
        endpoint: [GET /items, GET /tags]
      broken:
        runs: every day
        output: [Item, Tag]
        endpoint: [GET /broken-items, GET /broken-tags]
      endless:
        runs: every day
        auto_start: false
        output: Item
        endpoint: GET /endless-items
      paged:
        runs: every day
        auto_start: false
        output: Item
        endpoint: GET /paged-items
    actions:
      echo:
        endpoint: POST /echo
models:
  Item:
    id: string
    name: string
  Tag:
    id: string
`;

const ITEMS = `module.exports = async function fetchData(nango) {
  await nango.batchSave([{ id: '1', name: 'one' }, { id: '2', name: 'two' }], 'Item');
  await nango.batchSave([{ id: 't1' }], 'Tag');
};`;
const BROKEN = `module.exports = async function fetchData() { throw new Error('boom'); };`;
const ENDLESS = `module.exports = async function fetchData() { await new Promise((r) => setTimeout(r, 60_000)); };`;
const PAGED = `module.exports = async function fetchData(nango) {
  const page = ((await nango.getCheckpoint())?.page ?? 0) + 1;
  await nango.batchSave([{ id: 'p' + page, name: 'page ' + page }], 'Item');
  await nango.saveCheckpoint({ page });
};`;
const ECHO = `module.exports = async function runAction(nango, input) { return { echoed: input }; };`;

let t: OrchestrationTest;
let app: Receiver;
let oauth: FakeOAuthProvider;
let sdk: Syncline;

beforeAll(async () => {
  [t, app, oauth] = await Promise.all([startOrchestrationTest(), startReceiver(), new FakeOAuthProvider().start()]);
  const { definition } = validateProvider('fake-oauth2', fakeProviderDefinitions(oauth.url)['fake-oauth2']);
  useUserProviders({
    fake: { display_name: 'Fake', auth_mode: 'API_KEY', proxy: { base_url: t.fake.url, headers: { 'x-api-key': '${apiKey}' } } } as ProviderDefinition,
    'fake-oauth2': definition!,
  });
  await t.store.integrations.create(t.dev.id, { uniqueKey: 'fake-oauth2', provider: 'fake-oauth2', credentials: { type: 'OAUTH2', client_id: oauth.clientId, client_secret: oauth.clientSecret } });
  sdk = new Syncline({ secretKey: t.keys.dev, host: t.url });
  await sdk.updateWebhookSettings({ primary_url: `${app.url}/primary`, secondary_url: `${app.url}/secondary` });
  const res = await t.deploy(YAML, { 'sync/items': ITEMS, 'sync/broken': BROKEN, 'sync/endless': ENDLESS, 'sync/paged': PAGED, 'action/echo': ECHO });
  expect(res.status).toBe(200);
});
afterAll(async () => {
  await t?.close();
  await app?.close();
  await oauth?.close();
});

const target = async (connectionId: string, sync: string) => (await t.targets(connectionId, [sync]))[0]!;
const jobs = async (connectionId: string, sync: string) => t.store.jobs.jobs((await target(connectionId, sync)).row.id);
/** Waits until `n` runs ended and the workflow went past the last one (its webhooks are enqueued by then). */
async function runs(connectionId: string, sync: string, n: number) {
  const done = await waitFor(`${n} finished ${sync} runs of ${connectionId}`, async () => {
    const finished = (await jobs(connectionId, sync)).filter((j) => j.status !== 'RUNNING');
    return finished.length >= n && finished;
  });
  const last = done[0]!;
  await waitFor(`the workflow past job ${last.id}`, async () => {
    const [live] = await t.orchestration.orchestrator.live([await target(connectionId, sync)]);
    return live?.lastRun?.jobId === last.id && !live.running;
  });
  return done;
}
const syncHooks = (connectionId: string, syncName: string) => app.find((b) => b.type === 'sync' && b.connectionId === connectionId && b.syncName === syncName);
const settings = (patch: Parameters<Syncline['updateWebhookSettings']>[0]) => sdk.updateWebhookSettings(patch);
/** Waits until every `auth` event written so far was turned into webhooks (or into none, per the settings). */
const authOutboxDrained = () => waitFor('the auth outbox drained', async () => (await t.store.db.query('SELECT 1 FROM auth_events')).rows.length === 0);

test('a run that changed records sends one signed sync webhook per model to the primary and secondary URLs', async () => {
  await t.connect('c1');
  const [job] = await runs('c1', 'items', 1);
  expect(job!.status).toBe('SUCCESS');
  const hooks = await waitFor('4 sync webhooks', () => syncHooks('c1', 'items').length >= 4 && syncHooks('c1', 'items'));
  expect(hooks.map((h) => `${h.path} ${h.body.model}`).sort()).toEqual(['/primary Item', '/primary Tag', '/secondary Item', '/secondary Tag']);
  const item = hooks.find((h) => h.body.model === 'Item')!;
  expect(item.body).toEqual({
    from: 'nango',
    type: 'sync',
    connectionId: 'c1',
    providerConfigKey: 'fake',
    syncName: 'items',
    syncVariant: 'base',
    model: 'Item',
    syncType: 'INITIAL',
    success: true,
    modifiedAfter: job!.startedAt.toISOString(),
    responseResults: { added: 2, updated: 0, deleted: 0 },
    queryTimeStamp: job!.startedAt.toISOString(),
  });
  expect(hooks.find((h) => h.body.model === 'Tag')!.body.responseResults).toEqual({ added: 1, updated: 0, deleted: 0 });

  // Verifiable with the signing key, by our SDK and by @nangohq/node; not with the secret key.
  const { signing_key } = (await sdk.getWebhookSettings()).data;
  const verifier = new Syncline({ secretKey: t.keys.dev, webhookSigningKey: signing_key });
  const nango = new Nango({ secretKey: t.keys.dev, webhookSigningKey: signing_key } as never);
  for (const hook of hooks) {
    const headers = hook.headers as Record<string, string>;
    expect(verifier.verifyIncomingWebhookRequest(hook.raw, headers)).toBe(true);
    expect(nango.verifyIncomingWebhookRequest(hook.raw, headers)).toBe(true);
    expect(verifier.verifyWebhookSignature(headers['x-nango-signature']!, hook.body)).toBe(true);
    expect(sdk.verifyIncomingWebhookRequest(hook.raw, headers)).toBe(false);
  }

  // Every delivery is logged with its attempt.
  const data = (await sdk.listWebhookDeliveries({ type: 'sync', connectionId: 'c1' })).data.filter((d) => d.body.syncName === 'items');
  expect(data).toHaveLength(4);
  for (const d of data) {
    expect(d).toMatchObject({ status: 'DELIVERED', type: 'sync', provider_config_key: 'fake', attempts: [{ attempt: 1, status_code: 200, error: null }] });
    expect(d.attempts[0]!.duration_ms).toBeGreaterThanOrEqual(0);
  }
});

test('a run that changed nothing sends nothing, unless on_sync_completion_always', async () => {
  const before = syncHooks('c1', 'items').length;
  await t.orchestration.orchestrator.trigger([await target('c1', 'items')]);
  const [quiet] = await runs('c1', 'items', 2);
  expect(quiet!.status).toBe('SUCCESS');
  expect(syncHooks('c1', 'items')).toHaveLength(before);
  expect((await sdk.listWebhookDeliveries({ connectionId: 'c1' })).data.filter((d) => d.body.modifiedAfter === quiet!.startedAt.toISOString())).toEqual([]);

  await settings({ on_sync_completion_always: true });
  await t.orchestration.orchestrator.trigger([await target('c1', 'items')]);
  const [always] = await runs('c1', 'items', 3);
  const hooks = await waitFor('empty-run webhooks', () => {
    const h = syncHooks('c1', 'items').filter((x) => x.body.modifiedAfter === always!.startedAt.toISOString());
    return h.length >= 4 && h;
  });
  for (const h of hooks) expect(h.body).toMatchObject({ success: true, responseResults: { added: 0, updated: 0, deleted: 0 } });
  await settings({ on_sync_completion_always: false });
});

test("a run that used its checkpoint says where it took it from and to (Nango's checkpoints); one that did not, nothing", async () => {
  const pagedHooks = (job: { startedAt: Date }) =>
    waitFor('the paged webhook', () => syncHooks('c1', 'paged').find((h) => h.path === '/primary' && h.body.modifiedAfter === job.startedAt.toISOString()));
  await t.orchestration.orchestrator.trigger([await target('c1', 'paged')]);
  const [first] = await runs('c1', 'paged', 1);
  expect((await pagedHooks(first!)).body).toMatchObject({ syncName: 'paged', model: 'Item', checkpoints: { from: null, to: { page: 1 } } });
  await t.orchestration.orchestrator.trigger([await target('c1', 'paged')]);
  const [second] = await runs('c1', 'paged', 2);
  expect((await pagedHooks(second!)).body.checkpoints).toEqual({ from: { page: 1 }, to: { page: 2 } });
  expect(syncHooks('c1', 'items').every((h) => !('checkpoints' in h.body))).toBe(true);
});

test('a failed run sends one failure webhook per model when on_sync_error, none when off', async () => {
  const [job] = await runs('c1', 'broken', 1);
  expect(job!.status).toBe('ERROR');
  const hooks = await waitFor('failure webhooks', () => syncHooks('c1', 'broken').length >= 4 && syncHooks('c1', 'broken'));
  expect(hooks.find((h) => h.path === '/primary' && h.body.model === 'Tag')!.body).toEqual({
    from: 'nango',
    type: 'sync',
    connectionId: 'c1',
    providerConfigKey: 'fake',
    syncName: 'broken',
    syncVariant: 'base',
    model: 'Tag',
    syncType: 'INITIAL',
    success: false,
    error: { type: 'script_error', description: expect.stringContaining('boom') },
    startedAt: job!.startedAt.toISOString(),
    failedAt: job!.finishedAt!.toISOString(),
  });

  await settings({ on_sync_error: false });
  await t.orchestration.orchestrator.trigger([await target('c1', 'broken')]);
  await runs('c1', 'broken', 2);
  expect((await sdk.listWebhookDeliveries({ connectionId: 'c1', type: 'sync' })).data.filter((d) => d.body.syncName === 'broken')).toHaveLength(4);
  await settings({ on_sync_error: true });
});

test('a run whose attempts all time out sends its failure webhook too', async () => {
  const key = (await target('c1', 'endless')).key;
  // The orchestrator's workflow with a 1.5 s limit per attempt and two attempts.
  const handle = await t.orchestration.orchestrator.client.workflow.start(syncWorkflow, {
    taskQueue: TASK_QUEUE,
    workflowId: `${syncWorkflowId(key)}:exhaust-test`,
    args: [{ key, frequencyMs: 3_600_000, heartbeatTimeoutMs: 3000, runTimeoutMs: 1500, runAttempts: 2 }],
  });
  try {
    const hook = await waitFor('the failure webhook', () => syncHooks('c1', 'endless').find((h) => h.path === '/primary'), 30_000);
    expect(hook.body).toMatchObject({ success: false, model: 'Item', error: { type: 'run_failed', description: expect.stringMatching(/time/i) } });
  } finally {
    await handle.terminate('test over');
  }
});

test("a connection's webhook_url_override replaces the environment's URLs", async () => {
  await t.request('POST', '/connections', {
    json: { provider_config_key: 'fake', connection_id: 'c2', credentials: { type: 'API_KEY', apiKey: 'k' }, webhook_url_override: `${app.url}/override` },
  });
  await runs('c2', 'items', 1);
  const hooks = await waitFor('override webhooks', () => syncHooks('c2', 'items').length >= 2 && syncHooks('c2', 'items'));
  expect(hooks.map((h) => h.path)).toEqual(['/override', '/override']);
});

test('async actions: an async_action webhook with {id, statusUrl} when on_async_action_completion, none when off', async () => {
  const { id, statusUrl } = await sdk.triggerActionAsync('fake', 'c1', 'echo', { hello: 'world' });
  const [hook] = await waitFor('async_action webhook', () => {
    const h = app.find((b) => b.type === 'async_action' && b.payload?.id === id, '/primary');
    return h.length > 0 && h;
  });
  expect(hook!.body).toEqual({ from: 'nango', type: 'async_action', connectionId: 'c1', providerConfigKey: 'fake', payload: { id, statusUrl } });
  expect(await sdk.getAsyncActionResult({ statusUrl: hook!.body.payload.statusUrl })).toEqual({ echoed: { hello: 'world' } });

  // Synchronous calls send nothing; neither do async ones with the toggle off.
  await sdk.triggerAction('fake', 'c1', 'echo', { sync: true });
  await settings({ on_async_action_completion: false });
  const off = await sdk.triggerActionAsync('fake', 'c1', 'echo', {});
  await t.orchestration.orchestrator.client.workflow.getHandle(`action:dev:${off.id}`).result();
  expect((await sdk.listWebhookDeliveries({ type: 'async_action' })).data.map((d) => d.body.payload)).toEqual([
    { id, statusUrl },
    { id, statusUrl },
  ]);
  await settings({ on_async_action_completion: true });
});

test('retries: a receiver answering 500 twice gets a third attempt, and every attempt is recorded', async () => {
  await t.request('POST', '/connections', {
    json: { provider_config_key: 'fake', connection_id: 'flaky', credentials: { type: 'API_KEY', apiKey: 'k' }, webhook_url_override: `${app.url}/flaky` },
  });
  await runs('flaky', 'items', 1);
  await runs('flaky', 'broken', 1);
  // The syncs' own webhooks (2 models each) are answered before the receiver starts failing.
  await waitFor('the syncs webhooks delivered', async () => {
    const { data } = await sdk.listWebhookDeliveries({ type: 'sync', connectionId: 'flaky' });
    return data.length === 4 && data.every((d) => d.status === 'DELIVERED');
  });
  const path = '/flaky';
  const seen = app.find(() => true, path).length;
  app.answers.push(500, 500);
  const { id } = await sdk.triggerActionAsync('fake', 'flaky', 'echo', {});
  const got = await waitFor('3 attempts', () => {
    const h = app.find((b) => b.type === 'async_action' && b.payload?.id === id, path);
    return h.length >= 3 && h;
  });
  expect(app.find(() => true, path).length).toBe(seen + 3);
  // The same signed body each time.
  expect(new Set(got.map((g) => g.raw)).size).toBe(1);
  const delivery = await waitFor('delivered', async () => {
    const d = (await sdk.listWebhookDeliveries({ type: 'async_action', connectionId: 'flaky' })).data[0];
    return d?.status === 'DELIVERED' && d;
  });
  expect(delivery.attempts.map((a) => [a.attempt, a.status_code, a.error])).toEqual([
    [1, 500, 'HTTP 500 Internal Server Error'],
    [2, 500, 'HTTP 500 Internal Server Error'],
    [3, 200, null],
  ]);
});

test('a receiver that never answers 2xx gets every attempt, then the delivery is FAILED', async () => {
  await sdk.updateWebhookSettings({ on_async_action_completion: true });
  // A port nothing listens on.
  const closed = await startReceiver();
  await closed.close();
  await t.request('PATCH', '/connections/flaky?provider_config_key=fake', { json: { webhook_url_override: `${closed.url}/unreachable` } });
  const { id } = await sdk.triggerActionAsync('fake', 'flaky', 'echo', {});
  const failed = await waitFor(
    'failed delivery',
    async () => {
      const d = (await sdk.listWebhookDeliveries({ type: 'async_action', connectionId: 'flaky' })).data.find((x) => x.body.payload && (x.body.payload as { id: string }).id === id);
      return d?.status === 'FAILED' && d;
    },
    30_000,
  );
  expect(failed.attempts).toHaveLength(5);
  for (const a of failed.attempts) expect(a).toMatchObject({ status_code: null, error: 'ECONNREFUSED' });
});

test('auth webhooks: creation and override through the connect flow, with end user and tags; none when off', async () => {
  const session = await sdk.createConnectSession({ end_user: { id: 'u-auth' }, tags: { plan: 'pro' } });
  const connect = (connectionId: string) =>
    fetch(`${t.url}/api-auth/api-key/fake`, {
      method: 'POST',
      headers: { authorization: `Bearer ${session.data.token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ apiKey: 'k', connection_id: connectionId }),
    }).then((r) => r.status);
  expect(await connect('auth-1')).toBe(201);
  expect(await connect('auth-1')).toBe(201);
  const hooks = await waitFor('2 auth webhooks', () => {
    const h = app.find((b) => b.type === 'auth' && b.connectionId === 'auth-1', '/primary');
    return h.length >= 2 && h;
  });
  expect(hooks.map((h) => h.body.operation).sort()).toEqual(['creation', 'override']);
  expect(hooks.find((h) => h.body.operation === 'creation')!.body).toEqual({
    from: 'nango',
    type: 'auth',
    operation: 'creation',
    connectionId: 'auth-1',
    authMode: 'API_KEY',
    providerConfigKey: 'fake',
    provider: 'fake',
    environment: 'dev',
    success: true,
    tags: { plan: 'pro' },
    endUser: { endUserId: 'u-auth' },
  });

  // Events are turned into webhooks just after the flow answers (from the outbox): the settings then decide.
  await settings({ on_auth_creation: false });
  expect(await connect('auth-2')).toBe(201);
  await authOutboxDrained();
  expect((await sdk.listWebhookDeliveries({ type: 'auth', connectionId: 'auth-2' })).data).toEqual([]);
  await settings({ on_auth_creation: true });
  expect(await connect('auth-3')).toBe(201);
  await waitFor('auth-3 webhook', () => app.find((b) => b.type === 'auth' && b.connectionId === 'auth-3').length >= 2);
  expect(app.find((b) => b.type === 'auth' && b.connectionId === 'auth-2')).toEqual([]);
});

test('auth webhooks: a refused token refresh sends operation refresh, success false; on_auth_refresh_error off sends none', async () => {
  const tokens = oauth.issue();
  const expired = new Date(Date.now() - 60_000).toISOString();
  for (const id of ['r1', 'r2']) {
    await sdk.importConnection({ provider_config_key: 'fake-oauth2', connection_id: id, credentials: { type: 'OAUTH2', ...tokens, expires_at: expired } });
  }
  oauth.refreshFailure = { status: 400, body: { error: 'invalid_grant', error_description: 'revoked' } };
  expect((await t.request('GET', '/connections/r1?provider_config_key=fake-oauth2')).status).toBe(424);
  const [hook] = await waitFor('refresh webhook', () => {
    const h = app.find((b) => b.type === 'auth' && b.connectionId === 'r1', '/primary');
    return h.length > 0 && h;
  });
  expect(hook!.body).toMatchObject({
    from: 'nango',
    type: 'auth',
    operation: 'refresh',
    connectionId: 'r1',
    authMode: 'OAUTH2',
    providerConfigKey: 'fake-oauth2',
    provider: 'fake-oauth2',
    environment: 'dev',
    success: false,
    error: { type: 'refresh_token_external_error', description: expect.stringContaining('invalid_grant') },
  });

  await settings({ on_auth_refresh_error: false });
  expect((await t.request('GET', '/connections/r2?provider_config_key=fake-oauth2')).status).toBe(424);
  await authOutboxDrained();
  expect((await sdk.listWebhookDeliveries({ type: 'auth', connectionId: 'r2' })).data).toEqual([]);
  await settings({ on_auth_refresh_error: true });
  oauth.refreshFailure = undefined;
});
