import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { ProviderDefinition } from '../../src/providers';
import { oauth1Header } from '../../src/providers/oauth1';
import { isRetryable, waitFromHeaders } from '../../src/providers/retry';
import { harness, outputOf, script, TOKEN, type Harness } from './harness';

let h: Harness;
beforeAll(async () => {
  h = await harness();
}, 60_000); // a loaded machine can take long to start the database and the fake API
afterAll(() => h.close());
beforeEach(() => h.api.reset());

/** Runs `body` and returns what it returns. */
const run = async (body: string, options = {}) => outputOf(await h.run(script(body), options));

/** Runs `body`, which must throw, and returns the error as the script saw it. */
const caught = (call: string) => run(`try { await ${call}; return 'no error' } catch (e) { return { message: e.message, code: e.code, status: e.status, isAxiosError: e.isAxiosError, response: e.response && { status: e.response.status, data: e.response.data } } }`);

describe('credentials', () => {
  test('OAuth2: a bearer token plus the provider headers', async () => {
    const echo = await run(`return (await nango.get({ endpoint: '/echo' })).data`);
    expect(echo.headers.authorization).toBe(`Bearer ${TOKEN}`);
    expect(echo.headers.accept).toBe('application/vnd.github+json');
    expect(echo.headers['x-github-api-version']).toBe('2022-11-28');
  });

  test('API key in a header, API key in the query, Basic, and connection config in the base URL', async () => {
    const cases: Array<[ProviderDefinition, Parameters<Harness['connect']>[1], Record<string, unknown>?]> = [
      [{ display_name: 'Key header', auth_mode: 'API_KEY', proxy: { base_url: h.api.url, headers: { 'x-api-key': '${apiKey}' } } }, { type: 'API_KEY', apiKey: 'key-in-header-123' }],
      [{ display_name: 'Key query', auth_mode: 'API_KEY', proxy: { base_url: h.api.url, query: { api_key: '${apiKey}' } } }, { type: 'API_KEY', apiKey: 'key-in-query-456' }],
      [{ display_name: 'Basic', auth_mode: 'BASIC', proxy: { base_url: h.api.url } }, { type: 'BASIC', username: 'user', password: 'pass-789' }],
      [{ display_name: 'Tenant', auth_mode: 'API_KEY', proxy: { base_url: `${h.api.url}/\${connectionConfig.tenant}` } }, { type: 'API_KEY', apiKey: 'tenant-key-000' }, { tenant: 'acme' }],
    ];
    const seen = [];
    for (const [i, [provider, credentials, config]] of cases.entries()) {
      await h.connect(`cred-${i}`, credentials, config);
      seen.push(await run(`return (await nango.get({ endpoint: '/echo' })).data`, { provider, connectionId: `cred-${i}` }));
    }
    expect(seen[0].headers['x-api-key']).toBe('key-in-header-123');
    expect(seen[0].headers.authorization).toBeUndefined();
    expect(seen[1].query).toEqual({ api_key: 'key-in-query-456' });
    expect(seen[1].headers.authorization).toBeUndefined();
    expect(seen[2].headers.authorization).toBe(`Basic ${Buffer.from('user:pass-789').toString('base64')}`);
    expect(seen[3].path).toBe('/acme/echo');
    expect(seen[3].headers.authorization).toBe('Bearer tenant-key-000');
  });

  test('OAuth 1.0a: requests are signed with the integration keys, form body parameters included', async () => {
    const provider: ProviderDefinition = { display_name: 'OAuth1', auth_mode: 'OAUTH1', proxy: { base_url: h.api.url } };
    await h.connect('c-oauth1', { type: 'OAUTH1', oauth_token: 'tok-o1', oauth_token_secret: 'sec-o1' });
    const echo = await run(
      `return (await nango.post({ endpoint: '/echo', params: { q: '1' }, data: 'name=a+b&x=%21', headers: { 'content-type': 'application/x-www-form-urlencoded' } })).data`,
      { provider, connectionId: 'c-oauth1' },
    );
    const header = echo.headers.authorization as string;
    const field = (name: string) => decodeURIComponent(new RegExp(`${name}="([^"]*)"`).exec(header)![1]!);
    const keys = { consumerKey: 'cid', consumerSecret: 'integration-client-secret', token: 'tok-o1', tokenSecret: 'sec-o1' };
    const url = `${h.api.url}/echo?q=1`;
    const expected = oauth1Header('POST', url, { ...keys, form: 'name=a+b&x=%21' }, Number(field('oauth_timestamp')) * 1000, field('oauth_nonce'));
    expect(header).toBe(expected);
    expect(header).not.toBe(oauth1Header('POST', url, keys, Number(field('oauth_timestamp')) * 1000, field('oauth_nonce')));
  });

  test('a 401 is retried once with refreshed credentials when they changed', async () => {
    h.api.tokens.add('refreshed-token-2');
    let refreshes = 0;
    const services = {
      ...h.services,
      getConnection: async (key: string, id: string, options?: { forceRefresh?: boolean }) => {
        if (options?.forceRefresh) {
          refreshes++;
          await h.store.connections.upsert(h.environmentId, 'github', { connectionId: 'c-refresh', credentials: { type: 'OAUTH2', access_token: 'refreshed-token-2' } });
        }
        return h.services.getConnection(key, id);
      },
    };
    await h.connect('c-refresh', { type: 'OAUTH2', access_token: 'expired-token-1' });
    const status = await run(`return (await nango.get({ endpoint: '/repos/o/r/issues' })).status`, { services, connectionId: 'c-refresh' });
    expect(status).toBe(200);
    expect(refreshes).toBe(1);
    expect(h.api.requests.map((r) => r.headers.authorization)).toEqual(['Bearer expired-token-1', 'Bearer refreshed-token-2']);
  });

  test('a 401 with unchanged credentials is not retried', async () => {
    h.api.tokens.add('some-other-token');
    await h.connect('c-static', { type: 'OAUTH2', access_token: 'static-token-without-refresh' });
    const error = await caught(`nango.get({ endpoint: '/repos/o/r/issues', retries: 3, connectionId: 'c-static' })`);
    expect(error.status).toBe(401);
    expect(h.api.requests).toHaveLength(1);
  });

  test('tokens never reach the logs', async () => {
    h.api.fail('/echo', { status: 500 });
    const result = await h.run(script(`const t = await nango.getToken(); await nango.log('token is', t); console.log({ t }); await nango.get({ endpoint: '/echo', retries: 1 }); return 1`));
    const text = JSON.stringify(result.logs);
    expect(text).not.toContain(TOKEN);
    expect(text).toContain('token is [redacted]');
  });
});

