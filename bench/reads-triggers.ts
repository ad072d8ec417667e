import { randomBytes } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import type { Server } from 'node:http';
import { monitorEventLoopDelay, performance } from 'node:perf_hooks';
import { Worker } from 'node:worker_threads';
import { createApp } from '../src/api/app';
import { createLogger } from '../src/logger';
import { useUserProviders } from '../src/providers';
import { openDb, openStore } from '../src/store';
import { installSdkRuntime, startOrchestration } from '../src/worker';
import { issue } from './records';
import { deployTick, quantile } from './lib/tick';

/**
 * `POST /sync/trigger` while clients read records (issue #14, item 5): the whole server in this
 * process as `syncline start` builds it (default pool size, embedded engine, worker, API on loopback).
 *
 * - reads+triggers.alone: BENCH_TRIGGERS (default 50) clients triggering a sync of their own
 *   connection in a loop for BENCH_SECONDS (default 10): latency of the trigger answer.
 * - reads+triggers.light: the same triggers while BENCH_READERS (default 200) clients loop on
 *   `GET /records` (default page, 100 records): trigger latency against the alone figure, reads/s.
 * - reads+triggers.heavy: the same while BENCH_HEAVY_READERS (default 100) clients loop on
 *   `GET /records?limit=10000` (about 5 MB each).
 * Each phase starts from idle: it waits until the runs its triggers started are over. Each line also
 * says how late timers fired (event loop) and how long a `SELECT 1` waited for the pool meanwhile.
 * BENCH_READS_AT_ONCE overrides how many record pages the API reads at once (default
 * RECORD_READS_AT_ONCE; 1000 = unbounded, as before the bound) to compare the two.
 *
 * Clients run in worker threads, as they would be other processes, so that consuming 5 MB answers
 * does not delay the trigger clients' own event loop (in the server's thread, that client-side wait
 * was most of what a trigger seemed to take).
 */
const TRIGGERS = Number(process.env.BENCH_TRIGGERS ?? 50);
const READERS = Number(process.env.BENCH_READERS ?? 200);
const HEAVY_READERS = Number(process.env.BENCH_HEAVY_READERS ?? 100);
const SECONDS = Number(process.env.BENCH_SECONDS ?? 10);
const RECORDS = 10_000;


interface Figures {
  p50: number;
  p99: number;
  max: number;
  count: number;
  errors: number;
}

function figures(latencies: number[], errors: number): Figures {
  const sorted = latencies.slice().sort((a, b) => a - b);
  const round = (n: number) => Math.round(n);
  return { p50: round(quantile(sorted, 0.5)), p99: round(quantile(sorted, 0.99)), max: round(sorted[sorted.length - 1] ?? NaN), count: sorted.length, errors };
}

/**
 * A load generator in a worker thread, so the server's event loop does only the server's work:
 * `clients` loops of one request kind for `seconds`; posts back the latencies of the 2xx answers
 * and the count of the others.
 */
const CLIENT = `
const { performance } = require('node:perf_hooks');
const { parentPort, workerData: w } = require('node:worker_threads');
const request = w.kind === 'trigger'
  ? (client) => fetch(w.base + '/sync/trigger', { method: 'POST', headers: w.headers, body: JSON.stringify({ provider_config_key: 'bench', connection_id: 'conn-' + client, syncs: ['tick'] }) })
  : () => fetch(w.base + '/records?model=Item' + (w.limit ? '&limit=' + w.limit : ''), { headers: { ...w.headers, 'connection-id': 'reader', 'provider-config-key': 'bench' } });
const latencies = [];
let errors = 0;
const until = performance.now() + w.seconds * 1000;
Promise.all(Array.from({ length: w.clients }, async (_, client) => {
  while (performance.now() < until) {
    const start = performance.now();
    const res = await request(client).catch(() => undefined);
    await (res && res.arrayBuffer());
    if (res && res.ok) latencies.push(performance.now() - start);
    else errors++;
  }
})).then(() => parentPort.postMessage({ latencies, errors }));
`;

interface Load {
  base: string;
  headers: Record<string, string>;
  kind: 'trigger' | 'read';
  clients: number;
  seconds: number;
  limit?: number;
}

function load(options: Load): Promise<Figures> {
  if (options.clients === 0) return Promise.resolve(figures([], 0));
  return new Promise((resolve, reject) => {
    const worker = new Worker(CLIENT, { eval: true, workerData: options });
    worker.once('message', (m: { latencies: number[]; errors: number }) => {
      resolve(figures(m.latencies, m.errors));
      void worker.terminate();
    });
    worker.once('error', reject);
  });
}

