import { createHash } from 'node:crypto';
import type { SyncDefinition } from '../config/nango-yaml';
import { SynclineError } from '../errors';
import type { AuthEvent } from '../providers/events';
import type { Store } from '../store';
import type { CheckpointRange } from '../store/checkpoints';
import type { NewDelivery, SyncWebhookRules, WebhookSettings, WebhookType } from '../store/webhooks';
import type { Connection, RecordCounts } from '../types';
import { baseModel, FROM, type AsyncActionWebhook, type AuthWebhook, type ForwardWebhook, type SyncFailureWebhook, type SyncSuccessWebhook, type SyncWebhookBase, type Webhook } from './payloads';

/** Starts the durable delivery of enqueued webhooks (a Temporal workflow in Syncline). */
export type DeliveryStarter = (workflowId: string, deliveryIds: number[]) => Promise<void>;

/** One sync of one connection, as the sync webhooks name it. */
export interface SyncWebhookKey {
  environmentId: number;
  integration: string;
  connectionId: string;
  sync: string;
  variant: string;
}

/**
 * Turns what happened (a sync run, an auth event, an async action, a provider's webhook) into the
 * webhooks the environment's settings ask for: one delivery per URL (the connection's override, or
 * the primary and secondary URLs), kept in `webhook_deliveries`, then handed to `start` for delivery
 * with retries. Enqueueing the same cause twice adds nothing, so callers may retry.
 *
 * @example
 * const dispatcher = new WebhookDispatcher(store, (id, ids) => client.workflow.start('webhookDeliveryWorkflow', { workflowId: id, taskQueue, args: [ids] }).then(() => undefined));
 * await dispatcher.syncRun({ environmentId, integration: 'github', connectionId: 'u1', sync: 'issues', variant: 'base' }, jobId);
 */
/**
 * Whether a finished sync run has `sync` webhooks to send: a destination (the connection's override
 * or an environment URL) and settings that want this outcome. Lets a run skip the enqueueing step
 * (an activity) when nothing would be sent, which is most runs of most apps. `rules`: the settings as
 * the job's end read them (EndedJob.syncWebhookRules); when the environment had none yet (null) or
 * they were not read, they are read here (which creates them with their defaults).
 */
export async function syncRunNotifies(
  store: Store,
  environmentId: number,
  connection: Connection,
  run: { success: boolean; changed: boolean },
  rules?: SyncWebhookRules | null,
): Promise<boolean> {
  const settings = rules ?? (await store.webhooks.settings(environmentId));
  if (!destinations(settings, connection).length) return false;
  return run.success ? run.changed || settings.onSyncCompletionAlways : settings.onSyncError;
}

/** Where an environment's webhooks about `connection` go: its override URL alone, else the environment's URLs. */
function destinations(settings: Pick<WebhookSettings, 'primaryUrl' | 'secondaryUrl'>, connection: Connection | null): string[] {
  if (connection?.webhookUrlOverride) return [connection.webhookUrlOverride];
  return [...new Set([settings.primaryUrl, settings.secondaryUrl].filter((u): u is string => !!u))];
}

export class WebhookDispatcher {
  constructor(
    private readonly store: Store,
    private readonly start: DeliveryStarter,
  ) {}

  /**
   * The `sync` webhooks of a finished run, one per model of the sync: successes when records changed
   * (or always, per the settings), failures when the settings ask for them.
   */
  async syncRun(key: SyncWebhookKey, jobId: number): Promise<number[]> {
    const job = await this.store.jobs.job(jobId);
    if (!job || job.status === 'RUNNING') return [];
    const script = await this.store.scripts.find(key.environmentId, key.integration, 'sync', key.sync);
    const connection = await this.connection(key.environmentId, key.integration, key.connectionId);
    if (!script || !connection) return [];
    const config = script.config as SyncDefinition;
    const syncType = config.syncType === 'incremental' ? 'INCREMENTAL' : 'INITIAL';
    if (job.status === 'SUCCESS') {
      const counts = new Map(Object.entries(job.result).map(([model, c]) => [baseModel(model), c]));
      return this.syncSuccess(key, connection, config.output, counts, job.startedAt, syncType, `job:${jobId}`, false, job.checkpoints);
    }
    const settings = await this.store.webhooks.settings(key.environmentId);
    if (!settings.onSyncError) return [];
    const error = { type: job.error?.type ?? 'sync_failed', description: job.error?.message ?? 'The sync failed' };
    const bodies = config.output.map(
      (model): SyncFailureWebhook => ({
        ...syncBase(key, model, syncType, job.checkpoints),
        success: false,
        error,
        startedAt: job.startedAt.toISOString(),
        failedAt: (job.finishedAt ?? new Date()).toISOString(),
      }),
    );
    return this.enqueue(key.environmentId, connection, `sync:job:${jobId}`, bodies.map((body) => ({ part: body.model, body })), { settings });
  }