describe('requests', () => {
  test('params, headers, data, methods and the axios-shaped response', async () => {
    const out = await run(`
      const get = await nango.get({ endpoint: '/echo', params: { q: 'a b', list: [1, 2] }, headers: { 'X-Custom': 'yes' } });
      const post = await nango.post({ endpoint: '/echo', data: { n: 1 } });
      const methods = [];
      for (const m of ['put', 'patch', 'delete']) methods.push((await nango[m]({ endpoint: '/echo', data: { m } })).data.method);
      const proxied = await nango.proxy({ method: 'PATCH', endpoint: '/echo?inline=1' });
      return { get: { status: get.status, statusText: get.statusText, type: get.headers['content-type'], config: get.config, request: get.request, query: get.data.query, custom: get.data.headers['x-custom'] },
               post: post.data.body, methods, proxied: [proxied.data.method, proxied.data.query] };
    `);
    expect(out.get.status).toBe(200);
    expect(out.get.statusText).toBe('OK');
    expect(out.get.type).toBe('application/json');
    expect(out.get.query).toEqual({ q: 'a b', list: '2' });
    expect(out.get.custom).toBe('yes');
    expect(out.get.config).toMatchObject({ endpoint: '/echo', method: 'GET', params: { q: 'a b', list: [1, 2] } });
    expect(out.get.request).toEqual({ method: 'GET', url: `${h.api.url}/echo?q=a+b&list=1&list=2`, path: '/echo' });
    expect(out.post).toEqual({ n: 1 });
    expect(out.methods).toEqual(['PUT', 'PATCH', 'DELETE']);
    expect(out.proxied).toEqual(['PATCH', { inline: '1' }]);
  });

  test('redirects are followed; another origin gets none of the credentials', async () => {
    const other = createServer((req, res) => res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(req.headers)));
    await new Promise<void>((resolve) => other.listen(0, '127.0.0.1', resolve));
    const elsewhere = encodeURIComponent(`http://127.0.0.1:${(other.address() as AddressInfo).port}/elsewhere`);
    try {
      const provider: ProviderDefinition = { display_name: 'Key header', auth_mode: 'API_KEY', proxy: { base_url: h.api.url, headers: { 'x-api-key': '${apiKey}' } } };
      await h.connect('redirected', { type: 'API_KEY', apiKey: 'key-redirect-123' });
      const options = { provider, connectionId: 'redirected' };
      const same = await run(`return (await nango.get({ endpoint: '/redirect' })).data`, options);
      expect(same).toMatchObject({ path: '/echo', query: { redirected: '1' }, headers: { 'x-api-key': 'key-redirect-123' } });
      const away = await run(`return (await nango.get({ endpoint: '/redirect', params: { to: decodeURIComponent('${elsewhere}') }, headers: { 'x-mine': 'kept' } })).data`, options);
      expect(away).toMatchObject({ 'x-mine': 'kept' });
      expect(away).not.toHaveProperty('x-api-key');
      const oauth = await run(`return (await nango.get({ endpoint: '/redirect', params: { to: decodeURIComponent('${elsewhere}') } })).data`);
      expect(oauth).not.toHaveProperty('authorization');
    } finally {
      other.closeAllConnections();
      await new Promise((resolve) => other.close(resolve));
    }
  });

  test('baseUrlOverride replaces the provider base URL', async () => {
    const echo = await run(`return (await nango.get({ endpoint: '/echo', baseUrlOverride: '${h.api.url}/elsewhere' })).data`);
    expect(echo.path).toBe('/elsewhere/echo');
    expect(echo.headers.authorization).toBe(`Bearer ${TOKEN}`);
  });

  test('responseType text and arraybuffer', async () => {
    const out = await run(`
      const text = await nango.get({ endpoint: '/text', responseType: 'text' });
      const bin = await nango.get({ endpoint: '/binary', responseType: 'arraybuffer' });
      return { text: text.data, isBuffer: Buffer.isBuffer(bin.data), bytes: Array.from(bin.data) };
    `);
    expect(out).toEqual({ text: '{"not":"parsed"}', isBuffer: true, bytes: [0, 1, 2, 250, 255] });
  });

  test('decompress: gzip bodies are decoded only when asked', async () => {
    const out = await run(`
      const plain = await nango.get({ endpoint: '/gzip' });
      const decoded = await nango.get({ endpoint: '/gzip', decompress: true });
      return { plain: typeof plain.data, decoded: decoded.data };
    `);
    expect(out).toEqual({ plain: 'string', decoded: { compressed: true } });
    expect(h.api.requests[0]!.headers['accept-encoding']).toBe('identity');
  });

  test('an error status throws an axios-like error with the response', async () => {
    const error = await caught(`nango.get({ endpoint: '/nowhere' })`);
    expect(error).toEqual({ message: 'Request failed with status code 404', code: 'ERR_BAD_REQUEST', status: 404, isAxiosError: true, response: { status: 404, data: { message: 'Not Found' } } });
  });
});

