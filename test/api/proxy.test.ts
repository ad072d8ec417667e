import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Nango } from '@nangohq/node';
import { useUserProviders } from '../../src/providers';
import { SynclineApiError } from '../../src/sdk';
import type { FakeOAuthProvider } from '../fixtures/oauth-provider';
import { expectUnchanged, startTestApi, type TestApi } from '../helpers/api';
import { addFakeIntegration, connectSession, startFakeProvider, walkOAuth } from '../helpers/oauth';

let api: TestApi;
let fake: FakeOAuthProvider;
let oauth2Token: string;

beforeAll(async () => {
  [api, fake] = await Promise.all([startTestApi(), startFakeProvider()]);
  for (const key of ['fake-oauth2', 'fake-cc', 'fake-oauth1', 'fake-key', 'fake-basic']) await addFakeIntegration(api, key, fake);
  const tokens = fake.issue();
  oauth2Token = tokens.access_token;
  const in1h = new Date(Date.now() + 3600_000).toISOString();
  await api.dev.importConnection({ provider_config_key: 'fake-oauth2', connection_id: 'c', credentials: { type: 'OAUTH2', ...tokens, expires_at: in1h } });
  await api.dev.importConnection({ provider_config_key: 'fake-key', connection_id: 'c', credentials: { type: 'API_KEY', apiKey: 'key-123' } });
  await api.dev.importConnection({ provider_config_key: 'fake-basic', connection_id: 'c', credentials: { type: 'BASIC', username: 'user', password: 'pass' } });
  const cc = fake.issue();
  await api.dev.importConnection({
    provider_config_key: 'fake-cc',
    connection_id: 'c',
    credentials: { type: 'OAUTH2_CC', token: cc.access_token, client_id: fake.clientId, client_secret: fake.clientSecret, expires_at: in1h } as never,
  });
  fake.autoApprove = true;
  const { token } = await connectSession(api);
  await walkOAuth(`${api.url}/oauth/connect/fake-oauth1?connect_session_token=${token}&connection_id=c`);
});
afterAll(async () => {
  useUserProviders({});
  await Promise.all([api.close(), fake.close()]);
});

/** A response body as JSON, typed loosely for assertions. */
const json = (res: Response): Promise<any> => res.json();

const proxy = (path: string, init: { method?: string; headers?: Record<string, string>; body?: RequestInit['body']; key?: string } = {}) =>
  fetch(`${api.url}/proxy${path}`, {
    method: init.method ?? 'GET',
    headers: { authorization: `Bearer ${api.keys.dev}`, 'connection-id': 'c', 'provider-config-key': init.key ?? 'fake-oauth2', ...init.headers },
    body: init.body,
    duplex: 'half',
  } as RequestInit);

test.each(['fake-oauth2', 'fake-cc', 'fake-oauth1', 'fake-key', 'fake-basic'])('injects the credentials %s calls for', async (key) => {
  const res = await proxy('/echo?x=1', { key });
  expect(res.status).toBe(200);
  const echo = await json(res);
  const expected = {
    'fake-oauth2': { authorization: `Bearer ${oauth2Token}` },
    'fake-cc': { authorization: expect.stringMatching(/^Bearer at-/) },
    'fake-oauth1': { authorization: expect.stringMatching(/^OAuth .*oauth_signature=/) },
    'fake-key': { 'x-api-key': 'key-123' },
    'fake-basic': { authorization: 'Basic dXNlcjpwYXNz' },
  }[key];
  expect(echo.headers).toMatchObject(expected!);
  expect(echo.query).toEqual({ x: '1' });
});

test('OAuth 1.0a signs the parameters of a form body too', async () => {
  const res = await proxy('/echo?q=1', { key: 'fake-oauth1', method: 'POST', body: 'status=Hello Ladies + Gentlemen&x=1', headers: { 'content-type': 'application/x-www-form-urlencoded' } });
  expect(res.status).toBe(200);
  expect(await json(res)).toMatchObject({ body: 'status=Hello Ladies + Gentlemen&x=1', query: { q: '1' } });
});

test('forwards only Nango-Proxy- headers, and passes status, headers and body back unchanged', async () => {
  const res = await proxy('/created?a=b', {
    method: 'POST',
    headers: { 'nango-proxy-x-custom': 'yes', 'nango-proxy-content-type': 'text/plain', 'x-not-forwarded': 'no' },
    body: 'hello',
  });
  expect(res.status).toBe(201);
  expect(res.headers.get('x-fake-custom')).toBe('from-provider');
  const echo = await json(res);
  expect(echo).toMatchObject({ method: 'POST', path: '/api/created', query: { a: 'b' }, body: 'hello' });
  expect(echo.headers).toMatchObject({ 'x-custom': 'yes', 'content-type': 'text/plain', authorization: `Bearer ${oauth2Token}` });
  expect(echo.headers).not.toHaveProperty('x-not-forwarded');
  expect(JSON.stringify(echo.headers)).not.toContain(api.keys.dev);

  const failed = await proxy('/flaky?key=pass-through&fail=5');
  expect(failed.status).toBe(503);
  expect(await json(failed)).toEqual({ message: 'try again', attempt: 1 });
});

