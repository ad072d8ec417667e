import { runAction } from './action';
import { runOnEventScript } from './on-event';
import { RunSlots, type RunLimits } from './slots';
import { runSync, type ActivityDeps } from './sync';
import type { SyncActivities } from './types';
import type { OnEventActivities } from '../workflows/types';
import { webhookActivities, type WebhookActivities } from './webhooks';

export type { SyncActivities } from './types';
export type { WebhookActivities } from './webhooks';
export type { ActivityDeps } from './sync';
export { DEFAULT_RUN_LIMITS, type RunLimits } from './slots';

/**
 * The activities the worker registers, bound to the store (and the action trigger scripts use).
 * Sync runs and action attempts take a slot of their environment and connection (`limits`, per
 * worker); one called by a running script runs within its caller's.
 *
 * @example
 * Worker.create({ ..., activities: createActivities({ store }) });
 */
export function createActivities(deps: ActivityDeps, limits?: RunLimits): SyncActivities & WebhookActivities & OnEventActivities {
  const slots = new RunSlots(limits);
  return {
    ...webhookActivities(deps),
    runSync: (input) => slots.run(input.key, () => runSync(deps, input), (reason) => ({ outcome: 'busy' as const, reason })),
    abandonSyncRun: (runKey, error) => deps.store.jobs.abandonJob(runKey, error),
    runAction: (args, actionId, last) => (args.nested ? runAction(deps, args, actionId, last) : slots.run(args, () => runAction(deps, args, actionId, last), (busy) => ({ busy }))),
    runOnEventScript: (args) => runOnEventScript(deps, args),
    abandonActionRun: async (actionId, error) => {
      await deps.store.actions.abandon(actionId, error);
    },
  };
}
