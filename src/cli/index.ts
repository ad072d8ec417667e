#!/usr/bin/env node
import fs from 'node:fs';
import path from 'node:path';
import { Command } from 'commander';
import { ConfigError, loadConfig } from '../config/env';
import { openSyncline, startSyncline } from '../server';
import { DataDirError, lockDataDir } from '../store/data-dir';
import { main as runEngine } from '../engine/main';
import { WrongEncryptionKeyError } from '../store/settings';
import { SynclineApiError } from '../sdk';
import { init } from './init';
import { CliError, client, FOLDER, integrationsDir } from './project';
import { NangoYamlError } from '../config/nango-yaml';
import { ScriptDefinitionError } from '../config/zero-yaml';
import { ScriptCompileError } from '../runtime';
import { dryrun } from './dryrun';
import { migrate } from './migrate';
import { compileProject, deployProject, findScript, generate, loadProject, type Project } from './scripts';
import { settingsCommands } from './settings';
import { temporalUiFromEnv } from './temporal-ui';
import { webhookCommands } from './webhook';

const program = new Command('syncline').description('Self-hosted integrations engine');

program
  .command('start')
  .description('serve the REST API (embedded database unless DATABASE_URL is set)')
  .action(async () => {
    const syncline = await startSyncline(loadConfig());
    const out = process.stdout;
    out.write(`\nSyncline is running at ${syncline.url}\n`);
    // The Temporal Web UI on the engine, where its server is installed; Syncline runs on without it.
    const temporalUi = syncline.orchestration
      ? await temporalUiFromEnv(syncline.orchestration.address).catch((err: unknown) => {
          syncline.logger.warn({ err }, 'the Temporal UI could not be started');
          return undefined;
        })
      : undefined;
    if (temporalUi) out.write(`  Temporal UI: ${temporalUi.url}\n`);
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
      await temporalUi?.close();
      await syncline.close();
      process.exit(0);
    };
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
  });

