import { addConnection, addIntegration, call, expectApiError, oauth2, startTestApi, writeRecords, type TestApi } from '../helpers/api';

let api: TestApi;

beforeAll(async () => {
  api = await startTestApi();
  for (const [key, provider] of [['github', 'github'], ['crm', 'hubspot'], ['chat', 'slack']] as const) await addIntegration(api.dev, key, provider);
});
afterAll(() => api.close());

const ids = (list: { connections: Array<{ provider_config_key: string; connection_id: string }> }) =>
  list.connections.map((c) => `${c.provider_config_key}/${c.connection_id}`);

describe('POST /connections', () => {
  test('creates a connection (201) and returns it in full, without the refresh token', async () => {
    const res = await call(api, 'POST', '/connections', {
      json: {
        provider_config_key: 'github',
        connection_id: 'import-1',
        credentials: oauth2('v1'),
        metadata: { plan: 'pro' },
        connection_config: { subdomain: 'acme' },
        end_user: { id: 'u1', email: 'u1@example.com' },
        tags: { Region: 'eu' },
      },
    });
    expect(res.status).toBe(201);
    expect(res.body).toEqual({
      id: expect.any(Number),
      connection_id: 'import-1',
      provider_config_key: 'github',
      provider: 'github',
      connection_config: { subdomain: 'acme' },
      webhook_url_override: null,
      created_at: expect.any(String),
      updated_at: expect.any(String),
      last_fetched_at: null,
      metadata: { plan: 'pro' },
      errors: [],
      end_user: { id: 'u1', email: 'u1@example.com' },
      tags: { region: 'eu' },
      credentials: { type: 'OAUTH2', access_token: 'access-v1', expires_at: '2099-01-01T00:00:00.000Z', raw: expect.any(Object) },
    });
  });

  test('re-importing the same id answers 200 and replaces the credentials, keeping what was not sent', async () => {
    const first = await addConnection(api.dev, 'github', 'reimport', { metadata: { keep: true }, tags: { team: 'a' } });
    const res = await call(api, 'POST', '/connections', {
      json: { provider_config_key: 'github', connection_id: 'reimport', credentials: { type: 'API_KEY', apiKey: 'key-v2' } },
    });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ id: first.id, created_at: first.created_at, metadata: { keep: true }, tags: { team: 'a' } });
    const fetched = await api.dev.getConnection('github', 'reimport', false, true);
    expect(fetched.credentials).toEqual({ type: 'API_KEY', apiKey: 'key-v2' });
  });

  test('generates a connection id when none is given', async () => {
    const created = await api.dev.importConnection({ provider_config_key: 'github', credentials: { type: 'BASIC', username: 'u', password: 'p' } });
    expect(created.connection_id).toMatch(/^[0-9a-f-]{36}$/);
    await expect(api.dev.getConnection('github', created.connection_id)).resolves.toMatchObject({ id: created.id });
  });

  test('an unknown integration is a 404 and creates nothing', async () => {
    await expectApiError(addConnection(api.dev, 'nope', 'x'), 404, 'unknown_provider_config');
    expect((await api.dev.listConnections('x')).connections).toEqual([]);
  });
});

