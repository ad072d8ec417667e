import { measureSyncs } from './lib/syncs';

/**
 * Sync runs asked for faster than the machine can run them (issue #15: overload degrades
 * gracefully). BENCH_OVERLOAD_CONNECTIONS connections (default 900), each with a sync every
 * minute whose script does BENCH_OVERLOAD_WORK_MS of CPU work (default 200, as loop turns measured
 * on this machine) before saving one record: about twice what two cores run. Once every connection
 * has had its first run, BENCH_OVERLOAD_SECONDS (default 120) are measured in four parts.
 *
 * - overload.runs: runs finished per second in each part, against the nominal rate. Graceful: it
 *   stays at what the machine sustains; thrashing would show as a falling rate.
 * - overload.lag: median lag of the runs started in each part. A sync runs once per slot, late
 *   when it must, so the lag grows until every sync waits its turn, then holds.
 */
const CONNECTIONS = Number(process.env.BENCH_OVERLOAD_CONNECTIONS ?? 900);
const WORK_MS = Number(process.env.BENCH_OVERLOAD_WORK_MS ?? 200);
const SECONDS = Number(process.env.BENCH_OVERLOAD_SECONDS ?? 120);

export async function run(): Promise<void> {
  const f = await measureSyncs({ connections: CONNECTIONS, seconds: SECONDS, workMs: WORK_MS, parts: 4 });
  const nominal = CONNECTIONS / 60;
  const parts = (values: number[], digits: number) => values.map((v) => v.toFixed(digits)).join(' / ');
  console.log(
    `overload.runs   ${parts(f.parts.map((p) => p.runsPerSecond), 1)} runs/s in each ${SECONDS / 4} s  nominal ${nominal.toFixed(1)} runs/s (${(nominal / f.runsPerSecond).toFixed(2)}x what ran)  ` +
      `(${CONNECTIONS} connections every minute, ${WORK_MS} ms of script CPU each; first run of all: ${(f.firstRunsMs / 1000).toFixed(1)} s)`,
  );
  console.log(`overload.lag    p50 ${parts(f.parts.map((p) => p.lagP50 / 1000), 1)} s in each part  ${f.perRun.cpuMs.toFixed(1)} ms CPU/run  rss ${f.rssMb} MB  (${f.backend})`);
}
