import { onPostgres, testStore } from '../helpers/db';

// Connection search (ILIKE '%text%' on the connection id, end user id, email and display name) is
// served by trigram indexes where pg_trgm exists, and works the same without them (PGlite).
let store: Awaited<ReturnType<typeof testStore>>;
let envId: number;

beforeAll(async () => {
  store = await testStore();
  await store.environments.ensureDefaults();
  envId = (await store.environments.byName('dev'))!.id;
  await store.integrations.create(envId, { uniqueKey: 'crm', provider: 'github' });
  const people = [
    ['c-1', 'u-alice', 'alice@wonder.land', 'Alice Liddell'],
    ['c-2', 'u-bob', 'bob@builder.example', 'Bob'],
    ['liddell-3', null, null, null],
  ] as const;
  for (const [connectionId, id, email, name] of people) {
    await store.connections.upsert(envId, 'crm', { connectionId, credentials: { type: 'API_KEY', apiKey: 'k' }, endUser: id ? { id, email, display_name: name } : null });
  }
}, 120_000); // a loaded machine can take long to start PGlite
afterAll(() => store?.drop());

const search = async (text: string) => (await store.connections.list(envId, { search: text, limit: 100, page: 0 })).map((c) => c.connectionId);

test('search matches part of the connection id, end user id, email or display name, ignoring case', async () => {
  expect(await search('LIDDELL')).toEqual(['c-1', 'liddell-3']);
  expect(await search('builder.ex')).toEqual(['c-2']);
  expect(await search('u-ali')).toEqual(['c-1']);
  expect(await search('100%')).toEqual([]);
});

const SEARCH_INDEXES = `SELECT indexname FROM pg_indexes WHERE tablename = 'connections' AND schemaname = current_schema() AND indexname LIKE 'connections_search_%' ORDER BY 1`;

onPostgres('on Postgres, over 10,000 connections just written, the search reads the trigram indexes instead of every connection', async () => {
  expect((await store.db.query<{ indexname: string }>(SEARCH_INDEXES)).rows.map((r) => r.indexname)).toEqual([
    'connections_search_email',
    'connections_search_end_user_id',
    'connections_search_id',
    'connections_search_name',
  ]);
  // Written as connections are, row by row into the indexes, and not vacuumed since (new entries
  // wait in GIN's pending list until then, which the planner counts into the indexes' cost).
  await store.db.query(
    `INSERT INTO connections (environment_id, integration_id, connection_id, credentials_encrypted, credentials_type, end_user, end_user_id)
     SELECT t.environment_id, t.integration_id, 'many-' || n, t.credentials_encrypted, t.credentials_type,
            jsonb_build_object('id', 'user-' || n, 'email', 'person' || n || '@company' || (n % 10) || '.example', 'display_name', 'Person ' || md5(n::text)), 'user-' || n
     FROM connections t, generate_series(1, 10000) AS n WHERE t.connection_id = 'c-2'`,
  );
  await store.db.query('ANALYZE connections');
  // The statement connections.list sends, explained as it is.
  const sent: { sql: string; params?: unknown[] }[] = [];
  const query = store.db.query;
  store.db.query = ((sql: string, params?: unknown[]) => (sent.push({ sql, params }), query.call(store.db, sql, params))) as typeof query;
  try {
    expect(await search('person5000@')).toEqual(['many-5000']);
  } finally {
    store.db.query = query;
  }
  const { rows } = await store.db.query<{ 'QUERY PLAN': string }>(`EXPLAIN ${sent.at(-1)!.sql}`, sent.at(-1)!.params);
  const plan = rows.map((r) => r['QUERY PLAN']).join('\n');
  expect(plan).not.toMatch(/Seq Scan on connections/);
  for (const index of ['connections_search_id', 'connections_search_end_user_id', 'connections_search_email', 'connections_search_name']) expect(plan).toContain(index);
}, 120_000);

if (!process.env.DATABASE_URL) {
  test('on PGlite, without pg_trgm, the migration leaves the indexes out and search still works', async () => {
    expect((await store.db.query(SEARCH_INDEXES)).rows).toEqual([]);
    expect(await search('wonder')).toEqual(['c-1']);
  });
}
