import { patched, proxyActivities, sleep } from '@temporalio/workflow';
import type { SyncActivities } from '../activities/types';
import type { WebhookActivities } from '../activities/webhooks';
import { unrecordedActionEnd } from './failures';
import { whenSlotFree } from './slots';
import { BOOKKEEPING_ACTIVITY, FINAL_ACTION_ERRORS, type ActionResult, type ActionWorkflowArgs } from './types';

/** Wall-clock limit of one action run, as in Nango. */
export const ACTION_TIMEOUT_MS = 15 * 60_000;
/** How long an attempt may wait for a worker to take it (none polling, every slot taken, or the task lost) before the call fails saying so. */
export const ACTION_START_TIMEOUT_MS = 5 * 60_000;

/**
 * One action call: runs `runAction` (which keeps the output in Postgres, so only a status crosses
 * Temporal) and retries failures up to `maxRetries` times with exponential back-off. An attempt
 * refused because its environment or connection is busy waits to be woken and asks again (not
 * counted as an attempt). When the activity's own attempts run out (its worker died, it timed
 * out, it failed before recording anything) the run is ended here as failed; either way an async
 * call's `async_action` webhook is sent. A terminated or timed-out workflow runs none of this:
 * the orchestrator's check of unfinished runs ends those (`Orchestrator.settleActionRun`).
 */
export async function actionWorkflow(args: ActionWorkflowArgs, actionId: string): Promise<ActionResult> {
  const { runAction } = proxyActivities<SyncActivities>({
    startToCloseTimeout: ACTION_TIMEOUT_MS + 60_000,
    scheduleToStartTimeout: ACTION_START_TIMEOUT_MS,
    heartbeatTimeout: args.heartbeatTimeoutMs ?? 60_000,
    retry: { initialInterval: 1000, backoffCoefficient: 2, maximumAttempts: args.maxRetries + 1 },
  });
  const { abandonActionRun } = proxyActivities<SyncActivities>(BOOKKEEPING_ACTIVITY);
  const { sendAsyncActionWebhook } = proxyActivities<WebhookActivities>(BOOKKEEPING_ACTIVITY);
  let result: ActionResult;
  try {
    result = await attempts(args, actionId, runAction);
  } catch (err) {
    const error = unrecordedActionEnd(err);
    // When even this fails (the database is away), the check of unfinished runs ends the run later.
    await abandonActionRun(actionId, error).catch(() => undefined);
    result = { success: false, error };
  }
  if (args.async && patched('async-action-webhook')) await sendAsyncActionWebhook(args, actionId).catch(() => undefined);
  return result;
}

async function attempts(args: ActionWorkflowArgs, actionId: string, runAction: SyncActivities['runAction']): Promise<ActionResult> {
  for (let attempt = 0; ; ) {
    const result = await whenSlotFree(() => runAction(args, actionId, attempt >= args.maxRetries));
    if (result.success || FINAL_ACTION_ERRORS.includes(result.error.type) || attempt >= args.maxRetries) return result;
    await sleep(Math.min(1000 * 2 ** attempt, 30_000));
    attempt++;
  }
}
