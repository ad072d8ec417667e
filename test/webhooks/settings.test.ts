import { call, startTestApi, type TestApi } from '../helpers/api';

let api: TestApi;

beforeAll(async () => {
  api = await startTestApi();
});
afterAll(() => api?.close());

test('an environment starts with no URL, Nango-like toggles, a signing key distinct from its secret key, and a public uuid', async () => {
  const { data } = await api.dev.getWebhookSettings();
  expect(data).toEqual({
    primary_url: null,
    secondary_url: null,
    on_sync_completion_always: false,
    on_auth_creation: true,
    on_auth_refresh_error: true,
    on_sync_error: true,
    on_async_action_completion: true,
    signing_key: expect.stringMatching(/^whsk_[0-9a-f]{64}$/),
    environment_uuid: expect.stringMatching(/^[0-9a-f-]{36}$/),
  });
  expect(data.signing_key).not.toBe(api.keys.dev);
  // Stable across reads; each environment has its own.
  expect((await api.dev.getWebhookSettings()).data.signing_key).toBe(data.signing_key);
  const prod = (await api.prod.getWebhookSettings()).data;
  expect(prod.signing_key).not.toBe(data.signing_key);
  expect(prod.environment_uuid).not.toBe(data.environment_uuid);
});

test('PATCH changes only what it is given; URLs can be cleared with null', async () => {
  const first = await api.dev.updateWebhookSettings({ primary_url: 'https://app.example.com/hooks', on_sync_completion_always: true });
  expect(first.data).toMatchObject({ primary_url: 'https://app.example.com/hooks', secondary_url: null, on_sync_completion_always: true, on_auth_creation: true });
  const second = await api.dev.updateWebhookSettings({ secondary_url: 'http://backup.example.com/h', on_auth_creation: false, on_sync_error: false });
  expect(second.data).toMatchObject({
    primary_url: 'https://app.example.com/hooks',
    secondary_url: 'http://backup.example.com/h',
    on_sync_completion_always: true,
    on_auth_creation: false,
    on_sync_error: false,
    on_auth_refresh_error: true,
  });
  const cleared = await api.dev.updateWebhookSettings({ primary_url: null });
  expect(cleared.data.primary_url).toBeNull();
  // The other environment is untouched.
  expect((await api.prod.getWebhookSettings()).data).toMatchObject({ primary_url: null, on_auth_creation: true });
});

test.each([
  ['a URL that is not http(s)', { primary_url: 'ftp://x.example.com' }, 'primary_url'],
  ['a toggle that is not a boolean', { on_sync_error: 'yes' }, 'on_sync_error'],
  ['an unknown field', { on_everything: true }, ''],
])('PATCH refuses %s with 400', async (_what, json, path) => {
  const res = await call(api, 'PATCH', '/environment/webhook', { json });
  expect(res.status).toBe(400);
  expect(res.body.error.code).toBe('invalid_body');
  if (path) expect(res.body.error.message).toContain(path);
});

test('the settings need the secret key', async () => {
  expect((await call(api, 'GET', '/environment/webhook', { key: null })).status).toBe(401);
  expect((await call(api, 'POST', '/environment/webhook-signing-key/rotate', { key: 'sk_dev_nope' })).status).toBe(401);
});

test('rotating the signing key replaces it; the key is sealed at rest', async () => {
  const before = (await api.dev.getWebhookSettings()).data.signing_key;
  const { data } = await api.dev.rotateWebhookSigningKey();
  expect(data.signing_key).toMatch(/^whsk_[0-9a-f]{64}$/);
  expect(data.signing_key).not.toBe(before);
  expect((await api.dev.getWebhookSettings()).data.signing_key).toBe(data.signing_key);
  const { rows } = await api.store.db.query<Record<string, unknown>>('SELECT * FROM webhook_settings');
  expect(JSON.stringify(rows)).not.toContain(data.signing_key);
  expect(JSON.stringify(rows)).not.toContain(data.signing_key.slice(5));
});

test('the integration webhook URL names the environment by its uuid', async () => {
  await api.dev.createIntegration({ unique_key: 'gh', provider: 'github' });
  const { data } = await api.dev.getIntegration({ uniqueKey: 'gh' }, { include: ['webhook'] });
  const uuid = (await api.dev.getWebhookSettings()).data.environment_uuid;
  expect(data.webhook_url).toBe(`${api.url}/webhook/${uuid}/gh`);
});

test('the delivery log starts empty and pages', async () => {
  expect(await api.dev.listWebhookDeliveries()).toEqual({ data: [], next_cursor: null });
  const bad = await call(api, 'GET', '/environment/webhook/deliveries?cursor=abc');
  expect(bad.status).toBe(400);
});
