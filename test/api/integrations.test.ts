import { savePublicUrl } from '../../src/store/settings';
import { addConnection, call, expectApiError, expectErrorResponse, expectUnchanged, startTestApi, writeRecords, type TestApi } from '../helpers/api';

let api: TestApi;

beforeAll(async () => {
  api = await startTestApi();
});
afterAll(() => api.close());

const credentials = { type: 'OAUTH2' as const, client_id: 'cid-1', client_secret: 'very-secret-1', scopes: 'repo,user', webhook_secret: 'whsec-1' };

describe('create and read', () => {
  beforeAll(async () => {
    const created = await call(api, 'POST', '/integrations', {
      json: { unique_key: 'github', provider: 'github', display_name: 'GitHub', credentials, forward_webhooks: false },
    });
    expect(created.status).toBe(201);
    expect(created.body).toEqual({
      data: {
        unique_key: 'github',
        provider: 'github',
        display_name: 'GitHub',
        logo: null,
        forward_webhooks: false,
        created_at: expect.any(String),
        updated_at: expect.any(String),
      },
    });
    await api.dev.createIntegration({ unique_key: 'slack-eu', provider: 'slack' });
  });

  test('GET /integrations lists them in creation order, never with credentials', async () => {
    const { configs } = await api.dev.listIntegrations();
    expect(configs.map((c) => [c.unique_key, c.provider, c.display_name])).toEqual([
      ['github', 'github', 'GitHub'],
      ['slack-eu', 'slack', 'slack'],
    ]);
    expect(JSON.stringify(configs)).not.toContain('very-secret-1');
    const raw = await call(api, 'GET', '/integrations');
    expect(raw.body).toEqual({ data: expect.any(Array) });
  });

  test('GET /integrations/:key shows secrets only with include=credentials', async () => {
    const plain = await api.dev.getIntegration({ uniqueKey: 'github' });
    expect(plain.data).not.toHaveProperty('credentials');
    expect(plain.data).not.toHaveProperty('webhook_url');
    expect(JSON.stringify(plain)).not.toContain('very-secret-1');

    const withSecrets = await api.dev.getIntegration({ uniqueKey: 'github' }, { include: ['credentials'] });
    expect(withSecrets.data.credentials).toEqual(credentials);
    expect(withSecrets.data).not.toHaveProperty('webhook_url');

    const none = await api.dev.getIntegration({ uniqueKey: 'slack-eu' }, { include: ['credentials'] });
    expect(none.data.credentials).toBeNull();
  });

  test('include=webhook adds the webhook URL; both can be asked for, as a list or repeated', async () => {
    const webhook = await api.dev.getIntegration({ uniqueKey: 'github' }, { include: ['webhook'] });
    expect(webhook.data.webhook_url).toMatch(new RegExp(`^${api.url}/webhook/[0-9a-f-]{36}/github$`));
    expect(webhook.data).not.toHaveProperty('credentials');

    const both = await api.dev.getIntegration({ uniqueKey: 'github' }, { include: ['webhook', 'credentials'] });
    expect(both.data).toMatchObject({ webhook_url: expect.any(String), credentials });
    const repeated = await call(api, 'GET', '/integrations/github?include=webhook&include=credentials');
    expect(repeated.body).toEqual(both);
  });

  test('with SYNCLINE_PUBLIC_URL set, the webhook URL is under it (what scripts get from nango.getWebhookURL), not the request address', async () => {
    await savePublicUrl(api.store.db, { url: 'https://sync.example.com', configured: true });
    try {
      const webhook = await api.dev.getIntegration({ uniqueKey: 'github' }, { include: ['webhook'] });
      expect(webhook.data.webhook_url).toMatch(/^https:\/\/sync\.example\.com\/webhook\/[0-9a-f-]{36}\/github$/);
      await savePublicUrl(api.store.db, { url: 'http://localhost:3003', configured: false });
      const unconfigured = await api.dev.getIntegration({ uniqueKey: 'github' }, { include: ['webhook'] });
      expect(unconfigured.data.webhook_url).toMatch(new RegExp(`^${api.url}/webhook/`));
    } finally {
      await api.store.db.query("DELETE FROM syncline_settings WHERE key = 'public_url'");
    }
  });

  test('an unknown include value is a 400', async () => {
    expectErrorResponse(await call(api, 'GET', '/integrations/github?include=secrets'), 400, 'invalid_query');
  });

  test('an unknown key is a 404 unknown_provider_config', async () => {
    await expectApiError(api.dev.getIntegration({ uniqueKey: 'gitlab' }), 404, 'unknown_provider_config');
  });

  test('a duplicate unique_key is a 409 and leaves the first one as it was', async () => {
    const duplicate = { unique_key: 'github', provider: 'gitlab', credentials: { type: 'OAUTH2' as const, client_secret: 'other' } };
    await expectUnchanged(api.store.db, () => expectApiError(api.dev.createIntegration(duplicate), 409, 'duplicate_integration'));
    const { data } = await api.dev.getIntegration({ uniqueKey: 'github' }, { include: ['credentials'] });
    expect(data).toMatchObject({ provider: 'github', credentials });
  });
});

