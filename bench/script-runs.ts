import { performance } from 'node:perf_hooks';
import { PROVIDERS } from '../src/providers';
import { configureScriptThreads, runScript, scriptThreadsStarted, storeServices } from '../src/runtime';
import { testStore } from '../test/helpers/db';
import { cpuMs } from './lib/cpu';
import { quantile } from './lib/tick';

/**
 * What one script execution costs: BENCH_SCRIPT_RUNS (default 300) executions of a trivial action
 * (no HTTP, no records), one at a time and 8 at a time, with script threads reused (the default) and,
 * as the peer in this process, with a new thread per execution (SYNCLINE_REUSE_SCRIPT_THREADS=false);
 * then the same action in a 300 KB script, one at a time on reused threads, against the trivial one.
 * CPU counts this process and its script processes (read from /proc), over the executions only.
 */
const RUNS = Number(process.env.BENCH_SCRIPT_RUNS ?? 300);
const CODE = `module.exports.default = async function runAction(nango, input) { return { echoed: input }; };`;
/** A script the size of a large bundled one (about 300 KB): what compiling and carrying its code add to an execution. */
const LARGE_CODE = `${Array.from({ length: 3000 }, (_, i) => `function helper${i}(a, b) { const c = a * ${i} + b; if (c > 10) return [c, a, b].map((x) => x + 1); return { a, b, c }; }`).join('\n')}
module.exports.default = async function runAction(nango, input) { return { echoed: input, helped: helper7(1, 2) }; };`;
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
    let code = CODE;
    const once = async (n: number) => {
      const started = performance.now();
      const result = await runScript({ ...request, code, input: n });
      if (!result.success) throw result.error;
      return performance.now() - started;
    };
    /** RUNS executions, `parallel` at a time: wall time per execution (sorted), CPU ms per execution, executions/s. */
    const measure = async (parallel: number, runs = RUNS) => {
      const times: number[] = [];
      const cpuBefore = cpuMs();
      const threadsBefore = scriptThreadsStarted();
      const started = performance.now();
      for (let i = 0; i < runs; i += parallel) times.push(...(await Promise.all(Array.from({ length: Math.min(parallel, runs - i) }, (_, j) => once(i + j)))));
      const wallMs = performance.now() - started;
      return { times: times.sort((a, b) => a - b), cpu: (cpuMs() - cpuBefore) / runs, perSecond: (runs * 1000) / wallMs, threads: scriptThreadsStarted() - threadsBefore };
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
    const trivial = await measure(1);
    code = LARGE_CODE;
    await once(0); // its first execution compiles it on the thread
    const large = await measure(1);
    console.log(
      `script-runs.large   ${large.cpu.toFixed(1)} ms CPU/execution  p50 ${quantile(large.times, 0.5).toFixed(1)} ms  (${Math.round(LARGE_CODE.length / 1024)} KB script, one at a time)  ` +
        `trivial script now: ${trivial.cpu.toFixed(1)} ms  ratio ${(large.cpu / trivial.cpu).toFixed(2)}`,
    );
  } finally {
    configureScriptThreads({ reuse: true });
    await store.drop();
  }
}
