import { startTemporalDevServer, temporalCli } from '../test/helpers/temporal';
import { loopbackRoundTripCpuUs } from './lib/cpu';
import { measureSyncs } from './lib/syncs';
import { quantile } from './lib/tick';

/**
 * Sync scheduling on the embedded engine (bench/lib/syncs.ts): BENCH_SYNC_CONNECTIONS connections
 * (default 1,000), each with one sync running every minute. Once every connection has had its first
 * run (all created at once: a burst), it measures BENCH_SYNC_SECONDS (default 120) of steady state.
 * The script saves one record without HTTP, so the figures are the orchestration's own.
 *
 * - syncs.lag: delay between a run's scheduled slot and the start of its job, over the runs started in
 *   the measured window; target p99 <= 2 s.
 * - syncs.runs: runs finished per second in the measured window, against the nominal rate
 *   (connections / 60); how long the first runs of all connections took; and the script threads started
 *   in the window (a start costs about as much CPU as 15 runs).
 * - syncs.cost: CPU per run (this process and its script processes), statements sent and database
 *   transactions per run, over the measured window; target <= 25 ms of CPU per run. And the CPU per
 *   run of Postgres, when it runs on this machine: it shares the cores.
 * - syncs.memory: RSS at the end.
 * - syncs.machine: a reference taken before and after, in this process while idle: the CPU one loopback
 *   round trip costs (see loopbackRoundTripCpuUs).
 * - syncs.peer: the same load with the real Temporal server (`temporal server start-dev`, in memory)
 *   in place of the embedded engine, when the Temporal CLI is installed (BENCH_SYNC_TEMPORAL=0 leaves
 *   it out): its lag, the CPU per run of this process (the same worker, store and scripts) and of the
 *   server, and the ratio of the embedded engine's whole CPU per run to theirs together.
 *
 * Every connection is in one environment: BENCH_RUNS_PER_ENVIRONMENT sets its cap on runs at once
 * (default 50, as SYNCLINE_MAX_RUNS_PER_ENVIRONMENT).
 */
const CONNECTIONS = Number(process.env.BENCH_SYNC_CONNECTIONS ?? 1000);
const SECONDS = Number(process.env.BENCH_SYNC_SECONDS ?? 120);

export async function run(): Promise<void> {
  const referenceBefore = await loopbackRoundTripCpuUs();
  const f = await measureSyncs({ connections: CONNECTIONS, seconds: SECONDS });
  const referenceAfter = await loopbackRoundTripCpuUs();
  const { lags } = f;
  console.log(
    `syncs.lag       p50 ${quantile(lags, 0.5)} ms  p99 ${quantile(lags, 0.99)} ms  max ${lags[lags.length - 1] ?? NaN} ms  (${lags.length} scheduled runs, ${CONNECTIONS} connections every minute, target p99 <= 2000 ms)`,
  );
  console.log(
    `syncs.runs      ${f.runsPerSecond.toFixed(1)} runs/s sustained over ${SECONDS} s  nominal ${(CONNECTIONS / 60).toFixed(1)} runs/s  (first run of all ${CONNECTIONS}: ${(f.firstRunsMs / 1000).toFixed(1)} s)  ${f.threadsStarted} script threads started in the window`,
  );
  console.log(
    `syncs.cost      ${f.perRun.cpuMs.toFixed(1)} ms CPU/run (this process and its script processes; target <= 25)  ${f.perRun.statements.toFixed(1)} statements/run  ` +
      `${f.perRun.transactions.toFixed(1)} transactions/run (the whole database, pg_stat_database; Postgres only)  ` +
      `Postgres ${f.perRun.postgresCpuMs.toFixed(1)} ms CPU/run (its processes on this machine, when it runs here)`,
  );
  console.log(`syncs.memory    rss ${f.rssMb} MB  (engine + worker + store, ${f.backend})`);
  console.log(
    `syncs.machine   ${referenceBefore.toFixed(1)} / ${referenceAfter.toFixed(1)} us CPU per loopback TCP round trip, before / after  ` +
      `(the price of system calls and wake-ups here now: CPU/run figures of different hours compare next to it)`,
  );
  if (process.env.BENCH_SYNC_TEMPORAL === '0' || !temporalCli()) return;
  const server = await startTemporalDevServer();
  try {
    const peer = await measureSyncs({ connections: CONNECTIONS, seconds: SECONDS, temporal: server });
    const theirs = peer.perRun.cpuMs + peer.perRun.serverCpuMs;
    console.log(
      `syncs.peer      real Temporal server (start-dev, in memory): p50 ${quantile(peer.lags, 0.5)} ms  p99 ${quantile(peer.lags, 0.99)} ms  ${peer.runsPerSecond.toFixed(1)} runs/s  ` +
        `CPU/run ${peer.perRun.cpuMs.toFixed(1)} ms this process + ${peer.perRun.serverCpuMs.toFixed(1)} ms server = ${theirs.toFixed(1)} ms  ` +
        `(embedded: ${f.perRun.cpuMs.toFixed(1)} ms, ratio ${(f.perRun.cpuMs / theirs).toFixed(2)})  ${peer.perRun.statements.toFixed(1)} statements/run  rss ${peer.rssMb} MB`,
    );
  } finally {
    await server.close();
  }
}