test('retries as asked: Retries, Retry-After waits, Retry-On', async () => {
  const retried = await proxy('/flaky?key=r1&fail=2&ra=0', { headers: { retries: '2' } });
  expect([retried.status, (await json(retried)).attempt]).toEqual([200, 3]);
  const exhausted = await proxy('/flaky?key=r2&fail=2&ra=0', { headers: { retries: '1' } });
  expect([exhausted.status, (await json(exhausted)).attempt]).toEqual([503, 2]);
  const limited = await proxy('/limited?key=r3&fail=1', { method: 'POST', body: '{"a":1}', headers: { retries: '1', 'content-type': 'application/json' } });
  expect(limited.status).toBe(200);
  expect(await json(limited)).toMatchObject({ attempt: 2, body: '{"a":1}' });
  const conflict = await proxy('/flaky?key=r4&fail=1&status=409', { headers: { retries: '1' } });
  expect(conflict.status).toBe(409);
  const retriedOn = await proxy('/flaky?key=r5&fail=1&status=409&ra=0', { headers: { retries: '1', 'retry-on': '409' } });
  expect([retriedOn.status, (await json(retriedOn)).attempt]).toEqual([200, 2]);
  const bad = await proxy('/echo', { headers: { retries: 'many' } });
  expect(bad.status).toBe(400);
});

test('a 401 refreshes the token once and retries with the new one', async () => {
  const tokens = fake.issue();
  await api.dev.importConnection({
    provider_config_key: 'fake-oauth2',
    connection_id: 'revoked',
    credentials: { type: 'OAUTH2', ...tokens, expires_at: new Date(Date.now() + 3600_000).toISOString() },
  });
  fake.expireAll();
  const calls = fake.calls.refresh_token;
  const res = await fetch(`${api.url}/proxy/echo`, { headers: { authorization: `Bearer ${api.keys.dev}`, 'connection-id': 'revoked', 'provider-config-key': 'fake-oauth2' } });
  expect(res.status).toBe(200);
  expect(fake.calls.refresh_token).toBe(calls + 1);
  expect((await json(res)).headers.authorization).not.toBe(`Bearer ${tokens.access_token}`);
  // Restore the shared connection's token for the other tests.
  oauth2Token = (await api.dev.getConnection('fake-oauth2', 'c', true)).credentials.access_token as string;
});

// Bodies of 200 MB against a bound of 90% of that: a buffered body would exceed it alone, while
// uncollected garbage from streamed chunks stays under it (GC runs on allocation, not on total size;
// a CI run saw 143 MB of such garbage at its peak, so half the body was too tight a bound).
test('streams a 200 MB download and a 200 MB upload with bounded memory', async () => {
  const size = 200 * 1024 * 1024;
  global.gc?.();
  const base = process.memoryUsage();
  let peak = 0;
  const sample = () => {
    const m = process.memoryUsage();
    peak = Math.max(peak, m.heapUsed + m.arrayBuffers - base.heapUsed - base.arrayBuffers);
  };
  const timer = setInterval(sample, 5);
  try {
    const res = await proxy(`/bytes?size=${size}`);
    expect(res.headers.get('content-length')).toBe(String(size));
    let received = 0;
    for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) received += chunk.length;
    expect(received).toBe(size);

    const upload = 200 * 1024 * 1024;
    const chunk = new Uint8Array(256 * 1024).fill(97);
    let sent = 0;
    const body = new ReadableStream<Uint8Array>({
      pull(controller) {
        if (sent >= upload) return controller.close();
        sent += chunk.length;
        controller.enqueue(chunk);
      },
    });
    const counted = await proxy('/count', { method: 'PUT', body, headers: { 'content-type': 'application/octet-stream' } });
    expect(await json(counted)).toEqual({ bytes: upload });
  } finally {
    clearInterval(timer);
  }
  expect(peak).toBeLessThan(0.9 * size);
}, 60_000);

test('Base-Url-Override, Decompress and redirects', async () => {
  const overridden = await proxy('/echo', { headers: { 'base-url-override': `${fake.url}/api` } });
  expect((await json(overridden)).path).toBe('/api/echo');
  const passthrough = await proxy('/gzip', { headers: { 'accept-encoding': 'gzip' } });
  expect(passthrough.headers.get('content-encoding')).toBe('gzip');
  expect(await json(passthrough)).toEqual({ compressed: true });
  const decompressed = await proxy('/gzip', { headers: { decompress: 'true' } });
  expect(decompressed.headers.get('content-encoding')).toBeNull();
  expect(await json(decompressed)).toEqual({ compressed: true });
  const redirected = await proxy('/redirect');
  expect(await json(redirected)).toMatchObject({ query: { redirected: '1' }, headers: { authorization: `Bearer ${oauth2Token}` } });
});

