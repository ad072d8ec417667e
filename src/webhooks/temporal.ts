import { WorkflowExecutionAlreadyStartedError, type Client } from '@temporalio/client';
import type { Store } from '../store';
import { fitWorkflowId } from '../worker/workflow-ids';
import { WebhookDispatcher } from './dispatcher';
import type { WebhookHandlerArgs } from './types';

/** Workflow type names (registered by `src/workflows`), started by name so this layer stays out of the bundle. */
export const DELIVERY_WORKFLOW = 'webhookDeliveryWorkflow';
export const HANDLER_WORKFLOW = 'webhookHandlerWorkflow';

// Starts ask to run eagerly on a worker of this process, so clients here must be on a
// NativeConnection, as those of `startOrchestration` and an activity's `Context.client` are.

/**
 * A dispatcher whose deliveries run as `webhookDeliveryWorkflow` executions: durable, retried with
 * back-off, surviving restarts.
 *
 * @example
 * const webhooks = temporalDispatcher(store, orchestrator.client, orchestrator.taskQueue);
 */
export function temporalDispatcher(store: Store, client: Client, taskQueue: string): WebhookDispatcher {
  return new WebhookDispatcher(store, async (workflowId, ids) => {
    try {
      await client.workflow.start(DELIVERY_WORKFLOW, { taskQueue, workflowId, args: [ids], requestEagerStart: true });
    } catch (err) {
      // A retried enqueue of the same deliveries: the first workflow delivers them.
      if (!(err instanceof WorkflowExecutionAlreadyStartedError)) throw err;
    }
  });
}

/** Starts one webhook handler run as its own workflow. */
export function handlerStarter(client: Client, taskQueue: string): (args: WebhookHandlerArgs) => Promise<void> {
  return async (args) => {
    // A variant's run is named after it; base keeps the id it always had.
    const sync = args.variant && args.variant !== 'base' ? `${args.sync}::${args.variant}` : args.sync;
    const workflowId = fitWorkflowId(['webhook-handler', args.environment, args.integration, args.connectionId, sync, args.incomingId].map(encodeURIComponent).join(':'));
    try {
      await client.workflow.start(HANDLER_WORKFLOW, { taskQueue, workflowId, args: [args], requestEagerStart: true });
    } catch (err) {
      if (!(err instanceof WorkflowExecutionAlreadyStartedError)) throw err;
    }
  };
}
