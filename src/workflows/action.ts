import { patched, proxyActivities, sleep } from '@temporalio/workflow';
import type { SyncActivities } from '../activities/types';
import type { WebhookActivities } from '../activities/webhooks';
import { FINAL_ACTION_ERRORS, type ActionResult, type ActionWorkflowArgs } from './types';

/** Wall-clock limit of one action run, as in Nango. */
export const ACTION_TIMEOUT_MS = 15 * 60_000;

/**
 * One action call: runs `runAction` (which keeps the output in Postgres, so only a status crosses
 * Temporal) and retries failures up to `maxRetries` times with exponential back-off.
 */
export async function actionWorkflow(args: ActionWorkflowArgs, actionId: string): Promise<ActionResult> {
  const { runAction } = proxyActivities<SyncActivities>({
    startToCloseTimeout: ACTION_TIMEOUT_MS + 60_000,
    heartbeatTimeout: 60_000,
    retry: { initialInterval: 1000, backoffCoefficient: 2, maximumAttempts: args.maxRetries + 1 },
  });
  const { sendAsyncActionWebhook } = proxyActivities<WebhookActivities>({ startToCloseTimeout: 60_000, retry: { maximumInterval: 30_000, maximumAttempts: 5 } });
  for (let attempt = 0; ; attempt++) {
    const result = await runAction(args, actionId, attempt >= args.maxRetries);
    if (result.success || FINAL_ACTION_ERRORS.includes(result.error.type) || attempt >= args.maxRetries) {
      if (args.async && patched('async-action-webhook')) await sendAsyncActionWebhook(args, actionId).catch(() => undefined);
      return result;
    }
    await sleep(Math.min(1000 * 2 ** attempt, 30_000));
  }
}
