import { Router, type Request } from 'express';
import { z } from 'zod';
import { INTEGRATION_KEY } from '../../config/nango-yaml';
import { findProvider } from '../../providers';
import type { Store } from '../../store';
import { readPublicUrl } from '../../store/settings';
import { incomingWebhookPath } from '../../webhooks/types';
import { environment } from '../auth';
import { integrationShape } from '../../shapes';
import { incomingWebhookUrl } from './webhooks';
import { body, identifier, query } from '../validate';

const uniqueKey = identifier('unique_key').regex(INTEGRATION_KEY, 'unique_key must not contain "/", "?", "#", "%" or "\\"');

const credentials = z.looseObject({
  type: z.enum(['OAUTH1', 'OAUTH2', 'APP', 'CUSTOM', 'TBA', 'MCP_OAUTH2']),
  client_id: z.string().max(1024).optional(),
  client_secret: z.string().max(4096).optional(),
  scopes: z.string().max(4096).optional(),
  webhook_secret: z.string().max(4096).optional(),
});

const createBody = z.object({
  unique_key: uniqueKey,
  // One message per wrong name: malformed, or well formed but unknown. findProvider looks up own
  // keys only: "constructor" or "__proto__" are unknown like any other.
  provider: z.string().superRefine((name, ctx) => {
    if (!/^[a-z0-9][a-z0-9._-]{0,63}$/.test(name)) ctx.addIssue('provider must be a provider name such as "github"');
    else if (findProvider(name) === undefined) ctx.addIssue('provider must be one of the catalogue (GET /providers) or of SYNCLINE_PROVIDERS_FILE');
  }),
  display_name: z.string().min(1).max(255).optional(),
  credentials: credentials.optional(),
  forward_webhooks: z.boolean().optional(),
});

const updateBody = z.object({
  unique_key: uniqueKey.optional(),
  display_name: z.string().min(1).max(255).nullable().optional(),
  credentials: credentials.nullable().optional(),
  forward_webhooks: z.boolean().optional(),
});

const includeQuery = z.object({
  include: z
    .union([z.string(), z.array(z.string())])
    .optional()
    .transform((v) => new Set((Array.isArray(v) ? v : (v ?? '').split(',')).map((s) => s.trim()).filter(Boolean)))
    .refine((set) => [...set].every((s) => s === 'webhook' || s === 'credentials'), 'include accepts "webhook" and "credentials"'),
});

/**
 * Where providers send webhooks for this integration (the environment by its public uuid): under
 * `SYNCLINE_PUBLIC_URL` when it is set (what scripts get from `nango.getWebhookURL()`), else under
 * the address the request came to.
 */
async function webhookUrl(store: Store, req: Request, key: string): Promise<string> {
  const [env, publicUrl] = await Promise.all([store.webhooks.environmentById(environment(req).id), readPublicUrl(store.db)]);
  return publicUrl?.configured ? `${publicUrl.url}${incomingWebhookPath(env!.uuid, key)}` : incomingWebhookUrl(req, env!.uuid, key);
}

export function integrationRoutes(store: Store): Router {
  const router = Router();

  router.get('/integrations', async (req, res) => {
    const integrations = await store.integrations.list(environment(req).id);
    res.json({ data: integrations.map((i) => integrationShape(i, {})) });
  });

  router.get('/integrations/:uniqueKey', async (req, res) => {
    const { include } = query(includeQuery, req);
    const integration = await store.integrations.get(environment(req).id, req.params.uniqueKey);
    res.json({
      data: integrationShape(integration, {
        credentials: include.has('credentials'),
        webhookUrl: include.has('webhook') ? await webhookUrl(store, req, integration.uniqueKey) : undefined,
      }),
    });
  });

  router.post('/integrations', async (req, res) => {
    const input = body(createBody, req);
    const integration = await store.integrations.create(environment(req).id, {
      uniqueKey: input.unique_key,
      provider: input.provider,
      displayName: input.display_name,
      credentials: input.credentials,
      forwardWebhooks: input.forward_webhooks,
    });
    res.status(201).json({ data: integrationShape(integration, {}) });
  });

  router.patch('/integrations/:uniqueKey', async (req, res) => {
    const input = body(updateBody, req);
    const integration = await store.integrations.update(environment(req).id, req.params.uniqueKey, {
      uniqueKey: input.unique_key,
      displayName: input.display_name,
      credentials: input.credentials,
      forwardWebhooks: input.forward_webhooks,
    });
    res.json({ data: integrationShape(integration, {}) });
  });

  router.delete('/integrations/:uniqueKey', async (req, res) => {
    await store.integrations.delete(environment(req).id, req.params.uniqueKey);
    res.json({ success: true });
  });

  return router;
}
