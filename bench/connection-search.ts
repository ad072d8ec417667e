import { randomBytes } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { openDb } from '../src/store/db';
import { openStore } from '../src/store';

/**
 * Connection search (`GET /connections?search=`) over BENCH_CONNECTIONS (default 10,000) connections
 * of one environment, each with an end user: the time of one page (100) of `connections.list` with a
 * search that matches one connection, and one that matches a tenth of them. Measured without the
 * trigram indexes (dropped for the run) and with them (migration 018). Postgres only (DATABASE_URL):
 * PGlite has no pg_trgm, its search is always the scan.
 */
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 10_000);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 50);
const INDEXES = ['connections_search_id', 'connections_search_end_user_id', 'connections_search_email', 'connections_search_name'];

export async function run(): Promise<void> {
  const url = process.env.DATABASE_URL;
  if (!url) {
    console.log('connection-search: Postgres only (set DATABASE_URL); PGlite has no pg_trgm');
    return;
  }
  const schema = `bench_${randomBytes(4).toString('hex')}`;
  const db = await openDb({ url, schema, maxConnections: 2 });
  try {
    const store = await openStore(db, randomBytes(32));
    await store.environments.ensureDefaults();
    const envId = (await store.environments.byName('dev'))!.id;
    await store.integrations.create(envId, { uniqueKey: 'crm', provider: 'github' });
    const { connection } = await store.connections.upsert(envId, 'crm', { connectionId: 'template', credentials: { type: 'API_KEY', apiKey: 'k' } });
    // Copies of the template's row (same encrypted credentials), each with its own end user.
    await db.query(
      `INSERT INTO connections (environment_id, integration_id, connection_id, credentials_encrypted, credentials_type, connection_config, metadata, tags, end_user, end_user_id)
       SELECT t.environment_id, t.integration_id, 'conn-' || n, t.credentials_encrypted, t.credentials_type, '{}', '{}', '{}',
              jsonb_build_object('id', 'user-' || n, 'email', 'person' || n || '@company' || (n % 10) || '.example', 'display_name', 'Person ' || md5(n::text)),
              'user-' || n
       FROM connections t, generate_series(1, $2::int) AS n WHERE t.id = $1`,
      [connection.id, CONNECTIONS],
    );
    await db.query('ANALYZE connections');
    const one = `person${Math.floor(CONNECTIONS / 2)}@`;
    const tenth = '@company7.';
    const time = async (search: string) => {
      await store.connections.list(envId, { search, limit: 100, page: 0 });
      const started = performance.now();
      for (let i = 0; i < ROUNDS; i++) await store.connections.list(envId, { search, limit: 100, page: 0 });
      return ((performance.now() - started) / ROUNDS).toFixed(1);
    };
    const definitions = (await db.query<{ indexdef: string }>(`SELECT indexdef FROM pg_indexes WHERE schemaname = $1 AND indexname = ANY($2::text[])`, [schema, INDEXES])).rows;
    if (definitions.length !== INDEXES.length) throw new Error('the trigram indexes are missing: is pg_trgm available?');
    for (const name of INDEXES) await db.query(`DROP INDEX ${name}`);
    const before = { one: await time(one), tenth: await time(tenth) };
    for (const { indexdef } of definitions) await db.query(indexdef);
    await db.query('ANALYZE connections');
    const after = { one: await time(one), tenth: await time(tenth) };
    console.log(`connection-search: ${CONNECTIONS} connections, one page (100) per search, mean of ${ROUNDS}`);
    console.log(`connection-search.one    ${before.one} ms without trigram indexes, ${after.one} ms with  (search "${one}": 1 match)`);
    console.log(`connection-search.tenth  ${before.tenth} ms without trigram indexes, ${after.tenth} ms with  (search "${tenth}": ${CONNECTIONS / 10} matches)`);
  } finally {
    await db.query(`DROP SCHEMA ${schema} CASCADE`);
    await db.close();
  }
}
