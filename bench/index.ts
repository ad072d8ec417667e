import { spawnSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import path from 'node:path';

/**
 * Runs every benchmark in this folder, one after another: each `bench/<name>.ts` that exports
 * `run()` prints one line per figure. `npm run bench -- records` runs only the named ones.
 * Uses DATABASE_URL when set, else an in-memory PGlite. With more than one, each runs in a process
 * of its own, so none inherits another's memory (RSS figures) or warmed-up code.
 */
export interface Bench {
  run(): Promise<void>;
}

async function main(): Promise<void> {
  const only = process.argv.slice(2);
  const names = readdirSync(__dirname)
    .filter((file) => file.endsWith('.ts') && file !== 'index.ts')
    .map((file) => path.basename(file, '.ts'))
    .filter((name) => only.length === 0 || only.includes(name))
    .sort();
  if (names.length === 1) {
    const bench = (await import(path.join(__dirname, names[0]!))) as Partial<Bench>;
    if (typeof bench.run === 'function') await bench.run();
    return;
  }
  for (const name of names) {
    const child = spawnSync(process.execPath, [...process.execArgv, __filename, name], { stdio: 'inherit' });
    if (child.status !== 0) process.exitCode = 1;
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exitCode = 1;
});
