import { randomUUID } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';
import type { SyncDefinition } from '../config/nango-yaml';
import { notFound, SynclineError } from '../errors';
import { findProvider } from '../providers';
import type { Store } from '../store';
import { readPublicUrl } from '../store/settings';
import type { WebhookDispatcher } from './dispatcher';
import { eventTypes, signatureSchemes, subscribes, valuesAt, verifyProviderSignature } from './incoming';
import type { WebhookHandlerArgs } from './types';

export interface ReceiveDeps {
  store: Store;
  webhooks: WebhookDispatcher;
  /** Starts one handler run as its own workflow. */
  startHandler(args: WebhookHandlerArgs): Promise<void>;
}

export interface Received {
  /** Connections the payload belongs to. */
  connectionIds: string[];
  /** Handler runs started (connections × subscribed syncs × their variants). */
  handlers: number;
  /** `forward` deliveries enqueued. */
  forwarded: number;
  /** A URL verification (Slack's `url_verification`): answer with it, nothing else is done. */
  challenge?: string;
}

/** How a webhook reached us: its method, the origin it was sent to as we see it, and its path with the query. */
export interface IncomingRequest {
  method: string;
  origin: string;
  path: string;
}

/**
 * A provider's webhook: checks the signature as the catalogue says (401 when it does not hold,
 * before anything runs), finds the connections it names, starts the webhook handler of every sync
 * subscribed to its event type for each of them (once per variant of the sync the connection has,
 * `base` included, so each variant's records see the event), and forwards it to the app when the integration
 * forwards webhooks. Unknown environment or integration: 404.
 *
 * @example
 * await receiveProviderWebhook(deps, req.params.environment, req.params.integration, rawBody, req.headers, { method: 'POST', origin: 'http://localhost:3003', path: req.originalUrl });
 */
export async function receiveProviderWebhook(
  deps: ReceiveDeps,
  environmentUuid: string,
  integrationKey: string,
  rawBody: Buffer,
  headers: IncomingHttpHeaders,
  request: IncomingRequest,
): Promise<Received> {
  const { store } = deps;
  const env = await store.webhooks.environmentByUuid(environmentUuid);
  if (!env) throw notFound('unknown_environment', `No environment "${environmentUuid}"`);
  const integration = await store.integrations.get(env.id, integrationKey);
  const rule = findProvider(integration.provider)?.webhook;
  // The URL the provider called (signed by some, e.g. HubSpot v3): under the public URL when one is set, as behind a proxy.
  const publicUrl = await readPublicUrl(store.db);
  const url = `${publicUrl?.configured ? publicUrl.url.replace(/\/+$/, '') : request.origin}${request.path}`;
  const problem = verifyProviderSignature(rule, rawBody, headers, integration.credentials, { request: { method: request.method, url } });
  if (problem) {
    const message =
      problem === 'missing_secret'
        ? `Integration "${integrationKey}" has no ${signatureSchemes(rule)[0]?.secret ?? 'webhook_secret'} to verify webhooks with`
        : `The webhook signature is ${problem === 'missing_signature' ? 'missing' : problem === 'expired_signature' ? 'too old' : 'not valid'}`;
    throw new SynclineError('unauthorized', 'invalid_webhook_signature', message);
  }
  const payload = parsePayload(rawBody, headers['content-type']);
  const challenge = urlVerification(payload);
  if (challenge !== undefined) return { connectionIds: [], handlers: 0, forwarded: 0, challenge };

  const connectionIds = new Set<string>();
  for (const r of rule?.connection ?? []) {
    const values = valuesAt(payload, r.payload_path);
    const where = r.metadata !== undefined ? 'metadata' : 'connection_config';
    for (const id of await store.webhooks.connectionsMatching(env.id, integrationKey, where, (r.metadata ?? r.connection_config)!, values)) connectionIds.add(id);
  }
  const types = eventTypes(rule, payload, headers);
  const syncs = (await store.scripts.active(env.id, integrationKey)).filter((s) => {
    const subscriptions = s.type === 'sync' ? (s.config as SyncDefinition).webhookSubscriptions : [];
    return subscriptions.length > 0 && subscribes(subscriptions, types);
  });

  let incomingId: string | undefined;
  let handlers = 0;
  if (syncs.length && connectionIds.size) {
    incomingId = await store.webhooks.saveIncoming(env.id, integrationKey, payload);
    const variants = await store.webhooks.syncVariants(env.id, integrationKey, [...connectionIds], syncs.map((s) => s.name));
    for (const connectionId of connectionIds) {
      for (const sync of syncs) {
        const others = variants.filter((v) => v.connectionId === connectionId && v.sync === sync.name).map((v) => v.variant);
        for (const variant of ['base', ...others]) {
          await deps.startHandler({ environmentId: env.id, environment: env.name, integration: integrationKey, connectionId, sync: sync.name, variant, incomingId });
          handlers++;
        }
      }
    }
  }
  let forwarded = 0;
  if (integration.forwardWebhooks) {
    forwarded = (await deps.webhooks.forward(env.id, integrationKey, incomingId ?? randomUUID(), [...connectionIds], payload)).length;
  }
  return { connectionIds: [...connectionIds], handlers, forwarded };
}

/** The challenge of a signed URL verification request (`{type: 'url_verification', challenge}`, as Slack sends). */
function urlVerification(payload: unknown): string | undefined {
  const p = payload as { type?: unknown; challenge?: unknown } | null;
  return p && typeof p === 'object' && p.type === 'url_verification' && typeof p.challenge === 'string' ? p.challenge : undefined;
}

/** JSON, a form (`payload=` JSON as Slack's interactivity sends), or the text itself. */
function parsePayload(raw: Buffer, contentType: string | undefined): unknown {
  const text = raw.toString('utf8');
  if (/application\/x-www-form-urlencoded/i.test(contentType ?? '')) {
    const form = Object.fromEntries(new URLSearchParams(text));
    if (typeof form.payload === 'string') {
      try {
        return JSON.parse(form.payload);
      } catch {
        // keep the form
      }
    }
    return form;
  }
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}