describe('GET /connections filters', () => {
  beforeAll(async () => {
    const acme = (id: string, name: string) => ({ id, email: `${id}@acme.com`, display_name: name, organization: { id: 'org-acme' } });
    await addConnection(api.dev, 'crm', 'alice', { end_user: acme('u-alice', 'Alice Liddell'), tags: { plan: 'pro' } });
    await addConnection(api.dev, 'crm', 'bob', { end_user: { id: 'u-bob', email: 'bob@globex.com', organization: { id: 'org-globex' } }, tags: { plan: 'free' } });
    await addConnection(api.dev, 'chat', 'alice', { end_user: acme('u-alice', 'Alice Liddell'), tags: { plan: 'pro', region: 'eu' } });
    await addConnection(api.dev, 'chat', 'carol', { tags: { plan: 'pro', region: 'us' } });
  });

  test('each summary has the Nango list shape and no credentials', async () => {
    const { connections } = await api.dev.listConnections({ connectionId: 'bob' });
    expect(connections).toEqual([
      {
        id: expect.any(Number),
        connection_id: 'bob',
        provider_config_key: 'crm',
        provider: 'hubspot',
        created: expect.stringMatching(/^\d{4}-\d\d-\d\dT/),
        metadata: {},
        errors: [],
        end_user: { id: 'u-bob', email: 'bob@globex.com', organization: { id: 'org-globex' } },
        tags: { plan: 'free' },
      },
    ]);
  });

  test('connectionId matches exactly, across integrations', async () => {
    expect(ids(await api.dev.listConnections('alice'))).toEqual(['crm/alice', 'chat/alice']);
    expect(ids(await api.dev.listConnections('ali'))).toEqual([]);
  });

  test('search matches part of the connection id, end user id, email or name, ignoring case', async () => {
    expect(ids(await api.dev.listConnections(undefined, 'CAR'))).toEqual(['chat/carol']);
    expect(ids(await api.dev.listConnections(undefined, 'globex'))).toEqual(['crm/bob']);
    expect(ids(await api.dev.listConnections({ search: 'liddell' }))).toEqual(['crm/alice', 'chat/alice']);
    expect(ids(await api.dev.listConnections(undefined, '%'))).toEqual([]);
  });

  test('endUserId and endUserOrganizationId', async () => {
    expect(ids(await api.dev.listConnections({ userId: 'u-bob' }))).toEqual(['crm/bob']);
    expect(ids(await api.dev.listConnections(undefined, undefined, { endUserId: 'u-alice' }))).toEqual(['crm/alice', 'chat/alice']);
    expect(ids(await api.dev.listConnections(undefined, undefined, { endUserOrganizationId: 'org-acme' }))).toEqual(['crm/alice', 'chat/alice']);
    expect(ids(await api.dev.listConnections({ endUserOrganizationId: 'org-globex' }))).toEqual(['crm/bob']);
  });

  test('integrationId takes one key or a comma list', async () => {
    expect(ids(await api.dev.listConnections({ integrationId: 'chat' }))).toEqual(['chat/alice', 'chat/carol']);
    expect(ids(await api.dev.listConnections({ integrationId: ['chat', 'crm'] }))).toHaveLength(4);
    const raw = await call(api, 'GET', '/connections?integrationId=crm,%20chat');
    expect(ids(raw.body)).toEqual(['crm/alice', 'crm/bob', 'chat/alice', 'chat/carol']);
  });

  test('tags[key]=value filters by every given tag; keys ignore case', async () => {
    expect(ids(await api.dev.listConnections({ tags: { plan: 'pro' } }))).toEqual(['crm/alice', 'chat/alice', 'chat/carol']);
    expect(ids(await api.dev.listConnections({ tags: { plan: 'pro', region: 'us' } }))).toEqual(['chat/carol']);
    const raw = await call(api, 'GET', '/connections?tags[PLAN]=free');
    expect(ids(raw.body)).toEqual(['crm/bob']);
  });

  test('limit and zero-based page walk the list in creation order', async () => {
    const query = { integrationId: ['crm', 'chat'], limit: 3 };
    expect(ids(await api.dev.listConnections({ ...query, page: 0 }))).toEqual(['crm/alice', 'crm/bob', 'chat/alice']);
    expect(ids(await api.dev.listConnections({ ...query, page: 1 }))).toEqual(['chat/carol']);
    expect(ids(await api.dev.listConnections({ ...query, page: 2 }))).toEqual([]);
  });
});

describe('GET /connections/:connectionId', () => {
  beforeAll(() => addConnection(api.dev, 'github', 'get-1', { credentials: { ...oauth2('get-1'), raw: { access_token: 'access-get-1', refresh_token: 'refresh-get-1' } } }));

  test('hides the refresh token, also inside raw, unless refresh_token=true', async () => {
    const plain = await api.dev.getConnection('github', 'get-1');
    expect(plain.credentials).toEqual({
      type: 'OAUTH2',
      access_token: 'access-get-1',
      expires_at: '2099-01-01T00:00:00.000Z',
      raw: { access_token: 'access-get-1' },
    });
    expect(JSON.stringify(plain)).not.toContain('refresh-get-1');
    const withToken = await api.dev.getConnection('github', 'get-1', false, true);
    expect(withToken.credentials).toMatchObject({ refresh_token: 'refresh-get-1', raw: { refresh_token: 'refresh-get-1' } });
  });

  test('sets last_fetched_at, in the response and in the database', async () => {
    const before = Date.now();
    const connection = await api.dev.getConnection('github', 'get-1');
    expect(Date.parse(connection.last_fetched_at!)).toBeGreaterThanOrEqual(before - 1000);
    const { rows } = await api.store.db.query<{ last_fetched_at: Date }>('SELECT last_fetched_at FROM connections WHERE id = $1', [connection.id]);
    expect(new Date(rows[0]!.last_fetched_at).getTime()).toBeGreaterThanOrEqual(before - 1000);
  });

  test('unknown connection and unknown integration are distinct 404s', async () => {
    await expectApiError(api.dev.getConnection('github', 'missing'), 404, 'unknown_connection');
    await expectApiError(api.dev.getConnection('missing', 'get-1'), 404, 'unknown_provider_config');
  });
});

