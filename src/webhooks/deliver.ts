import type { Store } from '../store';
import { postWebhook, WEBHOOK_TIMEOUT_MS } from './send';

/** Thrown by a failed attempt that will be retried. */
export class WebhookAttemptError extends Error {
  override name = 'WebhookAttemptError';
}

/**
 * One attempt at a delivery: posts the stored body signed with the environment's current signing
 * key and records the attempt. Throws a {@link WebhookAttemptError} when it failed and fewer than
 * `maxAttempts` are recorded, so the caller (a Temporal activity) retries it. Attempts are counted
 * from the recorded ones, not the caller's: one that failed because our own database was away never
 * reached the app, so it does not use up the delivery's attempts (a long outage would otherwise end
 * deliveries as failed that the app never saw). Deliveries no longer pending (delivered, given up,
 * deleted) are left alone.
 *
 * @example
 * await attemptDelivery(store, deliveryId, 5);
 */
export async function attemptDelivery(store: Store, id: number, maxAttempts: number, timeoutMs = WEBHOOK_TIMEOUT_MS): Promise<'delivered' | 'failed' | 'skipped'> {
  const delivery = await store.webhooks.delivery(id);
  if (!delivery || delivery.status !== 'PENDING') return 'skipped';
  const attempt = delivery.attempts + 1;
  const { signingKey } = await store.webhooks.settings(delivery.environmentId);
  const outcome = await postWebhook(delivery.url, delivery.body, signingKey, timeoutMs);
  const final = outcome.ok || attempt >= maxAttempts;
  await store.webhooks.recordAttempt(id, { attempt, statusCode: outcome.statusCode, error: outcome.error, durationMs: outcome.durationMs, delivered: outcome.ok, final });
  if (!final) throw new WebhookAttemptError(`webhook ${id} to ${delivery.url}: ${outcome.error}`);
  return outcome.ok ? 'delivered' : 'failed';
}
