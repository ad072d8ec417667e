import { DEFAULT_RUN_LIMITS } from '../../src/activities/slots';
import { createLogger } from '../../src/logger';
import { useUserProviders } from '../../src/providers';
import { scriptThreadsStarted } from '../../src/runtime';
import { DEFAULT_POOL_SIZE, statementsSent } from '../../src/store/db';
import { installSdkRuntime, startOrchestration } from '../../src/worker';
import { fullSyncWorkflowId, nextSlot, scheduleOffset } from '../../src/workflows/types';
import { testStore } from '../../test/helpers/db';
import { cpuMs, postgresCpuMs, processCpuMs } from './cpu';
import { deployTick, quantile, workLoopTurnsPerMs } from './tick';

const FREQUENCY_MS = 60_000;
/** At most how long after its job row a run's end reaches its workflow. */
const CLOCK_SLACK_MS = 2_000;

export interface SyncLoad {
  /** Connections, each with the tick sync every minute. */
  connections: number;
  /** Length of the measured window, once every connection had its first run. */
  seconds: number;
  /** CPU milliseconds each run spends in its script before saving (0: the trivial run). */
  workMs?: number;
  /** Parts of the window measured on their own too (to see a trend). */
  parts?: number;
  /** A Temporal server to run against instead of the embedded engine; its CPU is counted apart (perRun.serverCpuMs). */
  temporal?: { address: string; pid: number };
}

export interface SyncFigures {
  /** Lags of the runs started in the window, ascending (ms from their slot to their start). */
  lags: number[];
  /** Runs finished per second in the window. */
  runsPerSecond: number;
  /** The same, and the median lag, per part of the window. */
  parts: Array<{ runsPerSecond: number; lagP50: number }>;
  /** How long until every connection had had its first run. */
  firstRunsMs: number;
  /**
   * Per run finished in the window: CPU ms (this process and its script processes), statements,
   * database transactions, the CPU ms of the Postgres processes on this machine (NaN on PGlite) and
   * of the Temporal server (NaN on the embedded engine, which runs in this process).
   */
  perRun: { cpuMs: number; statements: number; transactions: number; postgresCpuMs: number; serverCpuMs: number };
  /** Script threads started in the window: each costs about as much CPU as 15 runs. */
  threadsStarted: number;
  rssMb: number;
  backend: string;
}

/**
 * Sync scheduling on the embedded engine, all in this process (engine + worker + orchestrator, no
 * API): `load.connections` connections, each with one sync every minute, created at once (a burst).
 * Once every connection has had its first run, measures `load.seconds` of what follows.
 */
