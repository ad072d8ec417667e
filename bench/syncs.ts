import { DefaultLogger, Runtime } from '@temporalio/worker';
import { createLogger } from '../src/logger';
import { useUserProviders } from '../src/providers';
import { startOrchestration } from '../src/worker';
import { fullSyncWorkflowId, scheduleOffset } from '../src/workflows/types';
import { statementsSent } from '../src/store/db';
import { testStore } from '../test/helpers/db';
import { cpuMs } from './lib/cpu';
import { deployTick, quantile } from './lib/tick';

/**
 * Sync scheduling on the embedded engine, all in this process (API-less: engine + worker + orchestrator):
 * BENCH_SYNC_CONNECTIONS connections (default 1,000), each with one sync running every minute. Once every
 * connection has had its first run (all created at once: a burst), it measures BENCH_SYNC_SECONDS
 * (default 120) of steady state. The script saves one record without HTTP, so the figures are the
 * orchestration's own.
 *
 * - syncs.lag: delay between a run's scheduled slot and the start of its job, over the runs started in
 *   the measured window; target p99 <= 2 s.
 * - syncs.runs: runs finished per second in the measured window, against the nominal rate
 *   (connections / 60); and how long the first runs of all connections took.
 * - syncs.cost: CPU per run (this process and its script processes), statements sent and database
 *   transactions per run, over the measured window; target <= 25 ms of CPU per run.
 * - syncs.memory: RSS at the end.
 */
const CONNECTIONS = Number(process.env.BENCH_SYNC_CONNECTIONS ?? 1000);
const SECONDS = Number(process.env.BENCH_SYNC_SECONDS ?? 120);
const FREQUENCY_MS = 60_000;


export async function run(): Promise<void> {
  try {
    Runtime.install({ logger: new DefaultLogger('ERROR') });
  } catch {
    // already installed
  }
  useUserProviders({ bench: { display_name: 'Bench', auth_mode: 'API_KEY', proxy: { base_url: 'http://127.0.0.1:9' } } } as never);
  const store = await testStore();
  const logger = createLogger('silent');
  const orchestration = await startOrchestration({ store, logger, enginePort: 0 });
  try {
    await store.environments.ensureDefaults();
    const env = (await store.environments.byName('dev'))!;
    await store.integrations.create(env.id, { uniqueKey: 'bench', provider: 'bench' });
    await deployTick(store, env.id, 'every 1m');

    const started = Date.now();
    for (let i = 0; i < CONNECTIONS; i += 100) {
      await Promise.all(
        Array.from({ length: Math.min(100, CONNECTIONS - i) }, (_, j) =>
          store.connections.upsert(env.id, 'bench', { connectionId: `conn-${i + j}`, credentials: { type: 'API_KEY', apiKey: 'k' } }),
        ),
      );
    }
    // The lifecycle outbox starts every connection's workflow; wait until each has run once.
    for (;;) {
      const { rows } = await store.db.query<{ n: number }>(`SELECT count(DISTINCT sync_id)::int AS n FROM sync_jobs WHERE status = 'SUCCESS'`);
      if (rows[0]!.n >= CONNECTIONS || Date.now() - started > 10 * 60_000) break;
      await new Promise((r) => setTimeout(r, 250));
    }
    const firstRunsMs = Date.now() - started;
    const transactions = async () => {
      if (store.db.backend !== 'postgres') return NaN;
      const { rows } = await store.db.query<{ n: string }>(`SELECT xact_commit + xact_rollback AS n FROM pg_stat_database WHERE datname = current_database()`);
      return Number(rows[0]!.n);
    };
    const before = { cpu: cpuMs(), statements: statementsSent(), transactions: await transactions() };
    const windowStart = Date.now();
    await new Promise((r) => setTimeout(r, SECONDS * 1000));
    const windowEnd = Date.now();
    const after = { cpu: cpuMs(), statements: statementsSent(), transactions: await transactions() };

    const { rows } = await store.db.query<{ connection_id: string; started_at: Date; finished_at: Date | null; first: boolean }>(
      `SELECT c.connection_id, j.started_at, j.finished_at, j.id = min(j.id) OVER (PARTITION BY j.sync_id) AS first
       FROM sync_jobs j JOIN syncs s ON s.id = j.sync_id JOIN connections c ON c.id = s.connection_id`,
    );
    const lags: number[] = [];
    let finishedInWindow = 0;
    for (const row of rows) {
      const startedAt = new Date(row.started_at).getTime();
      const finishedAt = row.finished_at ? new Date(row.finished_at).getTime() : NaN;
      if (finishedAt >= windowStart && finishedAt <= windowEnd) finishedInWindow++;
      if (row.first || startedAt < windowStart || startedAt > windowEnd) continue;
      const id = fullSyncWorkflowId({ environment: env.name, integration: 'bench', connectionId: row.connection_id, sync: 'tick', variant: 'base' });
      const offset = scheduleOffset(id, FREQUENCY_MS);
      const slot = Math.floor((startedAt - offset) / FREQUENCY_MS) * FREQUENCY_MS + offset;
      lags.push(startedAt - slot);
    }
    lags.sort((a, b) => a - b);
    const windowS = (windowEnd - windowStart) / 1000;
    console.log(
      `syncs.lag       p50 ${quantile(lags, 0.5)} ms  p99 ${quantile(lags, 0.99)} ms  max ${lags[lags.length - 1] ?? NaN} ms  (${lags.length} scheduled runs, ${CONNECTIONS} connections every minute, target p99 <= 2000 ms)`,
    );
    console.log(
      `syncs.runs      ${(finishedInWindow / windowS).toFixed(1)} runs/s sustained over ${windowS.toFixed(0)} s  nominal ${(CONNECTIONS / 60).toFixed(1)} runs/s  (first run of all ${CONNECTIONS}: ${(firstRunsMs / 1000).toFixed(1)} s)`,
    );
    const perRun = (n: number) => (n / Math.max(1, finishedInWindow)).toFixed(1);
    console.log(
      `syncs.cost      ${perRun(after.cpu - before.cpu)} ms CPU/run (this process and its script processes; target <= 25)  ${perRun(after.statements - before.statements)} statements/run  ` +
        `${perRun(after.transactions - before.transactions)} transactions/run (the whole database, pg_stat_database; Postgres only)`,
    );
    console.log(`syncs.memory    rss ${Math.round(process.memoryUsage().rss / 1024 / 1024)} MB  (engine + worker + store, ${store.db.backend})`);
  } finally {
    await orchestration.close();
    useUserProviders({});
    await store.drop();
  }
}