  /** The `sync` webhooks of a webhook-handler run that saved records (`syncType: WEBHOOK`), with its checkpoints when it used them. */
  async webhookRun(key: SyncWebhookKey, runId: string, models: string[], counts: Record<string, RecordCounts>, startedAt: Date, checkpoints?: CheckpointRange): Promise<number[]> {
    const connection = await this.connection(key.environmentId, key.integration, key.connectionId);
    if (!connection) return [];
    const byModel = new Map(Object.entries(counts).map(([model, c]) => [baseModel(model), c]));
    return this.syncSuccess(key, connection, models, byModel, startedAt, 'WEBHOOK', `webhook:${runId}`, true, checkpoints);
  }

  /**
   * The `auth` webhook of a connection's creation, override or refresh failure, when the settings
   * ask for it. `event.id` is its outbox row: enqueueing one row twice adds nothing.
   */
  async auth(event: AuthEvent & { id: number }): Promise<number[]> {
    const settings = await this.store.webhooks.settings(event.environmentId);
    const wanted = event.operation === 'refresh' ? !event.success && settings.onAuthRefreshError : settings.onAuthCreation;
    if (!wanted) return [];
    const env = await this.store.webhooks.environmentById(event.environmentId);
    if (!env) return [];
    const connection = await this.connection(event.environmentId, event.providerConfigKey, event.connectionId);
    const endUserId = connection?.endUser?.id ?? event.endUserId ?? null;
    const body: AuthWebhook = {
      from: FROM,
      type: 'auth',
      operation: event.operation,
      connectionId: event.connectionId,
      authMode: event.authMode,
      providerConfigKey: event.providerConfigKey,
      provider: event.provider,
      environment: env.name,
      success: event.success,
      ...(connection ? { tags: connection.tags } : {}),
      ...(endUserId ? { endUser: { endUserId, ...(connection?.endUser?.organization ? { organizationId: connection.endUser.organization.id } : {}) } } : {}),
      ...(event.error ? { error: event.error } : {}),
    };
    return this.enqueue(event.environmentId, connection, `auth:${event.id}`, [{ part: '', body }], { settings });
  }

  /** The `async_action` webhook of a finished async action call. */
  async asyncAction(environmentId: number, call: { id: string; integration: string; connectionId: string }): Promise<number[]> {
    const settings = await this.store.webhooks.settings(environmentId);
    if (!settings.onAsyncActionCompletion) return [];
    const connection = await this.connection(environmentId, call.integration, call.connectionId);
    const body: AsyncActionWebhook = {
      from: FROM,
      type: 'async_action',
      connectionId: call.connectionId,
      providerConfigKey: call.integration,
      payload: { id: call.id, statusUrl: `/action/${call.id}` },
    };
    return this.enqueue(environmentId, connection, `async_action:${call.id}`, [{ part: '', body }], { settings });
  }