describe('retries', () => {
  test('no retry by default', async () => {
    h.api.fail('/echo', { status: 500 });
    const error = await caught(`nango.get({ endpoint: '/echo' })`);
    expect(error.status).toBe(500);
    expect(h.api.requests).toHaveLength(1);
  });

  test('5xx and dropped connections are retried with exponential back-off', async () => {
    // The first drop hits the kept-alive connection of the 500: sent again at once on a new one (see
    // stale-connection.test.ts), which the second drop hits.
    h.api.fail('/echo', { status: 500 }, { drop: true }, { drop: true }, { status: 503 });
    const result = await h.run(script(`return (await nango.get({ endpoint: '/echo', retries: 3 })).status`), { retryBaseMs: 50 });
    expect(outputOf(result)).toBe(200);
    const at = h.api.requests.map((r) => r.at);
    expect(at).toHaveLength(5);
    expect(at[1]! - at[0]!).toBeGreaterThanOrEqual(45);
    expect(at[3]! - at[2]!).toBeGreaterThanOrEqual(95);
    expect(at[4]! - at[3]!).toBeGreaterThanOrEqual(195);
    expect(result.logs.filter((l) => l.level === 'warn').map((l) => l.message)).toEqual([
      expect.stringContaining('returned 500; retry 1/3'),
      expect.stringContaining('failed (ECONNRESET); retry 2/3'),
      expect.stringContaining('returned 503; retry 3/3'),
    ]);
  });

  test('a dropped connection without retries fails with its network code', async () => {
    // Twice: a drop on a reused connection is sent again once whatever the retries.
    h.api.fail('/echo', { drop: true }, { drop: true });
    expect((await caught(`nango.get({ endpoint: '/echo' })`)).code).toBe('ECONNRESET');
  });

  test('retries run out', async () => {
    h.api.fail('/echo', { status: 502 }, { status: 502 }, { status: 502 });
    expect((await caught(`nango.get({ endpoint: '/echo', retries: 2 })`)).status).toBe(502);
    expect(h.api.requests).toHaveLength(3);
  });

  /** When the first request's fault said to come back, in ms. */
  const resetAt = () => Number(h.api.requests[0]!.fault!.headers['x-ratelimit-reset']) * 1000;

  test('a 429 waits until the rate-limit reset header', async () => {
    h.api.fail('/repos/o/r/issues', { status: 429, resetInSeconds: 1 });
    await run(`return (await nango.get({ endpoint: '/repos/o/r/issues', retries: 1 })).status`, { retryBaseMs: 1 });
    expect(h.api.requests[1]!.at).toBeGreaterThanOrEqual(resetAt() - 5);
  });

  test('a 429 waits for Retry-After', async () => {
    h.api.fail('/echo', { status: 429, retryAfterSeconds: 1 });
    await run(`return (await nango.get({ endpoint: '/echo', retries: 1 })).status`);
    const [first, second] = h.api.requests.map((r) => r.at);
    expect(second! - first!).toBeGreaterThanOrEqual(950);
  });

  test("GitHub's 403 with x-ratelimit-remaining 0 is retried after the reset", async () => {
    h.api.fail('/repos/o/r/issues', { status: 403, rateLimitResetInSeconds: 1 });
    expect(await run(`return (await nango.get({ endpoint: '/repos/o/r/issues', retries: 1 })).status`, { retryBaseMs: 1 })).toBe(200);
    expect(h.api.requests).toHaveLength(2);
    expect(h.api.requests[1]!.at).toBeGreaterThanOrEqual(resetAt() - 5);
  });

  test('retryHeader names the wait header for one call', async () => {
    h.api.fail('/echo', { status: 429, resetInSeconds: 1 });
    const bare: ProviderDefinition = { ...h.github, proxy: { ...h.github.proxy!, retry: undefined } };
    await run(`return (await nango.get({ endpoint: '/echo', retries: 1, retryHeader: { at: 'x-ratelimit-reset' } })).status`, { provider: bare, retryBaseMs: 1 });
    expect(h.api.requests[1]!.at).toBeGreaterThanOrEqual(resetAt() - 5);
  });

  test('retryOn adds statuses; the provider error_code narrows the defaults', async () => {
    h.api.fail('/echo', { status: 404 });
    expect(await run(`return (await nango.get({ endpoint: '/echo', retries: 1, retryOn: [404] })).status`)).toBe(200);
    h.api.reset();
    h.api.fail('/echo', { status: 500 });
    const narrow: ProviderDefinition = { ...h.github, proxy: { ...h.github.proxy!, retry: { error_code: ['429'] } } };
    const result = await h.run(script(`try { await nango.get({ endpoint: '/echo', retries: 2 }) } catch (e) { return e.status }`), { provider: narrow });
    expect(outputOf(result)).toBe(500);
    expect(h.api.requests).toHaveLength(1);
  });

  test('the wait comes from the longest header; status rules', () => {
    const now = 1_700_000_000_000;
    expect(waitFromHeaders({ at: 'x-reset', after: 'x-after' }, { 'x-reset': String(now / 1000 + 5), 'x-after': '2' }, now)).toBe(5000);
    expect(waitFromHeaders({ at: 'x-reset' }, { 'x-reset': String(now + 1500) }, now)).toBe(1500);
    expect(waitFromHeaders(undefined, { 'retry-after': new Date(now + 3000).toUTCString() }, now)).toBe(3000);
    expect(waitFromHeaders({ at: 'x-reset' }, {}, now)).toBeUndefined();
    expect(isRetryable(undefined, undefined, 503, {})).toBe(true);
    expect(isRetryable(undefined, undefined, 400, {})).toBe(false);
    expect(isRetryable({ error_code: ['5xx'] }, undefined, 429, {})).toBe(false);
    expect(isRetryable({ error_code: ['500-502'] }, undefined, 502, {})).toBe(true);
    expect(isRetryable({ remaining: 'x-left' }, undefined, 403, { 'x-left': '0' })).toBe(true);
  });
});
