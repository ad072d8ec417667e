import express, { Router, type Request } from 'express';
import { rateLimit } from 'express-rate-limit';
import { z } from 'zod';
import { SynclineError } from '../../errors';
import type { Store } from '../../store';
import type { WebhookSettings } from '../../store/webhooks';
import { receiveProviderWebhook, type ReceiveDeps } from '../../webhooks';
import { incomingWebhookPath } from '../../webhooks/types';
import { environment } from '../auth';
import { body, query } from '../validate';

/** Largest provider webhook accepted (as the API's JSON bodies). */
const INCOMING_LIMIT = '10mb';

const url = z.url({ protocol: /^https?$/, error: 'must be an http(s) URL' }).max(2048).nullable();

/** Nango's dashboard names (`PATCH /api/v1/environments/webhook`). */
const settingsBody = z.strictObject({
  primary_url: url.optional(),
  secondary_url: url.optional(),
  on_sync_completion_always: z.boolean().optional(),
  on_auth_creation: z.boolean().optional(),
  on_auth_refresh_error: z.boolean().optional(),
  on_sync_error: z.boolean().optional(),
  on_async_action_completion: z.boolean().optional(),
});

const deliveriesQuery = z.object({
  type: z.enum(['sync', 'auth', 'async_action', 'forward']).optional(),
  connection_id: z.string().min(1).optional(),
  limit: z.coerce.number().int().min(1).max(1000).default(100),
  cursor: z
    .string()
    .regex(/^\d+$/, 'cursor must be the next_cursor of a previous page')
    .transform(Number)
    .optional(),
});

/** Where providers post webhooks for an integration: `/webhook/<environment uuid>/<integration>`. */
export function incomingWebhookUrl(req: Request, environmentUuid: string, integration: string): string {
  return `${req.protocol}://${req.get('host')}${incomingWebhookPath(environmentUuid, integration)}`;
}

function settingsShape(s: WebhookSettings & { signingKey: string }, environmentUuid: string) {
  return {
    primary_url: s.primaryUrl,
    secondary_url: s.secondaryUrl,
    on_sync_completion_always: s.onSyncCompletionAlways,
    on_auth_creation: s.onAuthCreation,
    on_auth_refresh_error: s.onAuthRefreshError,
    on_sync_error: s.onSyncError,
    on_async_action_completion: s.onAsyncActionCompletion,
    signing_key: s.signingKey,
    environment_uuid: environmentUuid,
  };
}

/**
 * The environment's webhook settings, signing key and delivery log (secret-key routes).
 *
 * @example
 * PATCH /environment/webhook {"primary_url":"https://app.example.com/hooks","on_sync_completion_always":true}
 */
export function webhookSettingsRoutes(store: Store): Router {
  const router = Router();
  const uuid = async (req: Request) => (await store.webhooks.environmentById(environment(req).id))!.uuid;

  router.get('/environment/webhook', async (req, res) => {
    res.json({ data: settingsShape(await store.webhooks.settings(environment(req).id), await uuid(req)) });
  });

  router.patch('/environment/webhook', async (req, res) => {
    const input = body(settingsBody, req);
    const settings = await store.webhooks.update(environment(req).id, {
      primaryUrl: input.primary_url,
      secondaryUrl: input.secondary_url,
      onSyncCompletionAlways: input.on_sync_completion_always,
      onAuthCreation: input.on_auth_creation,
      onAuthRefreshError: input.on_auth_refresh_error,
      onSyncError: input.on_sync_error,
      onAsyncActionCompletion: input.on_async_action_completion,
    });
    res.json({ data: settingsShape(settings, await uuid(req)) });
  });

  router.post('/environment/webhook-signing-key/rotate', async (req, res) => {
    res.json({ data: { signing_key: await store.webhooks.rotateSigningKey(environment(req).id) } });
  });

  router.get('/environment/webhook/deliveries', async (req, res) => {
    const q = query(deliveriesQuery, req);
    const rows = await store.webhooks.list(environment(req).id, { type: q.type, connectionId: q.connection_id, before: q.cursor, limit: q.limit });
    res.json({
      data: rows.map((d) => ({
        id: d.id,
        type: d.type,
        url: d.url,
        connection_id: d.connectionId,
        provider_config_key: d.providerConfigKey,
        status: d.status,
        body: JSON.parse(d.body) as unknown,
        created_at: d.createdAt.toISOString(),
        finished_at: d.finishedAt?.toISOString() ?? null,
        attempts: d.attemptLog.map((a) => ({ attempt: a.attempt, status_code: a.statusCode, error: a.error, duration_ms: a.durationMs, created_at: a.createdAt.toISOString() })),
      })),
      next_cursor: rows.length === q.limit ? String(rows[rows.length - 1]!.id) : null,
    });
  });

  return router;
}

/**
 * `POST /webhook/:environment/:integration`: providers' webhooks. No secret key: the environment is
 * named by its public uuid and the payload is trusted only when the provider's signature holds.
 * The raw body is kept for the signature.
 */
/** Provider webhooks accepted per environment and minute (Nango's default ingress limit). */
export const INCOMING_PER_MINUTE = 4000;

export function incomingWebhookRoutes(deps: ReceiveDeps & { perMinute?: number }): Router {
  const router = Router();
  // Counted per environment (the public uuid in the path), before the body is read.
  const limiter = rateLimit({
    windowMs: 60_000,
    limit: deps.perMinute ?? INCOMING_PER_MINUTE,
    keyGenerator: (req) => String(req.params.environment),
    standardHeaders: 'draft-7',
    legacyHeaders: false,
    handler: (_req, res, next, options) => {
      res.setHeader('Retry-After', String(Math.ceil(options.windowMs / 1000)));
      next(new SynclineError('rate_limited', 'too_many_requests', `More than ${String(options.limit)} webhooks in a minute for this environment; retry later`));
    },
  });
  router.post('/webhook/:environment/:integration', limiter, express.raw({ type: () => true, limit: INCOMING_LIMIT }), async (req, res) => {
    const raw = Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0);
    const request = { method: req.method, origin: `${req.protocol}://${req.get('host')}`, path: req.originalUrl };
    const received = await receiveProviderWebhook(deps, String(req.params.environment), String(req.params.integration), raw, req.headers, request);
    res.json(received.challenge !== undefined ? { challenge: received.challenge } : { success: true });
  });
  return router;
}
