import { randomBytes } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import type { ModelDefinition } from '../src/config/nango-yaml';
import { PROVIDERS } from '../src/providers';
import { runScript, storeServices } from '../src/runtime';
import { openStore, type Store } from '../src/store';
import { openDb } from '../src/store/db';
import { issue, rawUpsert } from './records';

/**
 * Records through the script runtime: a sync script in the sandbox `batchSave`s records of ~500
 * bytes in pages of 100; the helper checks each against its model and writes them to the store in
 * set-based batches. Two baselines write the same records in batches of 1,000, in the same
 * process, each on a fresh database of its own: the raw set-based upsert of bench/records.ts (the
 * target: ratio >= 0.7), and `RecordStore.upsert` directly (what the runtime alone costs: sandbox,
 * message passing, validation, buffering).
 */
const PAGE = 100;
const BATCH = 1000;
const MODEL = 'BenchIssue';

// bench/records.ts's `issue`, as source the script runs inside the sandbox.
const RECORD_JS = `
const FILLER = 'Lorem ipsum dolor sit amet, consectetur adipiscing elit, sed do eiusmod tempor incididunt ut labore. '.repeat(4);
function issue(n) {
  return {
    id: 'issue-' + n,
    number: n,
    title: 'Issue ' + n + ': something does not work as expected',
    state: n % 3 === 0 ? 'closed' : 'open',
    author: { login: 'user' + (n % 997), id: 100000 + (n % 997) },
    labels: ['bug', 'p' + (n % 4)],
    body: FILLER.slice(n % 50, (n % 50) + 285),
    created_at: new Date(Date.UTC(2024, 0, 1) + n * 1000).toISOString(),
  };
}`;

const SCRIPT = `${RECORD_JS}
module.exports.default = async function fetchData(nango) {
  const total = Number((await nango.getMetadata()).total);
  for (let from = 0; from < total; from += ${PAGE}) {
    const page = [];
    for (let n = from; n < Math.min(from + ${PAGE}, total); n++) page.push(issue(n));
    await nango.batchSave(page, '${MODEL}');
  }
};`;

const str = { kind: 'primitive', name: 'string' } as const;
const num = { kind: 'primitive', name: 'number' } as const;
const MODEL_DEFINITION: ModelDefinition = {
  name: MODEL,
  fields: [
    { name: 'id', type: str, optional: false },
    { name: 'number', type: num, optional: false },
    { name: 'title', type: str, optional: false },
    { name: 'state', type: { kind: 'union', of: [{ kind: 'literal', value: 'open' }, { kind: 'literal', value: 'closed' }] }, optional: false },
    { name: 'author', type: { kind: 'object', fields: [{ name: 'login', type: str, optional: false }, { name: 'id', type: num, optional: false }] }, optional: false },
    { name: 'labels', type: { kind: 'array', of: str }, optional: false },
    { name: 'body', type: str, optional: true },
    { name: 'created_at', type: { kind: 'primitive', name: 'Date' }, optional: false },
  ],
};

/** A fresh migrated database with one connection; `close()` drops it. */
async function freshStore(): Promise<{ store: Store; environmentId: number; connection: number; close(): Promise<void> }> {
  const url = process.env.DATABASE_URL;
  const schema = `bench_${randomBytes(6).toString('hex')}`;
  const db = await openDb(url ? { url, schema, maxConnections: 5 } : {});
  const store = await openStore(db, randomBytes(32));
  await store.environments.ensureDefaults();
  const environmentId = (await store.environments.byName('dev'))!.id;
  await store.integrations.create(environmentId, { uniqueKey: 'github', provider: 'github' });
  const { connection } = await store.connections.upsert(environmentId, 'github', { connectionId: 'bench', credentials: { type: 'API_KEY', apiKey: 'bench' } });
  return {
    store,
    environmentId,
    connection: connection.id,
    async close() {
      if (url) await db.query(`DROP SCHEMA ${schema} CASCADE`);
      await db.close();
    },
  };
}

/** Writes `total` records in batches of 1,000 with `upsert` on a fresh database; the time taken. */
async function baseline(total: number, upserter: (store: Store, connection: number) => Promise<(batch: Array<Record<string, unknown>>) => Promise<unknown>>): Promise<number> {
  const { store, connection, close } = await freshStore();
  try {
    const upsert = await upserter(store, connection);
    const start = performance.now();
    for (let from = 0; from < total; from += BATCH) {
      await upsert(Array.from({ length: Math.min(BATCH, total - from) }, (_, i) => issue(from + i)));
    }
    return performance.now() - start;
  } finally {
    await close();
  }
}

async function throughRuntime(total: number): Promise<number> {
  const { store, environmentId, connection, close } = await freshStore();
  try {
    await store.connections.setMetadata(environmentId, 'github', ['bench'], { total }, 'replace');
    const start = performance.now();
    const result = await runScript({
      kind: 'sync',
      code: SCRIPT,
      scriptName: 'bench/sync.js',
      providerConfigKey: 'github',
      connectionId: 'bench',
      provider: PROVIDERS.github!,
      services: storeServices(store, environmentId),
      sync: { name: 'bench', models: [MODEL_DEFINITION], validation: 'fail' },
      limits: { timeoutMs: 30 * 60_000 },
    });
    const ms = performance.now() - start;
    if (!result.success) throw result.error;
    if (result.counts[MODEL]?.added !== total) throw new Error(`saved ${JSON.stringify(result.counts)}, expected ${total} added`);
    const stored = (await store.records.countByModel(connection))[MODEL];
    if (stored !== total) throw new Error(`the store holds ${stored} records, expected ${total}`);
    return ms;
  } finally {
    await close();
  }
}

const perSecond = (count: number, ms: number) => Math.round((count * 1000) / ms);

export async function run(): Promise<void> {
  const total = Number(process.env.BENCH_RECORDS ?? 200_000);
  const bytes = Math.round(JSON.stringify(issue(12345)).length);
  console.log(
    `runtime: ${total} records of ~${bytes} bytes, batchSave pages of ${PAGE} from a sandboxed sync, on ` +
      (process.env.DATABASE_URL ? 'Postgres (DATABASE_URL)' : 'in-memory PGlite (DATABASE_URL for Postgres)'),
  );
  const raw = await baseline(total, rawUpsert);
  const direct = await baseline(total, async (store, connection) => (batch) => store.records.upsert(connection, MODEL, batch));
  const runtime = await throughRuntime(total);
  const rate = (ms: number) => perSecond(total, ms);
  console.log(
    `runtime.batchSave  ${rate(runtime)} rec/s  raw upsert ${rate(raw)} rec/s  ratio ${(raw / runtime).toFixed(2)}  ` +
      `(RecordStore.upsert ${rate(direct)} rec/s, ratio ${(direct / runtime).toFixed(2)})`,
  );
}
