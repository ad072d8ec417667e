import { Nango } from '@nangohq/node';
import { onAuthEvent, useUserProviders, type AuthEvent } from '../../src/providers';
import type { FakeOAuthProvider } from '../fixtures/oauth-provider';
import { call, expectErrorResponse, expectUnchanged, snapshot, startTestApi, type TestApi } from '../helpers/api';
import { addFakeIntegration, connectSession, startFakeProvider, walkOAuth } from '../helpers/oauth';

let api: TestApi;
let fake: FakeOAuthProvider;

beforeAll(async () => {
  [api, fake] = await Promise.all([startTestApi(), startFakeProvider()]);
  fake.autoApprove = true;
  for (const key of ['fake-oauth2', 'fake-oauth2-header', 'fake-cc', 'fake-oauth1', 'fake-key', 'fake-basic']) await addFakeIntegration(api, key, fake);
});
afterAll(async () => {
  useUserProviders({});
  await Promise.all([api.close(), fake.close()]);
});

const connectUrl = (key: string, token: string, extra = '') => `${api.url}/oauth/connect/${key}?connect_session_token=${encodeURIComponent(token)}${extra}`;
const resultOf = (html: string) => JSON.parse(/var m=(\{.*?\});/.exec(html)![1]!);

describe('connect sessions', () => {
  test('the SDK creates sessions and reconnect sessions as @nangohq/node does', async () => {
    const nango = new Nango({ secretKey: api.keys.dev, host: api.url });
    const theirs = await nango.createConnectSession({ end_user: { id: 'u-sdk' }, allowed_integrations: ['fake-key'] });
    const ours = await api.dev.createConnectSession({ end_user: { id: 'u-sdk' }, allowed_integrations: ['fake-key'] });
    for (const session of [theirs, ours]) expect(session.data).toEqual({ token: expect.stringMatching(/^sl_cs_/), connect_link: expect.any(String), expires_at: expect.any(String) });
    await call(api, 'POST', `/connect/auth/fake-key?connect_session_token=${ours.data.token}&connection_id=sdk-1`, { key: null, json: { apiKey: 'key-123' } });
    const reconnect = await api.dev.createReconnectSession({ connection_id: 'sdk-1', integration_id: 'fake-key' });
    const again = await call(api, 'POST', `/connect/auth/fake-key?connect_session_token=${reconnect.data.token}`, { key: null, json: { apiKey: 'key-456' } });
    expect(again.body).toEqual({ providerConfigKey: 'fake-key', connectionId: 'sdk-1' });
    expect((await api.dev.getConnection('fake-key', 'sdk-1')).credentials).toEqual({ type: 'API_KEY', apiKey: 'key-456' });
  });

  test('give a token, a connect link and an expiry 30 minutes out', async () => {
    const before = Date.now();
    const session = await connectSession(api, { end_user: { id: 'u1', email: 'u1@example.com' }, allowed_integrations: ['fake-key'] });
    expect(session.token).toMatch(/^sl_cs_/);
    expect(session.connect_link).toBe(`${api.url}/connect?session_token=${encodeURIComponent(session.token)}`);
    const ttl = Date.parse(session.expires_at) - before;
    expect(ttl).toBeGreaterThan(29 * 60_000);
    expect(ttl).toBeLessThanOrEqual(30 * 60_000 + 5000);
    expect(JSON.stringify(await snapshot(api.store.db))).not.toContain(session.token);
  });

  test('need the secret key and a known allowed integration; refused requests change nothing', async () => {
    await expectUnchanged(api.store.db, async () => {
      expectErrorResponse(await call(api, 'POST', '/connect/sessions', { key: null, json: { end_user: { id: 'u' } } }), 401, 'missing_api_key');
      expectErrorResponse(await call(api, 'POST', '/connect/sessions', { json: { end_user: { id: 'u' }, allowed_integrations: ['nope'] } }), 404, 'unknown_provider_config');
      expectErrorResponse(await call(api, 'POST', '/connect/sessions', { json: {} }), 400, 'invalid_body');
      expectErrorResponse(await call(api, 'POST', '/connect/sessions/reconnect', { json: { connection_id: 'nope', integration_id: 'fake-key' } }), 404, 'unknown_connection');
      expectErrorResponse(await call(api, 'POST', '/connect/auth/fake-key?connect_session_token=nope', { key: null, json: { apiKey: 'k' } }), 401, 'invalid_connect_session');
    });
  });

  test('the connect page lists only the allowed integrations, with the fields each needs', async () => {
    const { token } = await connectSession(api, { end_user: { id: 'u1' }, allowed_integrations: ['fake-oauth2', 'fake-key', 'fake-oauth2-header'] });
    const res = await fetch(`${api.url}/connect?session_token=${token}`);
    const html = await res.text();
    expect(res.status).toBe(200);
    expect([...html.matchAll(/data-integration="([^"]+)"/g)].map((m) => m[1])).toEqual(['fake-oauth2', 'fake-oauth2-header', 'fake-key']);
    expect(html).toContain('name="apiKey"');
    expect(html).toContain('name="connection_config[region]"');
    const expired = await fetch(`${api.url}/connect?session_token=bogus`);
    expect(expired.status).toBe(401);
    expect(await expired.text()).toContain('invalid_connect_session');
  });
});

describe('OAuth2 authorization code', () => {
  test('redirects with state and PKCE, exchanges the code, stores encrypted credentials and config', async () => {
    const { token } = await connectSession(api, { end_user: { id: 'u-oauth' }, tags: { Plan: 'pro' } });
    fake.callbackExtras = { realmId: 'realm-42' };
    const flow = await walkOAuth(connectUrl('fake-oauth2', token, '&connection_id=alice'));
    fake.callbackExtras = {};
    const authorize = new URL(flow.visited[1]!);
    expect(authorize.origin + authorize.pathname).toBe(`${fake.url}/authorize`);
    expect(Object.fromEntries(authorize.searchParams)).toMatchObject({
      response_type: 'code',
      client_id: fake.clientId,
      redirect_uri: `${api.url}/oauth/callback`,
      scope: 'read write',
      code_challenge_method: 'S256',
      state: expect.stringMatching(/^[\w-]{32}$/),
      code_challenge: expect.stringMatching(/^[\w-]{43}$/),
    });
    expect(flow.status).toBe(200);
    expect(resultOf(flow.html)).toEqual({ type: 'syncline:auth', ok: true, providerConfigKey: 'fake-oauth2', connectionId: 'alice' });

    const connection = await api.dev.getConnection('fake-oauth2', 'alice', false, true);
    expect(connection.credentials).toMatchObject({ type: 'OAUTH2', access_token: expect.stringMatching(/^at-/), refresh_token: expect.stringMatching(/^rt-/), raw: { token_type: 'bearer' } });
    expect(Date.parse(connection.credentials.expires_at as string)).toBeGreaterThan(Date.now() + 3500_000);
    expect(connection.connection_config).toEqual({ realmId: 'realm-42', instance_url: `${fake.url}/instance` });
    expect(connection).toMatchObject({ end_user: { id: 'u-oauth' }, tags: { plan: 'pro' } });
    expect(JSON.stringify(await snapshot(api.store.db))).not.toContain(connection.credentials.access_token as string);

    // The state was good for one callback only.
    const replay = await fetch(flow.visited.at(-1)!);
    expect(replay.status).toBe(400);
    expect(resultOf(await replay.text()).error.code).toBe('invalid_state');
  });

  test('Basic client auth, JSON token body, no PKCE, and connection config from the end user', async () => {
    const { token } = await connectSession(api);
    const missing = await walkOAuth(connectUrl('fake-oauth2-header', token));
    expect(missing.status).toBe(400);
    expect(resultOf(missing.html).error.code).toBe('missing_connection_config');
    const flow = await walkOAuth(connectUrl('fake-oauth2-header', token, '&connection_config[region]=eu'));
    expect(new URL(flow.visited[1]!).searchParams.has('code_challenge')).toBe(false);
    const { connectionId } = resultOf(flow.html);
    expect(connectionId).toMatch(/^[0-9a-f-]{36}$/);
    const connection = await api.dev.getConnection('fake-oauth2-header', connectionId);
    expect(connection.connection_config).toEqual({ region: 'eu' });
  });

  test('re-authorising an existing connection overrides its credentials; others cannot take it over', async () => {
    const events: AuthEvent[] = [];
    const stop = onAuthEvent((e) => events.push(e));
    const { token } = await connectSession(api, { end_user: { id: 'u-re' } });
    await walkOAuth(connectUrl('fake-oauth2', token, '&connection_id=re-1'));
    const first = await api.dev.getConnection('fake-oauth2', 're-1');
    const again = await walkOAuth(connectUrl('fake-oauth2', token, '&connection_id=re-1'));
    stop();
    expect(events.map((e) => [e.operation, e.success, e.connectionId, e.authMode, e.endUserId])).toEqual([
      ['creation', true, 're-1', 'OAUTH2', 'u-re'],
      ['override', true, 're-1', 'OAUTH2', 'u-re'],
    ]);
    // The same events wait in the outbox for the `auth` webhooks (nothing orchestrates here to drain it).
    const outbox = await api.store.db.query(
      `SELECT operation, success, connection_id, auth_mode, end_user_id, provider_config_key FROM auth_events WHERE connection_id = 're-1' ORDER BY id`,
    );
    expect(outbox.rows).toEqual([
      { operation: 'creation', success: true, connection_id: 're-1', auth_mode: 'OAUTH2', end_user_id: 'u-re', provider_config_key: 'fake-oauth2' },
      { operation: 'override', success: true, connection_id: 're-1', auth_mode: 'OAUTH2', end_user_id: 'u-re', provider_config_key: 'fake-oauth2' },
    ]);
    expect(resultOf(again.html).ok).toBe(true);
    const second = await api.dev.getConnection('fake-oauth2', 're-1');
    expect(second.id).toBe(first.id);
    expect(second.credentials.access_token).not.toBe(first.credentials.access_token);

    const other = await connectSession(api, { end_user: { id: 'someone-else' } });
    const denied = await walkOAuth(connectUrl('fake-oauth2', other.token, '&connection_id=re-1'));
    expect(denied.status).toBe(403);

    const reconnect = await call(api, 'POST', '/connect/sessions/reconnect', { json: { connection_id: 're-1', integration_id: 'fake-oauth2' } });
    expect(reconnect.status).toBe(201);
    const third = await walkOAuth(connectUrl('fake-oauth2', reconnect.body.data.token));
    expect(resultOf(third.html)).toMatchObject({ ok: true, connectionId: 're-1' });
    expect((await api.dev.getConnection('fake-oauth2', 're-1')).end_user).toMatchObject({ id: 'u-re' });
  });

  test('a session limited to other integrations, a denied consent and a provider error are reported', async () => {
    const limited = await connectSession(api, { end_user: { id: 'u1' }, allowed_integrations: ['fake-key'] });
    const forbidden = await walkOAuth(connectUrl('fake-oauth2', limited.token));
    expect([forbidden.status, resultOf(forbidden.html).error.code]).toEqual([403, 'integration_not_allowed']);

    const { token } = await connectSession(api);
    const started = await fetch(connectUrl('fake-oauth2', token), { redirect: 'manual' });
    const state = new URL(started.headers.get('location')!).searchParams.get('state');
    const denied = await fetch(`${api.url}/oauth/callback?error=access_denied&state=${state}`);
    expect([denied.status, resultOf(await denied.text()).error.code]).toEqual([403, 'authorization_denied']);

    const started2 = await fetch(connectUrl('fake-oauth2', token), { redirect: 'manual' });
    const state2 = new URL(started2.headers.get('location')!).searchParams.get('state');
    const bad = await fetch(`${api.url}/oauth/callback?code=wrong&state=${state2}`);
    expect(bad.status).toBe(424);
    expect(resultOf(await bad.text()).error).toMatchObject({ code: 'token_request_failed', message: expect.stringContaining('invalid_grant') });
  });
});

describe('other auth modes', () => {
  const post = async (path: string, token: string, json: unknown) => {
    const res = await fetch(`${api.url}${path}?connect_session_token=${encodeURIComponent(token)}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(json),
    });
    return { status: res.status, body: (await res.json()) as any };
  };

  test('API key, Basic and client credentials from the end user', async () => {
    const { token } = await connectSession(api);
    const key = await post('/connect/auth/fake-key', token, { apiKey: 'key-123', connection_id: 'k1' });
    expect(key).toEqual({ status: 201, body: { providerConfigKey: 'fake-key', connectionId: 'k1' } });
    expect((await api.dev.getConnection('fake-key', 'k1')).credentials).toEqual({ type: 'API_KEY', apiKey: 'key-123' });

    const basic = await post('/api-auth/basic/fake-basic', token, { credentials: { username: 'user', password: 'pass' } });
    expect(basic.status).toBe(201);
    expect((await api.dev.getConnection('fake-basic', basic.body.connectionId)).credentials).toEqual({ type: 'BASIC', username: 'user', password: 'pass' });

    const before = fake.calls.client_credentials;
    const cc = await post('/oauth2/auth/fake-cc', token, { client_id: fake.clientId, client_secret: fake.clientSecret });
    expect(cc.status).toBe(201);
    expect(fake.calls.client_credentials).toBe(before + 1);
    const stored = await api.dev.getConnection('fake-cc', cc.body.connectionId);
    expect(stored.credentials).toMatchObject({ type: 'OAUTH2_CC', token: expect.stringMatching(/^at-/), client_id: fake.clientId, expires_at: expect.any(String) });

    const refused = await post('/oauth2/auth/fake-cc', token, { client_id: fake.clientId, client_secret: 'wrong' });
    expect([refused.status, refused.body.error.code]).toEqual([424, 'token_request_failed']);
    const wrongMode = await post('/api-auth/api-key/fake-basic', token, { apiKey: 'x' });
    expect([wrongMode.status, wrongMode.body.error.code]).toEqual([400, 'wrong_auth_mode']);
    const noToken = await post('/connect/auth/fake-key', 'nope', { apiKey: 'x' });
    expect([noToken.status, noToken.body.error.code]).toEqual([401, 'invalid_connect_session']);
  });

  test('the connect page form posts credentials and shows the result', async () => {
    const { token } = await connectSession(api);
    const res = await fetch(`${api.url}/connect/auth/fake-key`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ connect_session_token: token, apiKey: 'key-123' }),
    });
    expect(res.status).toBe(200);
    expect(resultOf(await res.text())).toMatchObject({ ok: true, providerConfigKey: 'fake-key' });
  });

  test('OAuth 1.0a: signed request token, consent, signed access token exchange', async () => {
    const { token } = await connectSession(api);
    const flow = await walkOAuth(connectUrl('fake-oauth1', token, '&connection_id=o1'));
    expect(resultOf(flow.html)).toMatchObject({ ok: true, connectionId: 'o1' });
    const connection = await api.dev.getConnection('fake-oauth1', 'o1');
    expect(connection.credentials).toMatchObject({ type: 'OAUTH1', oauth_token: expect.stringMatching(/^o1-/), oauth_token_secret: expect.stringMatching(/^o1s-/) });
  });
});

test('the browser SDK is served as a script', async () => {
  const res = await fetch(`${api.url}/sdk/frontend.js`);
  expect(res.headers.get('content-type')).toMatch(/javascript/);
  const source = await res.text();
  const module = { exports: {} as { Syncline?: new (o: object) => { auth: unknown } } };
  new Function('module', source)(module);
  expect(typeof new module.exports.Syncline!({ connectSessionToken: 't', host: 'http://x' }).auth).toBe('function');
});

test('the catalogue over the API, as @nangohq/node lists it', async () => {
  const nango = new Nango({ secretKey: api.keys.dev, host: api.url });
  const { data } = (await nango.listProviders({})) as unknown as { data: Array<{ name: string; auth_mode: string }> };
  expect(data.length).toBeGreaterThanOrEqual(30);
  expect(data.find((p) => p.name === 'fake-oauth2')).toMatchObject({ auth_mode: 'OAUTH2' });
  const github = (await nango.getProvider({ provider: 'github' })) as unknown as { data: { display_name: string; proxy: { base_url: string } } };
  expect(github.data).toMatchObject({ display_name: 'GitHub', proxy: { base_url: 'https://api.github.com' } });
  const searched = await api.dev.listProviders({ search: 'google' });
  expect(searched.data.map((p) => p.name)).toEqual(['google-calendar', 'google-drive', 'google-mail']);
  expect((await api.dev.getProvider({ provider: 'stripe' })).data).toMatchObject({ name: 'stripe', auth_mode: 'API_KEY' });
  expectErrorResponse(await call(api, 'GET', '/providers/nope'), 404, 'unknown_provider');
});
