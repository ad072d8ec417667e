import { runAction } from './action';
import { runOnEventScript } from './on-event';
import { Context } from '@temporalio/activity';
import { QUEUE_PATIENCE_MS, RunSlots, type RunLimits, type SlotWaiter } from './slots';
import { runSync, type ActivityDeps } from './sync';
import type { SyncActivities } from './types';
import { SLOT_FREE_SIGNAL, type OnEventActivities, type SyncRunBusy } from '../workflows/types';
import { webhookActivities, type WebhookActivities } from './webhooks';

export type { SyncActivities } from './types';
export type { WebhookActivities } from './webhooks';
export type { ActivityDeps } from './sync';
export { DEFAULT_RUN_LIMITS, queuedRuns, type RunLimits } from './slots';

const busyOutcome = (reason: string): SyncRunBusy => ({ outcome: 'busy', reason });

/** The workflow of the activity running now, woken by a signal when a slot is kept for it. */
function currentWaiter(): SlotWaiter | undefined {
  const { info, client } = Context.current();
  if (!info.workflowExecution) return undefined;
  const { workflowId, runId } = info.workflowExecution;
  // A queued attempt sends no heartbeat: it waits well within its heartbeat timeout.
  const patienceMs = info.heartbeatTimeoutMs ? Math.min(QUEUE_PATIENCE_MS, info.heartbeatTimeoutMs / 3) : QUEUE_PATIENCE_MS;
  return { id: workflowId, patienceMs, wake: () => client.workflow.getHandle(workflowId, runId).signal(SLOT_FREE_SIGNAL) };
}

/**
 * The activities the worker registers, bound to the store (and the action trigger scripts use).
 * Sync runs, action attempts and webhook handler runs take a slot of their environment and
 * connection (`limits`, per worker); an action called by a running script runs within its caller's.
 *
 * @example
 * Worker.create({ ..., activities: createActivities({ store }) });
 */
export function createActivities(deps: ActivityDeps, limits?: RunLimits): SyncActivities & WebhookActivities & OnEventActivities {
  const slots = new RunSlots(limits);
  const webhooks = webhookActivities(deps);
  return {
    ...webhooks,
    runWebhookHandler: (args) => slots.run(args, () => webhooks.runWebhookHandler(args), busyOutcome, currentWaiter()),
    runSync: (input) => slots.run(input.key, () => runSync(deps, input), busyOutcome, currentWaiter()),
    abandonSyncRun: (runKey, error) => deps.store.jobs.abandonJob(runKey, error),
    runAction: (args, actionId, last) => (args.nested ? runAction(deps, args, actionId, last) : slots.run(args, () => runAction(deps, args, actionId, last), (busy) => ({ busy }), currentWaiter())),
    runOnEventScript: (args) => runOnEventScript(deps, args),
    abandonActionRun: async (actionId, error) => {
      await deps.store.actions.abandon(actionId, error);
    },
  };
}
