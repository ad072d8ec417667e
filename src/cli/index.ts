#!/usr/bin/env node
import { Command } from 'commander';
import { ConfigError, loadConfig } from '../config/env';
import { openSyncline, startSyncline } from '../server';
import { DataDirError } from '../store/data-dir';
import { WrongEncryptionKeyError } from '../store/settings';
import { SynclineApiError } from '../sdk';
import { init } from './init';
import { CliError, client, FOLDER, integrationsDir } from './project';

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

program
  .command('init')
  .argument('[dir]', 'folder to create', FOLDER)
  .description('scaffold an integrations folder with a working GitHub example')
  .action((dir: string) => {
    for (const file of init(dir)) process.stdout.write(`created ${file}\n`);
    process.stdout.write(`\nNext: put your secret key in ${dir}/.env, then \`syncline deploy\`.\n`);
  });

const env = program.command('env').description("the environment's variables, readable by scripts");
env
  .command('set')
  .argument('<name>')
  .argument('<value>')
  .action(async (name: string, value: string) => {
    await client(integrationsDirOrCwd()).setEnvironmentVariables([{ name, value }]);
    process.stdout.write(`set ${name}\n`);
  });
env.command('list').action(async () => {
  for (const v of await client(integrationsDirOrCwd()).getEnvironmentVariables()) process.stdout.write(`${v.name}=${v.value}\n`);
});
env
  .command('delete')
  .argument('<name>')
  .action(async (name: string) => {
    await client(integrationsDirOrCwd()).deleteEnvironmentVariable(name);
    process.stdout.write(`deleted ${name}\n`);
  });

/** For commands that only need the server: the integrations folder's .env if there is one. */
function integrationsDirOrCwd(): string {
  try {
    return integrationsDir();
  } catch {
    return process.cwd();
  }
}

program.parseAsync().catch((err: unknown) => {
  // Expected start-up failures are one readable line; anything else keeps its stack.
  const known = err instanceof ConfigError || err instanceof DataDirError || err instanceof WrongEncryptionKeyError || err instanceof CliError;
  let line = known ? (err as Error).message : err instanceof Error ? err.stack : String(err);
  if (err instanceof SynclineApiError) line = `the server answered ${err.status} ${err.code}: ${err.message}`;
  // fetch() rejects with a TypeError whose cause says why the server could not be reached.
  if (err instanceof TypeError && err.message === 'fetch failed') {
    const cause = (err as { cause?: { code?: string; message?: string } }).cause;
    line = `cannot reach the Syncline server (${cause?.code ?? cause?.message ?? 'network error'}); is it running, and is SYNCLINE_URL right?`;
  }
  process.stderr.write(`syncline: ${line}\n`);
  process.exit(1);
});
