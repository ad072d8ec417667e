import type { SyncDefinition } from '../config/nango-yaml';
import { SynclineError } from '../errors';
import { findProvider } from '../providers';
import { CheckpointRangeRecorder, runScript, stackLines, storeServices, type RuntimeServices } from '../runtime';
import { PgCheckpointStore, type Store } from '../store';
import type { WebhookDispatcher } from './dispatcher';
import type { WebhookHandlerArgs, WebhookHandlerResult } from './types';

/** Wall-clock limit of one handler run, as Nango's webhook tasks. */
export const WEBHOOK_HANDLER_MS = 60 * 60_000;

/**
 * Runs a sync's `onWebhookPayloadReceived(nango, payload)` for one connection and variant: the
 * records it saves or deletes go to the variant's models as a run of it would write them, and the app gets the
 * `sync` webhooks of the models that changed (`syncType: WEBHOOK`).
 *
 * @example
 * await runWebhookHandler({ store, webhooks }, { environmentId, environment: 'dev', integration: 'github', connectionId: 'u1', sync: 'issues', incomingId });
 */
export async function runWebhookHandler(
  deps: { store: Store; webhooks?: WebhookDispatcher; triggerAction?: RuntimeServices['triggerAction']; heartbeat?: () => void },
  args: WebhookHandlerArgs,
): Promise<WebhookHandlerResult> {
  const { store } = deps;
  const connection = await store.connections.get(args.environmentId, args.integration, args.connectionId).catch((err: unknown) => {
    if (err instanceof SynclineError && err.kind === 'not_found') return null;
    throw err;
  });
  if (!connection) return { outcome: 'gone', reason: `connection ${args.connectionId} no longer exists` };
  const script = await store.scripts.find(args.environmentId, args.integration, 'sync', args.sync);
  if (!script) return { outcome: 'gone', reason: `sync ${args.sync} is no longer deployed` };
  const variant = args.variant ?? 'base';
  if (variant !== 'base' && !(await store.jobs.findSync(connection.id, args.sync, variant))) return { outcome: 'gone', reason: `variant ${variant} of sync ${args.sync} was deleted` };
  const incoming = await store.webhooks.incoming(args.incomingId);
  if (!incoming) return { outcome: 'gone', reason: `incoming webhook ${args.incomingId} no longer exists` };
  const integration = await store.integrations.get(args.environmentId, args.integration);
  const provider = findProvider(integration.provider);
  if (!provider) return { outcome: 'error', error: { type: 'unknown_provider', message: `Provider "${integration.provider}" is not in the catalogue` } };
  const config = script.config as SyncDefinition;
  const { validateSyncRecords } = await store.environmentSettings.get(args.environmentId);
  const startedAt = new Date();
  const checkpoints = new CheckpointRangeRecorder(new PgCheckpointStore(store.db, connection.id));
  const heartbeat = deps.heartbeat && setInterval(deps.heartbeat, 10_000);
  let result;
  try {
    result = await runScript({
      kind: 'sync',
      webhook: true,
      input: incoming.payload,
      code: script.code,
      sourceMap: script.sourceMap ?? undefined,
      scriptName: `${args.integration}/syncs/${args.sync}.ts`,
      providerConfigKey: args.integration,
      connectionId: args.connectionId,
      environmentName: args.environment,
      provider,
      services: storeServices(store, args.environmentId, { checkpoints, triggerAction: deps.triggerAction }),
      sync: {
        name: args.sync,
        models: script.models.filter((m) => config.output.includes(m.name)),
        allModels: new Map(script.models.map((m) => [m.name, m])),
        variant,
        // As the sync's own runs: the environment's validate_sync_records.
        validation: validateSyncRecords ? 'fail' : 'warn',
      },
      limits: { timeoutMs: WEBHOOK_HANDLER_MS },
    });
  } finally {
    if (heartbeat) clearInterval(heartbeat);
  }
  const runId = `${args.incomingId}:${args.connectionId}:${args.sync}${variant === 'base' ? '' : `::${variant}`}`;
  const error = result.success ? null : { type: result.error.type, message: result.error.message };
  const ref = { environmentId: args.environmentId, environment: args.environment, integration: args.integration, connectionId: args.connectionId };
  await store.logs.recordEnd({ ...ref, operation: 'webhook', script: args.sync, jobId: runId, success: result.success, startedAt, finishedAt: new Date(), counts: result.counts, error }, result.success ? result.logs : [...result.logs, ...stackLines(result.error)]);
  const webhooks = deps.webhooks
    ? await deps.webhooks.webhookRun({ ...args, variant }, runId, config.output, result.counts, startedAt, checkpoints.range(PgCheckpointStore.syncKey(args.environment, args.integration, args.connectionId, args.sync, variant)) ?? undefined)
    : [];
  if (error) return { outcome: 'error', error };
  return { outcome: 'success', counts: result.counts, webhooks };
}
