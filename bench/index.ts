import { readdirSync } from 'node:fs';
import path from 'node:path';

/**
 * Runs every benchmark in this folder, one after another: each `bench/<name>.ts` that exports
 * `run()` prints one line per figure. `npm run bench -- records` runs only the named ones.
 * Uses DATABASE_URL when set, else an in-memory PGlite.
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
  for (const name of names) {
    const bench = (await import(path.join(__dirname, name))) as Partial<Bench>;
    if (typeof bench.run === 'function') await bench.run();
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exitCode = 1;
});
