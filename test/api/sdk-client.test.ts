import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { DEFAULT_HOST, Syncline, SynclineApiError } from '../../src/sdk';
import { call, expectApiError, startTestApi, type TestApi } from '../helpers/api';

let api: TestApi;

beforeAll(async () => {
  api = await startTestApi();
});
afterAll(() => api.close());

describe('options', () => {
  test('apiKey and secretKey are the same thing; both at once is an error, as in @nangohq/node', async () => {
    const byApiKey = new Syncline({ apiKey: api.keys.dev, host: api.url });
    await expect(byApiKey.listIntegrations()).resolves.toEqual({ configs: [] });
    expect(() => new Syncline({ apiKey: api.keys.dev, secretKey: api.keys.dev, host: api.url })).toThrow('only one of apiKey or secretKey');
  });

  test('a key is required and the host must be a URL', () => {
    expect(() => new Syncline({ host: api.url })).toThrow('secret key');
    expect(() => new Syncline({ secretKey: '', host: api.url })).toThrow('secret key');
    expect(() => new Syncline({ secretKey: 'k', host: 'not a url' })).toThrow('Invalid URL');
  });

  test('the host defaults to a local server and loses trailing slashes', () => {
    expect(new Syncline({ secretKey: 'k' }).host).toBe(DEFAULT_HOST);
    expect(new Syncline({ secretKey: 'k', host: `${api.url}//` }).host).toBe(api.url);
  });

  test('a custom fetch is used for every request', async () => {
    const seen: string[] = [];
    const sdk = new Syncline({
      secretKey: api.keys.dev,
      host: api.url,
      fetch: (input, init) => {
        seen.push(`${init?.method} ${String(input).replace(api.url, '')}`);
        return fetch(input, init);
      },
    });
    await sdk.getEnvironmentVariables();
    await expectApiError(sdk.getConnection('gh', 'a b'), 404, 'unknown_provider_config');
    expect(seen).toEqual(['GET /environment-variables', 'GET /connections/a%20b?provider_config_key=gh&force_refresh=false&refresh_token=false']);
  });
});

describe('SynclineApiError', () => {
  test('carries status, code, message, field errors, the body and the request', async () => {
    const err = await expectApiError(api.dev.createIntegration({ unique_key: 'x', provider: 'NOT VALID' }), 400, 'invalid_body');
    const raw = await call(api, 'POST', '/integrations', { json: { unique_key: 'x', provider: 'NOT VALID' } });
    expect(err.body).toEqual(raw.body);
    expect(err.message).toBe(raw.body.error.message);
    expect(err.errors).toEqual([expect.objectContaining({ path: 'provider' })]);
    expect(err.request).toBe('POST /integrations');
    expect(err.name).toBe('SynclineApiError');
    expect(err).toBeInstanceOf(Error);
  });

  describe('from a server that does not answer in our error shape', () => {
    let proxy: Server;
    let host: string;

    beforeAll(async () => {
      // Stands in for a reverse proxy in front of Syncline.
      proxy = createServer((req, res) => {
        if (req.url === '/integrations') res.writeHead(502, { 'content-type': 'text/html' }).end('<html>Bad Gateway</html>');
        else res.writeHead(503, { 'content-type': 'application/json' }).end('{"message":"maintenance"}');
      });
      await new Promise<void>((resolve) => proxy.listen(0, '127.0.0.1', resolve));
      host = `http://127.0.0.1:${(proxy.address() as AddressInfo).port}`;
    });
    afterAll(() => new Promise<void>((resolve) => proxy.close(() => resolve())));

    test('a non-JSON body gives code http_<status> and keeps the text', async () => {
      const err = await new Syncline({ secretKey: 'k', host }).listIntegrations().catch((e: unknown) => e);
      expect(err).toBeInstanceOf(SynclineApiError);
      expect(err).toMatchObject({ status: 502, code: 'http_502', body: '<html>Bad Gateway</html>', message: 'GET /integrations failed with HTTP 502' });
    });

    test('JSON without an error object is kept as the body', async () => {
      const err = await new Syncline({ secretKey: 'k', host }).getEnvironmentVariables().catch((e: unknown) => e);
      expect(err).toMatchObject({ status: 503, code: 'http_503', body: { message: 'maintenance' } });
    });
  });

  test('a server that is not there is a network error, not a SynclineApiError', async () => {
    const sdk = new Syncline({ secretKey: 'k', host: 'http://127.0.0.1:1' });
    const err = await sdk.listIntegrations().catch((e: unknown) => e);
    // fetch's own TypeError (from Node's realm, so compared by name).
    expect(err).toMatchObject({ name: 'TypeError', message: 'fetch failed' });
    expect(err).not.toBeInstanceOf(SynclineApiError);
  });
});
