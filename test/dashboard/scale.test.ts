import { call, startTestApi, type TestApi } from '../helpers/api';

/** The dashboard's connection list on 10,000 connections: server-side paging and search stay fast. */
let api: TestApi;

beforeAll(async () => {
  api = await startTestApi();
  await api.dev.createIntegration({ unique_key: 'bulk', provider: 'github' });
  await api.dev.importConnection({ provider_config_key: 'bulk', connection_id: 'template', credentials: { type: 'API_KEY', apiKey: 'k' } });
  await api.store.db.query(
    `INSERT INTO connections (environment_id, integration_id, connection_id, end_user, end_user_id, credentials_encrypted, credentials_type, created_at)
     SELECT environment_id, integration_id, 'bulk-' || lpad(g::text, 5, '0'), jsonb_build_object('id', 'user-' || g, 'email', 'user' || g || '@example.com'),
            'user-' || g, credentials_encrypted, credentials_type, now() + g * interval '1 millisecond'
     FROM connections, generate_series(1, 10000) g WHERE connection_id = 'template'`,
  );
}, 60_000);
afterAll(() => api?.close());

const timed = async (path: string) => {
  const started = performance.now();
  const res = await call(api, 'GET', path);
  const ms = performance.now() - started;
  expect(res.status).toBe(200);
  return { body: res.body, ms };
};

test('pages and searches over 10,000 connections answer quickly', async () => {
  await timed('/dashboard/api/connections?integration=bulk'); // warm-up
  const first = await timed('/dashboard/api/connections?integration=bulk');
  expect(first.body.connections.map((c: any) => c.connection_id).slice(0, 2)).toEqual(['template', 'bulk-00001']);
  expect(first.body).toMatchObject({ page: 0, limit: 25, has_more: true });

  const last = await timed('/dashboard/api/connections?integration=bulk&page=400');
  expect(last.body.connections.map((c: any) => c.connection_id)).toEqual(['bulk-10000']);
  expect(last.body.has_more).toBe(false);

  const search = await timed(`/dashboard/api/connections?search=${encodeURIComponent('user9876@')}`);
  expect(search.body.connections.map((c: any) => c.connection_id)).toEqual(['bulk-09876']);
  const prefix = await timed('/dashboard/api/connections?search=bulk-0999');
  expect(prefix.body.connections).toHaveLength(10);

  const times = { first: first.ms, last: last.ms, search: search.ms, prefix: prefix.ms };
  for (const [what, ms] of Object.entries(times)) expect({ what, fast: ms < 1500 }).toEqual({ what, fast: true });
  console.log('dashboard connections on 10,000 rows (ms):', JSON.stringify(Object.fromEntries(Object.entries(times).map(([k, v]) => [k, Math.round(v)]))));
});
