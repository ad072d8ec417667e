import { Syncline } from '../../src/sdk';
import {
  addConnection,
  addIntegration,
  call,
  expectApiError,
  expectErrorResponse,
  expectUnchanged,
  startTestApi,
  writeRecords,
  type TestApi,
} from '../helpers/api';

let api: TestApi;

beforeAll(async () => {
  api = await startTestApi();
  // dev: two integrations, one of whose keys prod also uses for its own integration.
  await addIntegration(api.dev, 'github');
  await addIntegration(api.dev, 'dev-only', 'slack');
  await addConnection(api.dev, 'github', 'c1', { metadata: { owner: 'dev' }, tags: { env: 'dev' } });
  await addConnection(api.dev, 'dev-only', 'c2');
  await writeRecords(api, 'github', 'c1', 'Issue', [{ id: 'i1', title: 'dev issue' }]);
  await api.dev.setEnvironmentVariables([{ name: 'SHARED_NAME', value: 'dev-value' }]);
  await addIntegration(api.prod, 'github');
});
afterAll(() => api.close());

/** Every route, with a body where it takes one: auth comes before anything else. */
const routes: Array<[string, string, unknown?]> = [
  ['GET', '/connections'],
  ['POST', '/connections', { provider_config_key: 'github', connection_id: 'x', credentials: { type: 'API_KEY', apiKey: 'k' } }],
  ['GET', '/connections/c1?provider_config_key=github'],
  ['PATCH', '/connections/c1?provider_config_key=github', { tags: {} }],
  ['DELETE', '/connections/c1?provider_config_key=github'],
  ['POST', '/connections/metadata', { provider_config_key: 'github', connection_id: 'c1', metadata: {} }],
  ['PATCH', '/connections/metadata', { provider_config_key: 'github', connection_id: 'c1', metadata: {} }],
  ['GET', '/integrations'],
  ['POST', '/integrations', { unique_key: 'new', provider: 'github' }],
  ['GET', '/integrations/github'],
  ['PATCH', '/integrations/github', { display_name: 'x' }],
  ['DELETE', '/integrations/github'],
  ['GET', '/environment-variables'],
  ['POST', '/environment-variables', [{ name: 'X', value: 'y' }]],
  ['DELETE', '/environment-variables/SHARED_NAME'],
  ['GET', '/records?model=Issue'],
  ['PATCH', '/records/prune', { model: 'Issue', until_cursor: 'x' }],
  ['POST', '/sync/deploy', { nangoYamlBody: 'integrations: {}', flowConfigs: [] }],
  ['GET', '/scripts/config'],
  ['GET', '/no-such-route'],
];

describe('authentication', () => {
  test('GET /health needs no key', async () => {
    const res = await call(api, 'GET', '/health', { key: null });
    expect(res).toMatchObject({ status: 200, body: { result: 'ok' } });
  });

  test.each([
    ['no Authorization header', {}, 'missing_api_key'],
    ['a Basic scheme', { authorization: 'Basic dXNlcjpwYXNz' }, 'missing_api_key'],
    ['Bearer without a key', { authorization: 'Bearer ' }, 'missing_api_key'],
    ['two tokens', { authorization: 'Bearer a b' }, 'missing_api_key'],
    ['the key without a scheme', { authorization: 'KEY' }, 'missing_api_key'],
    ['an unknown key', { authorization: 'Bearer sk_dev_0000000000000000000000000000000000000000000000000000000000000000' }, 'unknown_api_key'],
  ])('%s is a 401 on every route, and changes nothing', async (_what, headers, code) => {
    await expectUnchanged(api.store.db, async () => {
      for (const [method, path, json] of routes) {
        const res = await call(api, method, path, { key: null, json, headers });
        expectErrorResponse(res, 401, code);
      }
    });
  });

  test('the scheme is case-insensitive', async () => {
    const res = await call(api, 'GET', '/integrations', { key: null, headers: { authorization: `bearer ${api.keys.dev}` } });
    expect(res.status).toBe(200);
  });

  test('an unknown key also fails before the body is read: malformed JSON still gets 401', async () => {
    const res = await call(api, 'POST', '/integrations', { key: 'wrong', text: '{"unique_key":' });
    expectErrorResponse(res, 401, 'unknown_api_key');
  });

  test('the SDK surfaces a bad key as a SynclineApiError 401', async () => {
    const wrong = new Syncline({ secretKey: 'sk_dev_wrong', host: api.url });
    const err = await expectApiError(wrong.listIntegrations(), 401, 'unknown_api_key');
    expect(err.request).toBe('GET /integrations');
  });

  test('a valid key on an unknown route is a 404 unknown_route', async () => {
    expectErrorResponse(await call(api, 'GET', '/no-such-route'), 404, 'unknown_route');
  });
});

