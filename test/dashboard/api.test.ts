import { call, startTestApi, type TestApi } from '../helpers/api';

let api: TestApi;

beforeAll(async () => {
  api = await startTestApi();
});
afterAll(() => api?.close());

test('the page and its assets need no key, carry no data, and allow only their own script and stylesheet', async () => {
  for (const [path, type] of [['/', 'text/html'], ['/dashboard/app.js', 'text/javascript'], ['/dashboard/app.css', 'text/css']] as const) {
    const res = await fetch(api.url + path);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toContain(type);
    expect(res.headers.get('content-security-policy')).toMatch(/default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'/);
    expect(res.headers.get('content-security-policy')).toContain("frame-ancestors 'none'");
    expect(res.headers.get('x-content-type-options')).toBe('nosniff');
  }
  const html = await (await fetch(`${api.url}/`)).text();
  expect(html).toContain('<script src="/dashboard/app.js"></script>');
  expect(html).not.toMatch(/<script>|style=/);
});

test("the dashboard's API needs the secret key and sees only its environment", async () => {
  expect((await call(api, 'GET', '/dashboard/api/connections', { key: null })).status).toBe(401);
  await api.dev.createIntegration({ unique_key: 'gh', provider: 'github' });
  await api.dev.importConnection({ provider_config_key: 'gh', connection_id: 'mine', credentials: { type: 'API_KEY', apiKey: 'k' } });
  const dev = await call(api, 'GET', '/dashboard/api/connections');
  expect(dev.body).toMatchObject({ connections: [{ connection_id: 'mine', provider_config_key: 'gh', syncs: [] }], has_more: false, orchestration: false });
  expect((await call(api, 'GET', '/dashboard/api/connections', { key: api.keys.prod })).body.connections).toEqual([]);
  expect((await call(api, 'GET', '/dashboard/api/connections?limit=500')).status).toBe(400);
  // Without orchestration there is no workflow history to show.
  const history = await call(api, 'GET', '/dashboard/api/history?provider_config_key=gh&connection_id=mine&sync=issues');
  expect(history.body.error.code).toBe('no_orchestration');
});