test('a redirect to another origin gets no credentials unless Forward-Headers-On-Redirect', async () => {
  const other = createServer((req, res) => res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(req.headers)));
  await new Promise<void>((resolve) => other.listen(0, '127.0.0.1', resolve));
  const to = encodeURIComponent(`http://127.0.0.1:${(other.address() as AddressInfo).port}/elsewhere`);
  try {
    for (const key of ['fake-key', 'fake-oauth2']) {
      const stripped = await json(await proxy(`/redirect?to=${to}`, { key, headers: { 'nango-proxy-x-mine': 'kept' } }));
      expect(stripped).toMatchObject({ 'x-mine': 'kept' });
      expect(stripped).not.toHaveProperty('x-api-key');
      expect(stripped).not.toHaveProperty('authorization');
    }
    const forwarded = await json(await proxy(`/redirect?to=${to}`, { key: 'fake-key', headers: { 'forward-headers-on-redirect': 'true' } }));
    expect(forwarded).toMatchObject({ 'x-api-key': 'key-123' });
  } finally {
    other.closeAllConnections();
    await new Promise((resolve) => other.close(resolve));
  }
});

test('missing headers and unknown connections are API errors', async () => {
  await expectUnchanged(api.store.db, async () => {
    const missing = await proxy('/echo', { key: 'fake-key', headers: { 'connection-id': 'nobody' } });
    expect(missing.status).toBe(404);
  });
  const none = await fetch(`${api.url}/proxy/echo`, { headers: { authorization: `Bearer ${api.keys.dev}` } });
  expect([none.status, (await json(none)).error.code]).toEqual([400, 'missing_header']);
  const unknown = await proxy('/echo', { key: 'nope' });
  expect(unknown.status).toBe(404);
  const noKey = await fetch(`${api.url}/proxy/echo`, { headers: { 'connection-id': 'c', 'provider-config-key': 'fake-oauth2' } });
  expect(noKey.status).toBe(401);
});

test('SDK proxy, get, post, put, patch, delete', async () => {
  const cfg = { providerConfigKey: 'fake-oauth2', connectionId: 'c' };
  const got = await api.dev.get({ ...cfg, endpoint: '/echo', params: { q: 'x' }, headers: { 'X-Trace': 't1' } });
  expect(got).toMatchObject({ status: 200, headers: { 'x-fake-custom': 'from-provider' }, data: { method: 'GET', query: { q: 'x' }, headers: { 'x-trace': 't1' } } });
  for (const method of ['post', 'put', 'patch', 'delete'] as const) {
    const res = await api.dev[method]({ ...cfg, endpoint: '/echo', data: { n: 1 } });
    expect(res.data).toMatchObject({ method: method.toUpperCase(), body: '{"n":1}', headers: { 'content-type': 'application/json' } });
  }
  const form = new FormData();
  form.append('file', new Blob(['file body']), 'a.txt');
  const multipart = await api.dev.post({ ...cfg, endpoint: '/echo', data: form });
  expect(multipart.data.headers['content-type']).toMatch(/^multipart\/form-data; boundary=/);
  expect(multipart.data.body).toContain('filename="a.txt"');
  expect(multipart.data.body).toContain('file body');
  const retried = await api.dev.proxy({ ...cfg, endpoint: '/flaky', params: { key: 'sdk', fail: 1, ra: 0 }, retries: 1 });
  expect(retried.data.attempt).toBe(2);
  const bytes = await api.dev.get<Buffer>({ ...cfg, endpoint: '/bytes', params: { size: 1000 }, responseType: 'arraybuffer' });
  expect(bytes.data.length).toBe(1000);
  const err = (await api.dev.get({ ...cfg, endpoint: '/flaky', params: { key: 'sdk-err', fail: 1 } }).catch((e: unknown) => e)) as SynclineApiError;
  expect(err).toBeInstanceOf(SynclineApiError);
  expect({ status: err.status, code: err.code, body: err.body }).toEqual({ status: 503, code: 'http_503', body: { message: 'try again', attempt: 1 } });
});

test('@nangohq/node getConnection and proxy against the server', async () => {
  const nango = new Nango({ secretKey: api.keys.dev, host: api.url });
  const connection = await nango.getConnection('fake-oauth2', 'c');
  expect(connection.credentials).toMatchObject({ type: 'OAUTH2', access_token: oauth2Token });
  const forced = await nango.getConnection('fake-oauth2', 'c', true, true);
  expect((forced.credentials as { access_token: string }).access_token).not.toBe(oauth2Token);
  oauth2Token = (forced.credentials as { access_token: string }).access_token;
  const res = await nango.proxy({ providerConfigKey: 'fake-oauth2', connectionId: 'c', endpoint: '/echo', params: { p: '1' }, headers: { 'X-Id': '7' } });
  expect(res.status).toBe(200);
  expect(res.data).toMatchObject({ query: { p: '1' }, headers: { 'x-id': '7', authorization: `Bearer ${oauth2Token}` } });
  const posted = await nango.post({ providerConfigKey: 'fake-oauth2', connectionId: 'c', endpoint: '/echo', data: { hello: 'world' }, retries: 2 });
  expect(JSON.parse(posted.data.body)).toEqual({ hello: 'world' });
  const flaky = await nango.get({ providerConfigKey: 'fake-oauth2', connectionId: 'c', endpoint: '/flaky?key=nango&fail=1&ra=0', retries: 1 });
  expect(flaky.data.attempt).toBe(2);
});