describe("prod's key and dev's data", () => {
  test("listing shows only prod's own integrations, connections and variables", async () => {
    expect((await api.prod.listIntegrations()).configs.map((c) => c.unique_key)).toEqual(['github']);
    expect((await api.prod.listConnections()).connections).toEqual([]);
    expect((await api.prod.listConnections({ connectionId: 'c1' })).connections).toEqual([]);
    expect((await api.prod.listConnections({ tags: { env: 'dev' } })).connections).toEqual([]);
    expect(await api.prod.getEnvironmentVariables()).toEqual([]);
  });

  test("reading dev's objects is a 404", async () => {
    await expectApiError(api.prod.getIntegration({ uniqueKey: 'dev-only' }, { include: ['credentials'] }), 404, 'unknown_provider_config');
    await expectApiError(api.prod.getConnection('dev-only', 'c2'), 404, 'unknown_provider_config');
    await expectApiError(api.prod.getConnection('github', 'c1', false, true), 404, 'unknown_connection');
    await expectApiError(api.prod.getMetadata('github', 'c1'), 404, 'unknown_connection');
    await expectApiError(api.prod.listRecords({ providerConfigKey: 'github', connectionId: 'c1', model: 'Issue' }), 404, 'unknown_connection');
    // prod's github integration is its own: no dev secrets in it.
    const { data } = await api.prod.getIntegration({ uniqueKey: 'github' }, { include: ['credentials'] });
    expect(data.credentials).toMatchObject({ client_secret: 'secret-github' });
  });

  test("changing or deleting dev's objects is a 404 and changes nothing", async () => {
    const cursor = (await api.dev.listRecords({ providerConfigKey: 'github', connectionId: 'c1', model: 'Issue' })).records[0]!._nango_metadata.cursor;
    await expectUnchanged(api.store.db, async () => {
      await expectApiError(api.prod.updateIntegration({ uniqueKey: 'dev-only' }, { display_name: 'hijacked' }), 404, 'unknown_provider_config');
      await expectApiError(api.prod.deleteIntegration('dev-only'), 404, 'unknown_provider_config');
      await expectApiError(api.prod.patchConnection({ connectionId: 'c1', provider_config_key: 'github' }, { tags: { env: 'prod' } }), 404, 'unknown_connection');
      await expectApiError(api.prod.deleteConnection('github', 'c1'), 404, 'unknown_connection');
      await expectApiError(api.prod.deleteConnection('dev-only', 'c2'), 404, 'unknown_provider_config');
      await expectApiError(api.prod.setMetadata('github', 'c1', { owner: 'prod' }), 404, 'unknown_connection');
      await expectApiError(api.prod.updateMetadata('github', ['c1'], { owner: 'prod' }), 404, 'unknown_connection');
      await expectApiError(api.prod.pruneRecords({ providerConfigKey: 'github', connectionId: 'c1', model: 'Issue', untilCursor: cursor }), 404, 'unknown_connection');
      await expectApiError(api.prod.deleteEnvironmentVariable('SHARED_NAME'), 404, 'unknown_environment_variable');
      const stolen = { provider_config_key: 'dev-only', connection_id: 'c2', credentials: { type: 'API_KEY', apiKey: 'stolen' } };
      await expectApiError(api.prod.importConnection(stolen), 404, 'unknown_provider_config');
    });
  });

  test("prod's writes under the same names create prod's own objects and leave dev's alone", async () => {
    await api.prod.importConnection({ provider_config_key: 'github', connection_id: 'c1', credentials: { type: 'API_KEY', apiKey: 'prod-key' }, metadata: { owner: 'prod' } });
    await api.prod.setEnvironmentVariables([{ name: 'SHARED_NAME', value: 'prod-value' }]);
    await api.prod.createIntegration({ unique_key: 'dev-only', provider: 'github' });

    expect(await api.dev.getConnection('github', 'c1', false, true)).toMatchObject({
      metadata: { owner: 'dev' },
      tags: { env: 'dev' },
      credentials: { type: 'OAUTH2', access_token: 'access-c1' },
    });
    expect(await api.dev.getEnvironmentVariables()).toEqual([{ name: 'SHARED_NAME', value: 'dev-value' }]);
    expect((await api.dev.getIntegration({ uniqueKey: 'dev-only' })).data.provider).toBe('slack');
    expect((await api.dev.listRecords({ providerConfigKey: 'github', connectionId: 'c1', model: 'Issue' })).records).toHaveLength(1);
    expect((await api.prod.listRecords({ providerConfigKey: 'github', connectionId: 'c1', model: 'Issue' })).records).toEqual([]);
    expect(await api.prod.getMetadata('github', 'c1')).toEqual({ owner: 'prod' });
  });
});