export async function run(): Promise<void> {
  // The product's runtime (its thread count), before anything else installs the SDK's default one.
  installSdkRuntime(createLogger('silent'));
  useUserProviders({ bench: { display_name: 'Bench', auth_mode: 'API_KEY', proxy: { base_url: 'http://127.0.0.1:9' } } } as never);
  const url = process.env.DATABASE_URL;
  const schema = `b_${randomBytes(6).toString('hex')}`;
  // As the server opens it: the default pool size.
  const db = await openDb(url ? { url, schema } : {});
  const store = await openStore(db, randomBytes(32));
  const logger = createLogger('silent');
  const orchestration = await startOrchestration({ store, logger, enginePort: 0 });
  const readsAtOnce = process.env.BENCH_READS_AT_ONCE ? Number(process.env.BENCH_READS_AT_ONCE) : undefined;
  const app = createApp({ store, logger, orchestrator: orchestration.orchestrator, recordReadsAtOnce: readsAtOnce });
  const server = await new Promise<Server>((resolve) => {
    const s = app.listen(0, '127.0.0.1', () => resolve(s));
  });
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  try {
    const created = await store.environments.ensureDefaults();
    const env = (await store.environments.byName('dev'))!;
    const headers = { authorization: `Bearer ${created.find((c) => c.name === 'dev')!.secretKey}`, 'content-type': 'application/json' };
    await store.integrations.create(env.id, { uniqueKey: 'bench', provider: 'bench' });
    await deployTick(store, env.id, 'every 1h');
    for (let i = 0; i < TRIGGERS; i++) await store.connections.upsert(env.id, 'bench', { connectionId: `conn-${i}`, credentials: { type: 'API_KEY', apiKey: 'k' } });
    await store.connections.upsert(env.id, 'bench', { connectionId: 'reader', credentials: { type: 'API_KEY', apiKey: 'k' } });
    const reader = await store.connections.get(env.id, 'bench', 'reader');
    for (let i = 0; i < RECORDS; i += 1000) await store.records.upsert(reader.id, 'Item', Array.from({ length: 1000 }, (_, j) => issue(i + j)));

    const clients = (kind: Load['kind'], count: number, seconds: number, limit?: number) => load({ base, headers, kind, clients: count, seconds, limit });
    const idle = async () => {
      for (let waited = 0; waited < 120_000; waited += 250) {
        const { rows } = await db.query<{ n: number }>(`SELECT count(*)::int AS n FROM sync_jobs WHERE status = 'RUNNING'`);
        if (rows[0]!.n === 0) return;
        await new Promise((r) => setTimeout(r, 250));
      }
    };
    /**
     * Triggers for SECONDS, with `readers` clients reading meanwhile; also how late timers fire
     * (event loop) and how long a `SELECT 1` through the pool takes, sampled every 100 ms.
     */
    const phase = async (readers: number, limit?: number) => {
      await idle();
      const until = performance.now() + SECONDS * 1000;
      const loopDelay = monitorEventLoopDelay({ resolution: 10 });
      loopDelay.enable();
      const probes: number[] = [];
      const probe = async () => {
        while (performance.now() < until) {
          const start = performance.now();
          await db.query('SELECT 1');
          probes.push(performance.now() - start);
          await new Promise((r) => setTimeout(r, 100));
        }
      };
      const [triggers, reads] = await Promise.all([clients('trigger', TRIGGERS, SECONDS), clients('read', readers, SECONDS, limit), probe()]);
      loopDelay.disable();
      const pool = figures(probes, 0);
      return { triggers, reads, why: `event loop delay p99 ${Math.round(loopDelay.percentile(99) / 1e6)} ms, SELECT 1 through the pool p50 ${pool.p50} ms p99 ${pool.p99} ms` };
    };
    // Warm-up: every connection's workflow exists before the first measured trigger.
    await clients('trigger', TRIGGERS, SECONDS / 2);

    const { triggers: alone, why } = await phase(0);
    const describe = (f: Figures) => `p50 ${f.p50} ms  p99 ${f.p99} ms  max ${f.max} ms  (${f.count} triggers, ${f.errors} errors)`;
    console.log(`reads+triggers.alone   trigger ${describe(alone)}  (${TRIGGERS} clients, ${SECONDS} s, ${db.backend}; ${why})`);
    for (const [name, readers, limit] of [['light', READERS, undefined], ['heavy', HEAVY_READERS, 10_000]] as const) {
      const { triggers, reads, why } = await phase(readers, limit);
      console.log(
        `reads+triggers.${name}   trigger ${describe(triggers)}  = ${(triggers.p50 / alone.p50).toFixed(1)}x / ${(triggers.p99 / alone.p99).toFixed(1)}x alone p50/p99;` +
          `  reads p50 ${reads.p50} ms p99 ${reads.p99} ms, ${(reads.count / SECONDS).toFixed(0)}/s (${readers} clients, limit ${limit ?? 100}, ${reads.errors} errors; ${why})`,
      );
    }
  } finally {
    server.closeAllConnections();
    server.close();
    await orchestration.close();
    useUserProviders({});
    if (url) await db.query(`DROP SCHEMA ${schema} CASCADE`);
    await db.close();
  }
}
