import { runAction } from './action';
import { runSync, type ActivityDeps } from './sync';
import type { SyncActivities } from './types';
import { webhookActivities, type WebhookActivities } from './webhooks';

export type { SyncActivities } from './types';
export type { WebhookActivities } from './webhooks';
export type { ActivityDeps } from './sync';

/**
 * The activities the worker registers, bound to the store (and the action trigger scripts use).
 *
 * @example
 * Worker.create({ ..., activities: createActivities({ store }) });
 */
export function createActivities(deps: ActivityDeps): SyncActivities & WebhookActivities {
  return {
    ...webhookActivities(deps),
    runSync: (input) => runSync(deps, input),
    abandonSyncRun: (runKey, error) => deps.store.jobs.abandonJob(runKey, error),
    runAction: (args, actionId, last) => runAction(deps, args, actionId, last),
  };
}
