import { performance } from 'node:perf_hooks';
import type { Store } from '../src/store';
import { startTestServer, type TestServer } from '../test/helpers/server';

/**
 * Write and read throughput of synced records.
 *
 * - records.upsert: RecordStore.upsert in batches of 1,000, against a hand-written baseline, the
 *   plain set-based upsert (`INSERT ... SELECT FROM unnest($3::text[], $4::jsonb[]) ... ON CONFLICT
 *   DO UPDATE`, same parameters) into a scratch copy of the records table with the same indexes and
 *   foreign key. Batches alternate between the two, so both see the same database state.
 * - records.read: GET /records over HTTP through the real API, paging with limit=1,000 to the end.
 */
const BATCH = 1000;
const MODEL = 'BenchIssue';
const FILLER = 'Lorem ipsum dolor sit amet, consectetur adipiscing elit, sed do eiusmod tempor incididunt ut labore. '.repeat(4);

/** A record of about 500 bytes of JSON, shaped like an issue a sync would fetch. */
export function issue(n: number): Record<string, unknown> {
  return {
    id: `issue-${n}`,
    number: n,
    title: `Issue ${n}: something does not work as expected`,
    state: n % 3 === 0 ? 'closed' : 'open',
    author: { login: `user${n % 997}`, id: 100_000 + (n % 997) },
    labels: ['bug', `p${n % 4}`],
    body: FILLER.slice(n % 50, (n % 50) + 285),
    created_at: new Date(Date.UTC(2024, 0, 1) + n * 1000).toISOString(),
  };
}

const batchOf = (from: number, size: number) => Array.from({ length: size }, (_, i) => issue(from + i));

const BASELINE = `INSERT INTO bench_records AS r (connection_id, model, external_id, data, data_hash, first_seen_at, last_modified_at, last_action)
  SELECT $1, $2, i.external_id, i.data, md5(i.data::text), now(), now(), 'ADDED'
  FROM unnest($3::text[], $4::jsonb[]) AS i(external_id, data)
  ON CONFLICT (connection_id, model, external_id) DO UPDATE SET
    data = excluded.data, data_hash = excluded.data_hash, last_modified_at = excluded.last_modified_at, last_action = 'UPDATED'`;

async function timed(fn: () => Promise<unknown>): Promise<number> {
  const start = performance.now();
  await fn();
  return performance.now() - start;
}

const perSecond = (count: number, ms: number) => Math.round((count * 1000) / ms);

/**
 * The raw baseline: creates the scratch copy of the records table and returns the plain set-based
 * upsert into it. Also used by bench/runtime.ts, so both benches compare against the same thing.
 */
export async function rawUpsert(store: Store, connection: number): Promise<(batch: Array<Record<string, unknown>>) => Promise<unknown>> {
  await store.db.exec(`CREATE TABLE bench_records (LIKE records INCLUDING ALL);
    ALTER TABLE bench_records ADD FOREIGN KEY (connection_id) REFERENCES connections(id) ON DELETE CASCADE`);
  return (batch) => store.db.query(BASELINE, [connection, MODEL, batch.map((r) => String(r.id)), batch.map((r) => JSON.stringify(r))]);
}

async function benchUpsert(store: Store, connection: number, total: number): Promise<void> {
  const baseline = await rawUpsert(store, connection);
  const upsert = (batch: Array<Record<string, unknown>>) => store.records.upsert(connection, MODEL, batch);

  let storeMs = 0;
  let baselineMs = 0;
  for (let from = 0; from < total; from += BATCH) {
    const batch = batchOf(from, Math.min(BATCH, total - from));
    // Alternate which goes first, so neither always meets a freshly flushed or a warmer cache.
    if ((from / BATCH) % 2 === 0) {
      storeMs += await timed(() => upsert(batch));
      baselineMs += await timed(() => baseline(batch));
    } else {
      baselineMs += await timed(() => baseline(batch));
      storeMs += await timed(() => upsert(batch));
    }
  }
  const [ours, theirs] = [perSecond(total, storeMs), perSecond(total, baselineMs)];
  console.log(`records.upsert  ${ours} rec/s  baseline ${theirs} rec/s  ratio ${(ours / theirs).toFixed(2)}`);
}

async function benchRead(server: TestServer, total: number): Promise<void> {
  const headers = { Authorization: `Bearer ${server.keys.dev}`, 'Connection-Id': 'bench', 'Provider-Config-Key': 'github' };
  let read = 0;
  let pages = 0;
  const ms = await timed(async () => {
    let cursor: string | null = null;
    do {
      const query = new URLSearchParams({ model: MODEL, limit: String(BATCH), ...(cursor ? { cursor } : {}) });
      const response = await fetch(`${server.url}/records?${query}`, { headers });
      if (!response.ok) throw new Error(`GET /records: ${response.status} ${await response.text()}`);
      const page = (await response.json()) as { records: unknown[]; next_cursor: string | null };
      read += page.records.length;
      pages++;
      cursor = page.next_cursor;
    } while (cursor);
  });
  if (read !== total) throw new Error(`read ${read} records, wrote ${total}`);
  console.log(`records.read    ${perSecond(read, ms)} rec/s  (GET /records, limit=${BATCH}, ${pages} pages over HTTP)`);
}

export async function run(): Promise<void> {
  const onPostgres = Boolean(process.env.DATABASE_URL);
  const total = Number(process.env.BENCH_RECORDS ?? (onPostgres ? 200_000 : 20_000));
  const bytes = Math.round(JSON.stringify(batchOf(0, 100)).length / 100);
  console.log(
    `records: ${total} records of ~${bytes} bytes in batches of ${BATCH} on ` +
      (onPostgres ? 'Postgres (DATABASE_URL)' : 'in-memory PGlite (smaller default count; BENCH_RECORDS to change, DATABASE_URL for Postgres)'),
  );

  const server = await startTestServer();
  try {
    await server.store.integrations.create(server.env.dev, { uniqueKey: 'github', provider: 'github' });
    const { connection } = await server.store.connections.upsert(server.env.dev, 'github', {
      connectionId: 'bench',
      credentials: { type: 'API_KEY', apiKey: 'bench' },
    });
    await benchUpsert(server.store, connection.id, total);
    await benchRead(server, total);
  } finally {
    await server.close();
  }
}