  /**
   * A provider's webhook passed on as `forward` webhooks: one per connection it belongs to (to that
   * connection's override URL if it has one), or one without `connectionId` when it named none.
   */
  async forward(environmentId: number, integration: string, incomingId: string, connectionIds: string[], payload: unknown): Promise<number[]> {
    const ids: number[] = [];
    for (const connectionId of connectionIds.length ? connectionIds : [undefined]) {
      const connection = connectionId === undefined ? null : await this.connection(environmentId, integration, connectionId);
      const body: ForwardWebhook = { from: FROM, type: 'forward', ...(connectionId !== undefined ? { connectionId } : {}), providerConfigKey: integration, payload };
      ids.push(...(await this.enqueue(environmentId, connection, `forward:${incomingId}:${connectionId ?? ''}`, [{ part: '', body }], { start: false })));
    }
    await this.startDelivery(ids);
    return ids;
  }

  private async syncSuccess(
    key: SyncWebhookKey,
    connection: Connection,
    models: string[],
    counts: Map<string, RecordCounts>,
    startedAt: Date,
    syncType: SyncSuccessWebhook['syncType'],
    cause: string,
    changedOnly = false,
    checkpoints?: CheckpointRange,
  ): Promise<number[]> {
    const settings = await this.store.webhooks.settings(key.environmentId);
    const bodies: SyncSuccessWebhook[] = [];
    for (const model of models) {
      const results = counts.get(model) ?? { added: 0, updated: 0, deleted: 0 };
      const changed = results.added + results.updated + results.deleted > 0;
      if (!changed && (changedOnly || !settings.onSyncCompletionAlways)) continue;
      bodies.push({
        ...syncBase(key, model, syncType, checkpoints),
        success: true,
        modifiedAfter: startedAt.toISOString(),
        responseResults: { added: results.added, updated: results.updated, deleted: results.deleted },
        queryTimeStamp: startedAt.toISOString(),
      });
    }
    return this.enqueue(key.environmentId, connection, `sync:${cause}`, bodies.map((body) => ({ part: body.model, body })), { settings });
  }

  /** The connection's override URL, else the environment's primary and secondary URLs (from `settings` when the caller has read them). */
  private async urls(environmentId: number, connection: Connection | null, settings?: WebhookSettings): Promise<string[]> {
    return connection?.webhookUrlOverride ? [connection.webhookUrlOverride] : destinations(settings ?? (await this.store.webhooks.settings(environmentId)), connection);
  }

  private async enqueue(
    environmentId: number,
    connection: Connection | null,
    cause: string,
    items: Array<{ part: string; body: Webhook }>,
    { start = true, settings }: { start?: boolean; settings?: WebhookSettings } = {},
  ): Promise<number[]> {
    if (!items.length) return [];
    const urls = await this.urls(environmentId, connection, settings);
    const deliveries: NewDelivery[] = items.flatMap(({ part, body }) =>
      urls.map((url) => ({
        dedupeKey: `${cause}:${part}:${url}`,
        type: body.type as WebhookType,
        connectionId: 'connectionId' in body && body.connectionId !== undefined ? body.connectionId : null,
        providerConfigKey: body.providerConfigKey,
        url,
        body: JSON.stringify(body),
      })),
    );
    const ids = await this.store.webhooks.enqueue(environmentId, deliveries);
    if (start) await this.startDelivery(ids);
    return ids;
  }

  private async startDelivery(ids: number[]): Promise<void> {
    if (!ids.length) return;
    const workflowId = `webhooks:${createHash('sha256').update(ids.join(',')).digest('hex').slice(0, 32)}`;
    await this.start(workflowId, ids);
  }

  private async connection(environmentId: number, integration: string, connectionId: string): Promise<Connection | null> {
    try {
      return await this.store.connections.get(environmentId, integration, connectionId);
    } catch (err) {
      if (err instanceof SynclineError && err.kind === 'not_found') return null;
      throw err;
    }
  }
}

/** The fields every `sync` webhook of one model of one sync starts with. */
function syncBase(key: SyncWebhookKey, model: string, syncType: SyncWebhookBase['syncType'], checkpoints?: CheckpointRange): SyncWebhookBase {
  return {
    from: FROM,
    type: 'sync',
    connectionId: key.connectionId,
    providerConfigKey: key.integration,
    syncName: key.sync,
    syncVariant: key.variant,
    model,
    syncType,
    // As Nango: only when the run used its checkpoint.
    ...(checkpoints ? { checkpoints } : {}),
  };
}
