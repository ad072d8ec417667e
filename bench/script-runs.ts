import { performance } from 'node:perf_hooks';
import { PROVIDERS } from '../src/providers';
import { configureScriptThreads, runScript, scriptThreadsStarted, storeServices } from '../src/runtime';
import { testStore } from '../test/helpers/db';
import { cpuMs } from './lib/cpu';
import { quantile } from './lib/tick';

/**
 * What one script execution costs: BENCH_SCRIPT_RUNS (default 300) executions of a trivial action
 * (no HTTP, no records), one at a time and 8 at a time, with script threads reused (the default) and,
 * as the peer in this process, with a new thread per execution (SYNCLINE_REUSE_SCRIPT_THREADS=false).
 * CPU counts this process and its script processes (read from /proc), over the executions only.
 */
const RUNS = Number(process.env.BENCH_SCRIPT_RUNS ?? 300);
const CODE = `module.exports.default = async function runAction(nango, input) { return { echoed: input }; };`;
export async function run(): Promise<void> {
  const store = await testStore();
  try {
    await store.environments.ensureDefaults();
    const environmentId = (await store.environments.byName('dev'))!.id;
    const request = {
      kind: 'action' as const,
      code: CODE,
      scriptName: 'bench/echo.js',
      providerConfigKey: 'bench',
      connectionId: 'bench',
      environmentName: 'dev',
      provider: PROVIDERS.github!,
      services: storeServices(store, environmentId),
      logLevel: 'off' as const,
    };
    const once = async (n: number) => {
      const started = performance.now();
      const result = await runScript({ ...request, input: n });
      if (!result.success) throw result.error;
      return performance.now() - started;
    };
    /** RUNS executions, `parallel` at a time: wall time per execution (sorted), CPU ms per execution, executions/s. */
    const measure = async (parallel: number) => {
      const times: number[] = [];
      const cpuBefore = cpuMs();
      const threadsBefore = scriptThreadsStarted();
      const started = performance.now();
      for (let i = 0; i < RUNS; i += parallel) times.push(...(await Promise.all(Array.from({ length: Math.min(parallel, RUNS - i) }, (_, j) => once(i + j)))));
      const wallMs = performance.now() - started;
      return { times: times.sort((a, b) => a - b), cpu: (cpuMs() - cpuBefore) / RUNS, perSecond: (RUNS * 1000) / wallMs, threads: scriptThreadsStarted() - threadsBefore };
    };
    await once(0); // bundles the sandbox and starts the environment's script process
    for (const parallel of [1, 8]) {
      configureScriptThreads({ reuse: false });
      const fresh = await measure(parallel);
      configureScriptThreads({ reuse: true });
      const reused = await measure(parallel);
      const line = (name: string, m: typeof fresh) =>
        `${name} ${m.cpu.toFixed(1)} ms CPU/execution  p50 ${quantile(m.times, 0.5).toFixed(1)} ms  p99 ${quantile(m.times, 0.99).toFixed(1)} ms  ${m.perSecond.toFixed(0)} executions/s  ${m.threads} threads started`;
      console.log(`script-runs.${parallel === 1 ? 'serial ' : 'x8     '} ${line('reused threads:', reused)}`);
      console.log(`                    ${line('new thread each:', fresh)}`);
      console.log(`                    ratio reused/new: CPU ${(reused.cpu / fresh.cpu).toFixed(2)}  p50 ${(quantile(reused.times, 0.5) / quantile(fresh.times, 0.5)).toFixed(2)}  (${RUNS} executions of a trivial action)`);
    }
  } finally {
    configureScriptThreads({ reuse: true });
    await store.drop();
  }
}
