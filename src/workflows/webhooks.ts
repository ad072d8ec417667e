import { proxyActivities } from '@temporalio/workflow';
import type { WebhookActivities } from '../activities/webhooks';
import type { WebhookHandlerArgs, WebhookHandlerResult } from '../webhooks/types';
import { whenSlotFree } from './slots';
import { BOOKKEEPING_ACTIVITY } from './types';

/** Attempts per delivery; the back-off between them starts at 500 ms and doubles (0.5, 1, 2, 4 s). */
export const WEBHOOK_ATTEMPTS = 5;

/**
 * Delivers enqueued webhooks, each to its URL, in parallel: one `deliverWebhook` activity per
 * delivery, retried with exponential back-off until it is answered 2xx or WEBHOOK_ATTEMPTS reached the app.
 * Every attempt is recorded by the activity; one that could not even record is marked failed.
 */
export async function webhookDeliveryWorkflow(deliveryIds: number[]): Promise<void> {
  const { deliverWebhook } = proxyActivities<WebhookActivities>({
    // 20 s for the app's answer, plus the bookkeeping around it.
    startToCloseTimeout: 30_000,
    // The activity counts the attempts that reached the app and stops at WEBHOOK_ATTEMPTS; the
    // others (our database away) are retried, as bookkeeping is, for up to an hour.
    scheduleToCloseTimeout: BOOKKEEPING_ACTIVITY.scheduleToCloseTimeout,
    retry: { initialInterval: 500, backoffCoefficient: 2, maximumInterval: BOOKKEEPING_ACTIVITY.retry.maximumInterval },
  });
  const { abandonWebhook } = proxyActivities<WebhookActivities>(BOOKKEEPING_ACTIVITY);
  await Promise.all(
    deliveryIds.map(async (id) => {
      try {
        await deliverWebhook(id, WEBHOOK_ATTEMPTS);
      } catch {
        await abandonWebhook(id);
      }
    }),
  );
}

/** One run of a sync's webhook handler for one connection (`onWebhookPayloadReceived`), in a slot of its environment and connection as sync runs. */
export async function webhookHandlerWorkflow(args: WebhookHandlerArgs): Promise<WebhookHandlerResult> {
  const { runWebhookHandler } = proxyActivities<WebhookActivities>({
    startToCloseTimeout: 61 * 60_000,
    heartbeatTimeout: 60_000,
    retry: { initialInterval: 1000, backoffCoefficient: 2, maximumAttempts: 3 },
  });
  return whenSlotFree(() => runWebhookHandler(args));
}