program
  .command('engine')
  .description('run only the embedded Temporal-compatible engine, on ENGINE_PORT (for a separate worker or the Temporal UI)')
  .action(async () => {
    const config = loadConfig();
    // The embedded database is single-process: the engine alone takes the data directory as the server would.
    if (!config.databaseUrl) lockDataDir(config.dataDir);
    await runEngine({ ...process.env, ENGINE_PORT: String(config.enginePort), ENGINE_DATA_DIR: path.join(config.dataDir, 'pglite') });
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
  .option('--zero-yaml', "Nango's current format: scripts declare themselves (createSync, createAction) with zod models; no nango.yaml")
  .action((dir: string, opts: { zeroYaml?: boolean }) => {
    for (const file of init(dir, { zeroYaml: opts.zeroYaml === true })) process.stdout.write(`created ${file}\n`);
    process.stdout.write(`\nNext: put your secret key in ${dir}/.env, then \`syncline deploy\`.\n`);
  });

/** `loadProject`, printing the nango.yaml warnings (accepted forms that are probably mistakes) to stderr. */
async function load(dir: string): Promise<Project> {
  const project = await loadProject(dir);
  for (const w of project.config.warnings) process.stderr.write(`warning: ${w.file}:${w.line} ${w.path}: ${w.message}\n`);
  return project;
}

const dirOption = ['-d, --dir <dir>', 'the integrations folder (default: ./nango-integrations or .)'] as const;

program
  .command('generate')
  .description('write models.ts (model types and helper typings) and .nango/ (schema.ts, schema.json, nango.json) from nango.yaml')
  .option(...dirOption)
  .action(async (opts: { dir?: string }) => {
    for (const file of generate(await load(integrationsDir(opts.dir)))) process.stdout.write(`wrote ${file}\n`);
  });

program
  .command('migrate')
  .description("turn a nango.yaml project into Nango's current format (scripts that declare themselves, zod models, index.ts), as Nango's migrate-to-zero-yaml does")
  .option(...dirOption)
  .action(async (opts: { dir?: string }) => {
    const { written, removed } = migrate(await load(integrationsDir(opts.dir)));
    for (const file of written) process.stdout.write(`wrote ${file}\n`);
    for (const file of removed) process.stdout.write(`removed ${file}\n`);
    process.stdout.write('\nNext: `syncline compile` to check the result (`npm install` first if the folder has its own package.json).\n');
  });

program
  .command('compile')
  .description('type-check and bundle every script into dist/')
  .option(...dirOption)
  .action(async (opts: { dir?: string }) => {
    const project = await load(integrationsDir(opts.dir));
    process.stderr.write('compiling…\n');
    for (const { compiled } of await compileProject(project)) process.stdout.write(`compiled ${compiled.entry}\n`);
  });

program
  .command('deploy')
  .description("compile every script and replace the environment's deployed scripts with them, all or nothing")
  .option(...dirOption)
  .action(async (opts: { dir?: string }) => {
    const dir = integrationsDir(opts.dir);
    const project = await load(dir);
    process.stderr.write('compiling…\n');
    const api = client(dir);
    const result = await deployProject(project, api);
    for (const s of result.scripts) process.stdout.write(`deployed ${s.type} ${s.providerConfigKey}/${s.name}\n`);
    for (const s of result.removed) process.stdout.write(`removed ${s.type} ${s.integration}/${s.name}\n`);
    if (result.deployment_id !== undefined) process.stdout.write(`deployment ${result.deployment_id} on ${api.host}\n`);
    else process.stdout.write(`deployed on ${api.host}\n`);
  });

program
  .command('dryrun')
  .description("run a script locally with a connection's credentials from the server; prints what it would save, saves nothing")
  .argument('<script>', 'sync or action name')
  .argument('<connection-id>')
  .option('-i, --integration <key>', 'the integration, when the name exists in several')
  .option('--input <json|@file>', "action input, as JSON or @path to a JSON file")
  .option('--metadata <json|@file>', "connection metadata to use instead of the connection's")
  .option('--last-sync-date <iso>', 'lastSyncDate for an incremental sync')
  .option('--variant <name>')
  .option('--validate, --validation', "fail when an action's input or output, or a sync's record, does not match its model (otherwise a warning)")
  .option(...dirOption)
  .action(async (name: string, connectionId: string, opts: { integration?: string; input?: string; metadata?: string; lastSyncDate?: string; variant?: string; validation?: boolean; dir?: string }) => {
    const dir = integrationsDir(opts.dir);
    const project = await load(dir);
    const script = findScript(project.config, name, opts.integration);
    const lastSyncDate = opts.lastSyncDate === undefined ? undefined : new Date(opts.lastSyncDate);
    if (lastSyncDate && Number.isNaN(lastSyncDate.getTime())) throw new CliError(`--last-sync-date: "${opts.lastSyncDate}" is not an ISO date`);
    const { result, writes, metadata, invalidOutput } = await dryrun(project, script, connectionId, client(dir), {
      input: jsonOption('--input', opts.input),
      metadata: jsonOption('--metadata', opts.metadata) as Record<string, unknown> | undefined,
      lastSyncDate,
      variant: opts.variant,
      validation: opts.validation === true,
    });
    for (const log of result.logs) process.stderr.write(`[${log.level}] ${log.message}\n`);
    for (const [model, list] of writes) {
      for (const { kind, records } of list) process.stdout.write(`${kind} ${records.length} ${model}\n${JSON.stringify(records, null, 2)}\n`);
    }
    if (metadata) process.stdout.write(`metadata would be set to ${JSON.stringify(metadata)}\n`);
    if (!result.success) throw new CliError(`${result.error.type}: ${result.error.message}`);
    if (invalidOutput) throw new CliError(`invalid_action_output: ${invalidOutput}`);
    if (script.type === 'action') process.stdout.write(`${JSON.stringify(result.output, null, 2)}\n`);
    process.stderr.write(`done in ${result.durationMs} ms (nothing was saved)\n`);
  });

/** A JSON option given inline or as @file. */
function jsonOption(name: string, value: string | undefined): unknown {
  if (value === undefined) return undefined;
  const text = value.startsWith('@') ? fs.readFileSync(value.slice(1), 'utf8') : value;
  try {
    return JSON.parse(text);
  } catch {
    throw new CliError(`${name} is not valid JSON${value.startsWith('@') ? ` (in ${value.slice(1)})` : ''}`);
  }
}

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

webhookCommands(program, () => client(integrationsDirOrCwd()));
settingsCommands(program, () => client(integrationsDirOrCwd()));

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
  if (err instanceof NangoYamlError || err instanceof ScriptCompileError || err instanceof ScriptDefinitionError) {
    const lines = err.message.split('\n');
    process.stderr.write(`syncline: ${lines.length} problem${lines.length === 1 ? '' : 's'}; nothing was changed\n${err.message}\n`);
    process.exit(1);
  }
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