export async function measureSyncs(load: SyncLoad): Promise<SyncFigures> {
  // The product's runtime (its thread count), before anything else installs the SDK's default one.
  installSdkRuntime(createLogger('silent'));
  useUserProviders({ bench: { display_name: 'Bench', auth_mode: 'API_KEY', proxy: { base_url: 'http://127.0.0.1:9' } } } as never);
  // The product's pool, not the tests' smaller one: the figures are what a server gets.
  const store = await testStore(undefined, DEFAULT_POOL_SIZE);
  const perEnvironment = Number(process.env.BENCH_RUNS_PER_ENVIRONMENT ?? DEFAULT_RUN_LIMITS.perEnvironment);
  const orchestration = await startOrchestration({
    store,
    logger: createLogger('silent'),
    ...(load.temporal ? { temporalAddress: load.temporal.address } : { enginePort: 0 }),
    runLimits: { ...DEFAULT_RUN_LIMITS, perEnvironment },
  });
  try {
    await store.environments.ensureDefaults();
    const env = (await store.environments.byName('dev'))!;
    await store.integrations.create(env.id, { uniqueKey: 'bench', provider: 'bench' });
    await deployTick(store, env.id, 'every 1m', load.workMs ? Math.round(load.workMs * workLoopTurnsPerMs()) : 0);

    const started = Date.now();
    for (let i = 0; i < load.connections; i += 100) {
      await Promise.all(
        Array.from({ length: Math.min(100, load.connections - i) }, (_, j) =>
          store.connections.upsert(env.id, 'bench', { connectionId: `conn-${i + j}`, credentials: { type: 'API_KEY', apiKey: 'k' } }),
        ),
      );
    }
    // The lifecycle outbox starts every connection's workflow; wait until each has run once.
    for (;;) {
      const { rows } = await store.db.query<{ n: number }>(`SELECT count(DISTINCT sync_id)::int AS n FROM sync_jobs WHERE status = 'SUCCESS'`);
      if (rows[0]!.n >= load.connections || Date.now() - started > 10 * 60_000) break;
      await new Promise((r) => setTimeout(r, 250));
    }
    const firstRunsMs = Date.now() - started;
    const transactions = async () => {
      if (store.db.backend !== 'postgres') return NaN;
      const { rows } = await store.db.query<{ n: string }>(`SELECT xact_commit + xact_rollback AS n FROM pg_stat_database WHERE datname = current_database()`);
      return Number(rows[0]!.n);
    };
    const postgresCpu = () => (store.db.backend === 'postgres' ? postgresCpuMs() : NaN);
    // The Temporal server is a child of this process: its CPU is its own figure, not ours.
    const server = load.temporal;
    const serverCpu = () => (server ? processCpuMs(server.pid) : NaN);
    const ourCpu = () => cpuMs() - (server ? processCpuMs(server.pid) : 0);
    const before = { cpu: ourCpu(), statements: statementsSent(), transactions: await transactions(), postgresCpu: postgresCpu(), serverCpu: serverCpu(), threads: scriptThreadsStarted() };
    const windowStart = Date.now();
    await new Promise((r) => setTimeout(r, load.seconds * 1000));
    const windowEnd = Date.now();
    const after = { cpu: ourCpu(), statements: statementsSent(), transactions: await transactions(), postgresCpu: postgresCpu(), serverCpu: serverCpu(), threads: scriptThreadsStarted() };

    // Each run after a connection's first is due at the first slot after its previous run finished.
    const { rows } = await store.db.query<{ connection_id: string; started_at: Date; finished_at: Date | null; previous_finished_at: Date | null }>(
      `SELECT c.connection_id, j.started_at, j.finished_at, lag(j.finished_at) OVER (PARTITION BY j.sync_id ORDER BY j.id) AS previous_finished_at
       FROM sync_jobs j JOIN syncs s ON s.id = j.sync_id JOIN connections c ON c.id = s.connection_id`,
    );
    const partMs = (windowEnd - windowStart) / (load.parts ?? 1);
    const part = (at: number) => Math.floor((at - windowStart) / partMs);
    const finished = Array.from({ length: load.parts ?? 1 }, () => 0);
    const partLags = Array.from({ length: load.parts ?? 1 }, (): number[] => []);
    const lags: number[] = [];
    for (const row of rows) {
      const startedAt = new Date(row.started_at).getTime();
      const finishedAt = row.finished_at ? new Date(row.finished_at).getTime() : NaN;
      if (finishedAt >= windowStart && finishedAt < windowEnd) finished[part(finishedAt)]!++;
      if (!row.previous_finished_at || startedAt < windowStart || startedAt >= windowEnd) continue;
      const id = fullSyncWorkflowId({ environment: env.name, integration: 'bench', connectionId: row.connection_id, sync: 'tick', variant: 'base' });
      const previousEnd = new Date(row.previous_finished_at).getTime();
      let slot = nextSlot(previousEnd, FREQUENCY_MS, scheduleOffset(id, FREQUENCY_MS));
      // The workflow read the clock a moment after the job row was written: a slot starting in between was already behind it.
      if (slot - previousEnd < CLOCK_SLACK_MS && startedAt >= slot + FREQUENCY_MS) slot += FREQUENCY_MS;
      lags.push(startedAt - slot);
      partLags[part(startedAt)]!.push(startedAt - slot);
    }
    const ascending = (values: number[]) => values.sort((a, b) => a - b);
    const runs = finished.reduce((a, b) => a + b, 0);
    const perRun = (n: number) => n / Math.max(1, runs);
    return {
      lags: ascending(lags),
      runsPerSecond: runs / ((windowEnd - windowStart) / 1000),
      parts: finished.map((n, i) => ({ runsPerSecond: n / (partMs / 1000), lagP50: quantile(ascending(partLags[i]!), 0.5) })),
      firstRunsMs,
      perRun: {
        cpuMs: perRun(after.cpu - before.cpu),
        statements: perRun(after.statements - before.statements),
        transactions: perRun(after.transactions - before.transactions),
        postgresCpuMs: perRun(after.postgresCpu - before.postgresCpu),
        serverCpuMs: perRun(after.serverCpu - before.serverCpu),
      },
      threadsStarted: after.threads - before.threads,
      rssMb: Math.round(process.memoryUsage().rss / 1024 / 1024),
      backend: store.db.backend,
    };
  } finally {
    await orchestration.close();
    useUserProviders({});
    await store.drop();
  }
}
