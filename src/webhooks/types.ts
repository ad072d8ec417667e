/**
 * Types the webhook workflows share with the code that starts them. Types only: the workflow bundle
 * imports this file.
 *
 * Glossary
 * - Delivery: one webhook (a `sync`, `auth`, `async_action` or `forward` body) to one URL of the
 *   app, kept in `webhook_deliveries` with every attempt in `webhook_attempts`.
 * - Signing key: the environment's secret the app verifies `X-Nango-Hmac-Sha256` with.
 * - Incoming webhook: a provider's POST to `/webhook/:environmentUuid/:integration`, kept in
 *   `incoming_webhooks` for the handler runs it starts.
 * - Handler run: one execution of a sync's `onWebhookPayloadReceived(nango, payload)` for one
 *   connection; it may batchSave/batchDelete like the sync itself.
 */

/** One handler run: which sync of which connection, and which incoming webhook (by id). */
export interface WebhookHandlerArgs {
  environmentId: number;
  environment: string;
  integration: string;
  connectionId: string;
  sync: string;
  /** The sync's variant whose records the handler writes; absent (runs started before variants were reached): base. */
  variant?: string;
  incomingId: string;
}

export type WebhookHandlerResult =
  | { outcome: 'success'; counts: Record<string, { added: number; updated: number; deleted: number }>; webhooks: number[] }
  | { outcome: 'error'; error: { type: string; message: string } }
  /** The connection, the sync or the incoming webhook is gone: nothing ran. */
  | { outcome: 'gone'; reason: string };

export { incomingWebhookPath } from '../shapes';
