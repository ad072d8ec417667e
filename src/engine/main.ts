/**
 * Runs the engine alone: `tsx src/engine/main.ts` (what `syncline engine` wires up).
 * Environment: DATABASE_URL (else PGlite in ENGINE_DATA_DIR, else in memory), ENGINE_PORT (7233),
 * ENGINE_HOST (127.0.0.1), DATABASE_SCHEMA (optional Postgres schema), DATABASE_PREPARED_STATEMENTS.
 * Prints `engine listening on <address>` once it serves.
 */
import pino from 'pino';
import { openDb } from '../store/db';
import { migrate } from '../store/migrate';
import { startEngine } from './index';

export async function main(env: NodeJS.ProcessEnv = process.env): Promise<void> {
  // Read before anything opens: a mistyped setting stops the engine with its name, not later with NaN.
  const port = wholeNumber(env, 'ENGINE_PORT', 65535) ?? 7233;
  const preparedStatements = wholeNumber(env, 'DATABASE_PREPARED_STATEMENTS', 10000);
  const db = await openDb(env.DATABASE_URL ? { url: env.DATABASE_URL, schema: env.DATABASE_SCHEMA || undefined, preparedStatements } : { dataDir: env.ENGINE_DATA_DIR || undefined });
  await migrate(db);
  const engine = await startEngine({
    db,
    port,
    host: env.ENGINE_HOST || '127.0.0.1',
    logger: pino({ level: env.LOG_LEVEL ?? 'warn' }),
  });
  process.stdout.write(`engine listening on ${engine.address}\n`);
  const stop = async () => {
    await engine.close();
    await db.close();
    process.exit(0);
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
}

/** `env[name]` as a whole number up to `max`; undefined when unset or empty. */
function wholeNumber(env: NodeJS.ProcessEnv, name: string, max: number): number | undefined {
  const raw = env[name];
  if (raw === undefined || raw === '') return undefined;
  if (!/^\d{1,9}$/.test(raw) || Number(raw) > max) throw new Error(`Invalid ${name}: expected a whole number from 0 to ${max} (got ${JSON.stringify(raw)})`);
  return Number(raw);
}

if (require.main === module) {
  main().catch((err: unknown) => {
    process.stderr.write(`engine: ${err instanceof Error ? err.stack : String(err)}\n`);
    process.exit(1);
  });
}