describe('update', () => {
  test('PATCH changes only the fields given', async () => {
    const created = await api.dev.createIntegration({ unique_key: 'hubspot', provider: 'hubspot', display_name: 'HubSpot', credentials });
    const { data } = await api.dev.updateIntegration({ uniqueKey: 'hubspot' }, { display_name: 'HubSpot CRM' });
    expect(data).toMatchObject({ unique_key: 'hubspot', display_name: 'HubSpot CRM', forward_webhooks: true, created_at: created.data.created_at });
    expect(data).not.toHaveProperty('credentials');
    expect((await api.dev.getIntegration({ uniqueKey: 'hubspot' }, { include: ['credentials'] })).data.credentials).toEqual(credentials);

    const rotated = { type: 'OAUTH2' as const, client_id: 'cid-2', client_secret: 'very-secret-2' };
    await api.dev.updateIntegration({ uniqueKey: 'hubspot' }, { credentials: rotated, forward_webhooks: false });
    expect((await api.dev.getIntegration({ uniqueKey: 'hubspot' }, { include: ['credentials'] })).data).toMatchObject({
      display_name: 'HubSpot CRM',
      forward_webhooks: false,
      credentials: rotated,
    });

    await api.dev.updateIntegration({ uniqueKey: 'hubspot' }, { display_name: null, credentials: null });
    expect((await api.dev.getIntegration({ uniqueKey: 'hubspot' }, { include: ['credentials'] })).data).toMatchObject({
      display_name: 'hubspot',
      credentials: null,
    });
  });

  test('renaming keeps the connections, which then answer to the new key', async () => {
    await api.dev.createIntegration({ unique_key: 'old-name', provider: 'github' });
    await addConnection(api.dev, 'old-name', 'c1');
    await api.dev.updateIntegration({ uniqueKey: 'old-name' }, { unique_key: 'new-name' });
    await expectApiError(api.dev.getIntegration({ uniqueKey: 'old-name' }), 404, 'unknown_provider_config');
    await expect(api.dev.getConnection('new-name', 'c1')).resolves.toMatchObject({ provider_config_key: 'new-name' });
  });

  test('renaming onto an existing key is a 409; an unknown key is a 404', async () => {
    await api.dev.createIntegration({ unique_key: 'taken', provider: 'github' });
    await api.dev.createIntegration({ unique_key: 'mover', provider: 'github' });
    await expectUnchanged(api.store.db, async () => {
      await expectApiError(api.dev.updateIntegration({ uniqueKey: 'mover' }, { unique_key: 'taken' }), 409, 'duplicate_integration');
      await expectApiError(api.dev.updateIntegration({ uniqueKey: 'ghost' }, { display_name: 'x' }), 404, 'unknown_provider_config');
    });
  });
});

describe('delete', () => {
  test('DELETE removes the integration with its connections and their records', async () => {
    await api.dev.createIntegration({ unique_key: 'doomed', provider: 'github' });
    await addConnection(api.dev, 'doomed', 'c1');
    await writeRecords(api, 'doomed', 'c1', 'Issue', [{ id: 1 }]);
    const connection = await api.store.connections.get(api.env.dev, 'doomed', 'c1');

    await expect(api.dev.deleteIntegration('doomed')).resolves.toEqual({ success: true });

    await expectApiError(api.dev.getIntegration({ uniqueKey: 'doomed' }), 404, 'unknown_provider_config');
    expect((await api.dev.listConnections({ integrationId: 'doomed' })).connections).toEqual([]);
    const { rows } = await api.store.db.query<{ n: number }>('SELECT count(*)::int AS n FROM records WHERE connection_id = $1', [connection.id]);
    expect(rows[0]!.n).toBe(0);
    await expectApiError(api.dev.deleteIntegration('doomed'), 404, 'unknown_provider_config');
  });
});
