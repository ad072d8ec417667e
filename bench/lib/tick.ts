import { parseNangoYaml } from '../../src/config/nango-yaml';
import type { Store } from '../../src/store';

/**
 * The trivial sync the benches run: `bench/tick` saves one record and makes no HTTP call (after
 * spinning `workMs` of CPU, when asked). Deploys it in environment `environmentId`, running `runs`
 * (e.g. `every 1m`).
 */
export async function deployTick(store: Store, environmentId: number, runs: string, workMs = 0): Promise<void> {
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
  for (const end = Date.now() + ${workMs}; Date.now() < end; );
  await nango.batchSave([{ id: 'tick', at: new Date().toISOString() }], 'Tick');
};`;
  await store.scripts.deploy(environmentId, yaml, parseNangoYaml(yaml, 'nango.yaml'), [{ integration: 'bench', type: 'sync', name: 'tick', js: tick }]);
}

/** The `q` quantile (0-1) of ascending `sorted`; NaN when empty. */
export const quantile = (sorted: number[], q: number): number => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? NaN;
