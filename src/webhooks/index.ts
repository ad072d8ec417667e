/**
 * Webhooks, both ways. Outgoing: `dispatcher.ts` turns sync runs, auth events, async actions and
 * forwarded provider webhooks into signed deliveries (`payloads.ts`, `signing.ts`) that
 * `deliver.ts` posts (`send.ts`) from a Temporal activity with retries, recording every attempt.
 * Incoming: `receive.ts` checks a provider's signature and finds its connections (`incoming.ts`,
 * from the catalogue's `webhook` section), then starts the subscribed syncs' handlers
 * (`handler.ts`). Types and the glossary: `types.ts`.
 */
export type * from './types';
export type * from './payloads';
export { WebhookDispatcher, type DeliveryStarter, type SyncWebhookKey } from './dispatcher';
export { attemptDelivery, WebhookAttemptError } from './deliver';
export { postWebhook, WEBHOOK_TIMEOUT_MS, type PostOutcome } from './send';
export { signatureHeaders, HMAC_HEADER, LEGACY_SIGNATURE_HEADER } from './signing';
export { verifyProviderSignature, valuesAt, eventTypes, subscribes } from './incoming';
export { receiveProviderWebhook, type Received, type ReceiveDeps } from './receive';
export { runWebhookHandler, WEBHOOK_HANDLER_MS } from './handler';
export { temporalDispatcher, handlerStarter, DELIVERY_WORKFLOW, HANDLER_WORKFLOW } from './temporal';