describe('PATCH /connections/:connectionId', () => {
  test('changes end user, tags and webhook override, and nothing else', async () => {
    await addConnection(api.dev, 'github', 'patch-1', { metadata: { a: 1 }, tags: { old: 'x' } });
    const patched = await api.dev.patchConnection(
      { connectionId: 'patch-1', provider_config_key: 'github' },
      { end_user: { id: 'u-patch', organization: { id: 'org-patch' } }, tags: { Fresh: 'y' }, webhook_url_override: 'https://hooks.example.com/x' },
    );
    expect(patched).toEqual({ success: true });
    const connection = await api.dev.getConnection('github', 'patch-1');
    expect(connection).toMatchObject({
      end_user: { id: 'u-patch', organization: { id: 'org-patch' } },
      tags: { fresh: 'y' },
      webhook_url_override: 'https://hooks.example.com/x',
      metadata: { a: 1 },
      credentials: { access_token: 'access-patch-1' },
    });
    expect(ids(await api.dev.listConnections({ endUserOrganizationId: 'org-patch' }))).toEqual(['github/patch-1']);

    await api.dev.patchConnection({ connectionId: 'patch-1', provider_config_key: 'github' }, { end_user: null, webhook_url_override: null });
    expect(await api.dev.getConnection('github', 'patch-1')).toMatchObject({ end_user: null, webhook_url_override: null, tags: { fresh: 'y' } });
    expect(ids(await api.dev.listConnections({ endUserOrganizationId: 'org-patch' }))).toEqual([]);
  });

  test('an unknown connection is a 404', async () => {
    await expectApiError(api.dev.patchConnection({ connectionId: 'missing', provider_config_key: 'github' }, { tags: {} }), 404, 'unknown_connection');
  });
});

describe('DELETE /connections/:connectionId', () => {
  test('deletes the connection and its records, and only them', async () => {
    await addConnection(api.dev, 'github', 'doomed');
    await addConnection(api.dev, 'github', 'survivor');
    await writeRecords(api, 'github', 'doomed', 'Issue', [{ id: 1 }, { id: 2 }]);
    await writeRecords(api, 'github', 'survivor', 'Issue', [{ id: 1 }]);
    const doomed = await api.store.connections.get(api.env.dev, 'github', 'doomed');

    await expect(api.dev.deleteConnection('github', 'doomed')).resolves.toEqual({ success: true });

    await expectApiError(api.dev.getConnection('github', 'doomed'), 404, 'unknown_connection');
    const { rows } = await api.store.db.query<{ n: number }>('SELECT count(*)::int AS n FROM records WHERE connection_id = $1', [doomed.id]);
    expect(rows[0]!.n).toBe(0);
    const survivor = await api.dev.listRecords({ providerConfigKey: 'github', connectionId: 'survivor', model: 'Issue' });
    expect(survivor.records.map((r) => r.id)).toEqual([1]);

    // A new connection with the same id starts empty.
    await addConnection(api.dev, 'github', 'doomed');
    expect((await api.dev.listRecords({ providerConfigKey: 'github', connectionId: 'doomed', model: 'Issue' })).records).toEqual([]);
  });

  test('deleting twice is a 404 the second time', async () => {
    await addConnection(api.dev, 'github', 'once');
    await api.dev.deleteConnection('github', 'once');
    await expectApiError(api.dev.deleteConnection('github', 'once'), 404, 'unknown_connection');
  });
});
