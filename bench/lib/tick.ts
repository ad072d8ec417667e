import { parseNangoYaml } from '../../src/config/nango-yaml';
import type { Store } from '../../src/store';

/** The CPU work a tick run may do before it saves: `iterations` turns of a loop of integer arithmetic. */
const WORK_LOOP = (iterations: number) => `let work = 0; for (let i = 0; i < ${iterations}; i++) work = (work * 31 + i) | 0;`;

/**
 * How many turns of the tick's work loop take a millisecond of CPU here, measured on this thread
 * (the script threads run the same V8). Work given as CPU, not as wall time: a script spinning on
 * the clock does less work the more scripts share the cores, so it never overloads them.
 */
export function workLoopTurnsPerMs(): number {
  const turns = 50_000_000;
  const loop = new Function(`${WORK_LOOP(turns)} return work;`) as () => number;
  loop(); // optimised before it is timed
  const before = process.cpuUsage();
  loop();
  const spent = process.cpuUsage(before);
  return Math.round(turns / ((spent.user + spent.system) / 1000));
}

/**
 * The trivial sync the benches run: `bench/tick` saves one record and makes no HTTP call (after
 * `workTurns` turns of a CPU loop, when asked: see workLoopTurnsPerMs). Deploys it in environment
 * `environmentId`, running `runs` (e.g. `every 1m`).
 */
export async function deployTick(store: Store, environmentId: number, runs: string, workTurns = 0): Promise<void> {
  const yaml = `integrations:
  bench:
    syncs:
      tick:
        runs: ${runs}
        output: Tick
        endpoint: GET /ticks
models:
  Tick:
    id: string
    at: string
`;
  const tick = `module.exports = async function fetchData(nango) {
  ${WORK_LOOP(workTurns)}
  await nango.batchSave([{ id: 'tick', at: new Date().toISOString() + ' ' + work }], 'Tick');
};`;
  await store.scripts.deploy(environmentId, yaml, parseNangoYaml(yaml, 'nango.yaml'), [{ integration: 'bench', type: 'sync', name: 'tick', js: tick }]);
}

/** The `q` quantile (0-1) of ascending `sorted`; NaN when empty. */
export const quantile = (sorted: number[], q: number): number => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? NaN;
