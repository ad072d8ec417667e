/**
 * Runs the engine alone: `tsx src/engine/main.ts` (what `syncline engine` wires up).
 * Environment: DATABASE_URL (else PGlite in ENGINE_DATA_DIR, else in memory), ENGINE_PORT (7233),
 * ENGINE_HOST (127.0.0.1), DATABASE_SCHEMA (optional Postgres schema), DATABASE_PREPARED_STATEMENTS.
 * Prints `engine listening on <address>` once it serves.
 */
import pino from 'pino';
import { loadConfig } from '../config/env';
import { openDb } from '../store/db';
import { migrate } from '../store/migrate';
import { startEngine } from './index';

export async function main(env: NodeJS.ProcessEnv = process.env): Promise<void> {
  // Validated before anything opens, as for the server: a mistyped setting stops the engine with its name.
  const config = loadConfig({ LOG_LEVEL: 'warn', ...env });
  const db = await openDb(
    config.databaseUrl
      ? { url: config.databaseUrl, schema: env.DATABASE_SCHEMA || undefined, preparedStatements: config.databasePreparedStatements }
      : { dataDir: env.ENGINE_DATA_DIR || undefined },
  );
  await migrate(db);
  const engine = await startEngine({ db, port: config.enginePort, host: config.engineHost, logger: pino({ level: config.logLevel }) });
  process.stdout.write(`engine listening on ${engine.address}\n`);
  const stop = async () => {
    await engine.close();
    await db.close();
    process.exit(0);
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
}

if (require.main === module) {
  main().catch((err: unknown) => {
    process.stderr.write(`engine: ${err instanceof Error ? err.stack : String(err)}\n`);
    process.exit(1);
  });
}
