#!/usr/bin/env node
import { Command } from 'commander';
import { ConfigError, loadConfig } from '../config/env';
import { openSyncline, startSyncline } from '../server';
import { DataDirError } from '../store/data-dir';
import { WrongEncryptionKeyError } from '../store/settings';

const program = new Command('syncline').description('Self-hosted integrations engine');

program
  .command('start')
  .description('serve the REST API (embedded database unless DATABASE_URL is set)')
  .action(async () => {
    const syncline = await startSyncline(loadConfig());
    const out = process.stdout;
    out.write(`\nSyncline is running at ${syncline.url}\n`);
    for (const { name, secretKey } of syncline.createdKeys) {
      out.write(`  ${name} secret key: ${secretKey}\n`);
    }
    out.write(
      syncline.createdKeys.length
        ? '  (shown once; `npm run keys` prints them again)\n'
        : `  secret keys: \`npm run keys\`${syncline.store.db.backend === 'pglite' ? ' (after stopping the server: the embedded database is single-process)' : ''}\n`,
    );
    out.write('\n');
    const stop = async () => {
      await syncline.close();
      process.exit(0);
    };
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
  });

program
  .command('keys')
  .description("print each environment's secret key")
  .action(async () => {
    const syncline = await openSyncline(loadConfig({ ...process.env, LOG_LEVEL: process.env.LOG_LEVEL ?? 'warn' }));
    try {
      for (const { name, secretKey } of await syncline.store.environments.keys()) process.stdout.write(`${name}\t${secretKey}\n`);
    } finally {
      await syncline.close();
    }
  });

program.parseAsync().catch((err: unknown) => {
  // Expected start-up failures are one readable line; anything else keeps its stack.
  const known = err instanceof ConfigError || err instanceof DataDirError || err instanceof WrongEncryptionKeyError;
  process.stderr.write(`syncline: ${known ? (err as Error).message : err instanceof Error ? err.stack : String(err)}\n`);
  process.exit(1);
});
