import { getProvider } from '../providers';
import type { ModelDefinition } from '../config/nango-yaml';
import { CollectingRecordSink, MemoryCheckpointStore, modelChecker, runScript, type ExecutionResult, type LogEntry, type RuntimeServices } from '../runtime';
import type { Syncline } from '../sdk';
import type { ApiConnectionFull, ApiIntegration } from '../sdk/types';
import type { Connection, Integration } from '../types';
import { CliError } from './project';
import { compileProject, type Project, type ScriptDefinition } from './scripts';

export interface DryrunOptions {
  input?: unknown;
  /** Replaces the connection's metadata for this run only. */
  metadata?: Record<string, unknown>;
  lastSyncDate?: Date;
  variant?: string;
  /**
   * Nango's `dryrun --validation`: an action input or output, or a sync record, that does not match
   * its model fails the run. Without it, each mismatch is a warning line and the run goes on, as
   * deployed scripts do unless their environment's validate_* settings are on.
   */
  validation?: boolean;
}

export interface DryrunResult {
  result: ExecutionResult;
  /** What the sync would have saved, updated and deleted, per model, in order. */
  writes: CollectingRecordSink['writes'];
  /** Metadata the script set (not saved). */
  metadata: Record<string, unknown> | undefined;
  /** With `validation`: the action's output does not match its model (the run itself succeeded). */
  invalidOutput?: string;
}

/** Problems of `value` against model `name` of the project, as a message naming the model; undefined when it matches (or there is no such model). */
function mismatch(models: ReadonlyMap<string, ModelDefinition>, what: 'input' | 'output', name: string | undefined, value: unknown): string | undefined {
  const model = name ? models.get(name) : undefined;
  const problems = model ? modelChecker(model, models)(value) : [];
  return problems.length ? `The ${what} does not match model "${name}": ${problems.slice(0, 5).join('; ')}` : undefined;
}

const warning = (message: string): LogEntry => ({ level: 'warn', message: `${message} (use --validation to fail on it)`, createdAt: new Date().toISOString() });

const toConnection = (c: ApiConnectionFull, metadata: Record<string, unknown>): Connection => ({
  id: c.id,
  environmentId: 0,
  integrationId: 0,
  providerConfigKey: c.provider_config_key,
  provider: c.provider,
  connectionId: c.connection_id,
  connectionConfig: c.connection_config,
  metadata,
  tags: c.tags,
  endUser: c.end_user,
  webhookUrlOverride: c.webhook_url_override,
  credentials: c.credentials,
  credentialsExpiresAt: null,
  lastFetchedAt: c.last_fetched_at ? new Date(c.last_fetched_at) : null,
  createdAt: new Date(c.created_at),
  updatedAt: new Date(c.updated_at),
});

const toIntegration = (i: ApiIntegration): Integration => ({
  id: 0,
  environmentId: 0,
  uniqueKey: i.unique_key,
  provider: i.provider,
  displayName: i.display_name,
  credentials: i.credentials ?? null,
  forwardWebhooks: i.forward_webhooks,
  createdAt: new Date(i.created_at),
  updatedAt: new Date(i.updated_at),
});

/**
 * Runs one script locally in the sandbox with a real connection's credentials (fetched, and
 * refreshed, by the server) and saves nothing: records are collected, metadata changes stay in
 * memory, checkpoints too.
 */
export async function dryrun(project: Project, script: ScriptDefinition, connectionId: string, client: Syncline, options: DryrunOptions): Promise<DryrunResult> {
  const key = script.integration;
  const models = project.config.models;
  const badInput = script.type === 'action' ? mismatch(models, 'input', script.input, options.input) : undefined;
  if (badInput && options.validation) throw new CliError(`invalid_action_input: ${badInput}`);
  const [[compiled], integration, first] = await Promise.all([
    compileProject(project, [script]),
    client.getIntegration({ uniqueKey: key }, { include: ['credentials'] }),
    client.getConnection(key, connectionId),
  ]);
  let metadata = options.metadata ?? first.metadata;
  let changedMetadata: Record<string, unknown> | undefined;
  const records = new CollectingRecordSink();
  const services: RuntimeServices = {
    getConnection: async (pck, id, fresh) => {
      const c = pck === key && id === connectionId && !fresh?.forceRefresh ? first : await client.getConnection(pck, id, fresh?.forceRefresh);
      return toConnection(c, pck === key && id === connectionId ? metadata : c.metadata);
    },
    getIntegration: async (pck) => toIntegration(pck === key ? integration.data : (await client.getIntegration({ uniqueKey: pck })).data),
    getEnvironmentVariables: () => client.getEnvironmentVariables(),
    // What the server answers for the integration: the URL it would give a deployed script.
    getWebhookUrl: async (pck) => (await client.getIntegration({ uniqueKey: pck }, { include: ['webhook'] })).data.webhook_url ?? null,
    setMetadata: async (_pck, _id, value, mode) => {
      metadata = mode === 'replace' ? value : { ...metadata, ...value };
      changedMetadata = metadata;
    },
    records,
    checkpoints: new MemoryCheckpointStore(),
  };
  const result = await runScript({
    kind: script.type,
    code: compiled!.compiled.code,
    sourceMap: compiled!.compiled.sourceMap,
    scriptName: compiled!.compiled.entry,
    providerConfigKey: key,
    connectionId,
    provider: getProvider(integration.data.provider),
    services,
    input: options.input,
    sync:
      script.type === 'sync'
        ? {
            name: script.name,
            models: compiledModels(project, script),
            allModels: project.config.models,
            lastSyncDate: options.lastSyncDate ?? null,
            variant: options.variant,
            validation: options.validation ? 'fail' : 'warn',
          }
        : undefined,
  });
  if (badInput) result.logs.unshift(warning(badInput));
  const badOutput = script.type === 'action' && result.success ? mismatch(models, 'output', script.output?.[0], result.output) : undefined;
  if (badOutput && !options.validation) result.logs.push(warning(badOutput));
  return { result, writes: records.writes, metadata: changedMetadata, ...(badOutput && options.validation ? { invalidOutput: badOutput } : {}) };
}

function compiledModels(project: Project, script: ScriptDefinition) {
  return (script.output ?? []).map((name) => project.config.models.get(name)!);
}
