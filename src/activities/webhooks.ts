import { Context } from '@temporalio/activity';
import { attemptDelivery, runWebhookHandler, temporalDispatcher, type WebhookDispatcher } from '../webhooks';
import type { WebhookHandlerArgs, WebhookHandlerResult } from '../webhooks/types';
import type { ActionWorkflowArgs, SyncKey, SyncRunBusy } from '../workflows/types';
import type { ActivityDeps } from './sync';

/** The webhook activities: deliveries, enqueueing the webhooks of runs, and provider webhook handlers. */
export interface WebhookActivities {
  /** One attempt of a delivery; throws (to be retried) when it failed and attempts remain. */
  deliverWebhook(deliveryId: number, maxAttempts: number): Promise<'delivered' | 'failed' | 'skipped'>;
  /** Marks a delivery failed when its attempts ended without one recording it so. */
  abandonWebhook(deliveryId: number): Promise<void>;
  /** Enqueues (and starts delivering) the `sync` webhooks of a finished run. */
  sendSyncWebhooks(key: SyncKey, jobId: number): Promise<number[]>;
  /** The same for a run whose attempts ran out (its job ended by `abandonSyncRun`), named by its run key. */
  sendAbandonedSyncWebhooks(key: SyncKey, runKey: string): Promise<number[]>;
  /** Enqueues (and starts delivering) the `async_action` webhook of a finished async action call. */
  sendAsyncActionWebhook(args: ActionWorkflowArgs, actionId: string): Promise<number[]>;
  /** Runs a sync's webhook handler for one connection; busy: not started (its environment or connection is at its cap). */
  runWebhookHandler(args: WebhookHandlerArgs): Promise<WebhookHandlerResult | SyncRunBusy>;
}

/**
 * The webhook activities over the store. Deliveries are started as workflows through the activity's
 * own Temporal client, on the activity's task queue.
 *
 * @example
 * Worker.create({ ..., activities: { ...createActivities(deps), ...webhookActivities(deps) } });
 */
export function webhookActivities(deps: ActivityDeps): WebhookActivities {
  const { store } = deps;
  const dispatcher = (): WebhookDispatcher => {
    const context = Context.current();
    return temporalDispatcher(store, context.client, context.info.taskQueue);
  };
  return {
    deliverWebhook: (id, maxAttempts) => attemptDelivery(store, id, maxAttempts),
    abandonWebhook: (id) => store.webhooks.fail(id),
    sendSyncWebhooks: (key, jobId) => dispatcher().syncRun(key, jobId),
    sendAbandonedSyncWebhooks: async (key, runKey) => {
      const job = await store.jobs.jobByRunKey(runKey);
      return job ? dispatcher().syncRun(key, job.id) : [];
    },
    sendAsyncActionWebhook: (args, actionId) => dispatcher().asyncAction(args.environmentId, { id: actionId, integration: args.integration, connectionId: args.connectionId }),
    runWebhookHandler: (args) => {
      const context = Context.current();
      return runWebhookHandler(
        { store, webhooks: dispatcher(), triggerAction: deps.actions?.({ id: args.environmentId, name: args.environment }), heartbeat: () => context.heartbeat() },
        args,
      );
    },
  };
}
