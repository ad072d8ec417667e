import { Router } from 'express';
import { z } from 'zod';
import { getFreshConnection } from '../../providers/refresh';
import type { Store } from '../../store';
import { environment } from '../auth';
import { upsertValidated } from '../connection-validation';
import { connectionFull, connectionSummary } from '../../shapes';
import { body, identifier, jsonObject, query, queryBoolean } from '../validate';
import type { Orchestrator } from '../../worker/orchestrator';

const tags = z
  .record(z.string().min(1).max(64, 'tag keys must be at most 64 characters'), z.string().max(255, 'tag values must be at most 255 characters'))
  .refine((t) => Object.keys(t).length <= 10, 'at most 10 tags')
  // Tag keys are case-insensitive, as in Nango: stored lower-cased.
  .transform((t) => Object.fromEntries(Object.entries(t).map(([k, v]) => [k.toLowerCase(), v])));

const endUser = z.object({
  id: identifier('end_user.id'),
  email: z.string().email().nullish(),
  display_name: z.string().max(255).nullish(),
  organization: z.object({ id: identifier('end_user.organization.id'), display_name: z.string().max(255).nullish() }).nullish(),
});

const credentials = z.discriminatedUnion('type', [
  z.looseObject({ type: z.literal('OAUTH2'), access_token: z.string().min(1), refresh_token: z.string().optional(), expires_at: z.iso.datetime({ offset: true }).optional(), raw: jsonObject.optional() }),
  z.looseObject({ type: z.literal('API_KEY'), apiKey: z.string().min(1) }),
  z.looseObject({ type: z.literal('BASIC'), username: z.string().min(1), password: z.string().optional() }),
  z.looseObject({ type: z.enum(['OAUTH1', 'OAUTH2_CC', 'APP', 'CUSTOM', 'JWT', 'TBA', 'TWO_STEP', 'SIGNATURE', 'BILL', 'NONE']) }),
]);

const webhookUrl = z.url({ protocol: /^https?$/, error: 'must be an http(s) URL' }).nullable();

const importBody = z.object({
  connection_id: identifier('connection_id').optional(),
  provider_config_key: identifier('provider_config_key'),
  credentials,
  metadata: jsonObject.optional(),
  connection_config: jsonObject.optional(),
  end_user: endUser.nullish(),
  tags: tags.optional(),
  webhook_url_override: webhookUrl.optional(),
});

const patchBody = z.object({ end_user: endUser.nullish(), tags: tags.optional(), webhook_url_override: webhookUrl.optional() });

const listQuery = z.object({
  connectionId: z.string().optional(),
  search: z.string().max(255).optional(),
  endUserId: z.string().optional(),
  endUserOrganizationId: z.string().optional(),
  integrationId: z.string().optional(),
  tags: z.record(z.string(), z.string()).optional(),
  limit: z.coerce.number().int().min(1).max(1000).default(1000),
  page: z.coerce.number().int().min(0).default(0),
});

const keyQuery = z.object({ provider_config_key: identifier('provider_config_key') });
const getQuery = keyQuery.extend({ force_refresh: queryBoolean, refresh_token: queryBoolean });

const metadataBody = z.object({
  connection_id: z.union([identifier('connection_id'), z.array(identifier('connection_id')).min(1).max(1000)]),
  provider_config_key: identifier('provider_config_key'),
  metadata: jsonObject,
});

/**
 * `orchestrator` runs the validate-connection scripts of an imported connection before it counts,
 * and the pre-connection-deletion scripts of a connection before it is deleted.
 */
export function connectionRoutes(store: Store, orchestrator?: Orchestrator): Router {
  const router = Router();

  router.post('/connections', async (req, res) => {
    const input = body(importBody, req);
    const { connection, created } = await upsertValidated(store, orchestrator, environment(req).id, input.provider_config_key, {
      connectionId: input.connection_id ?? crypto.randomUUID(),
      credentials: input.credentials,
      connectionConfig: input.connection_config,
      metadata: input.metadata,
      tags: input.tags,
      endUser: input.end_user,
      webhookUrlOverride: input.webhook_url_override,
    });
    res.status(created ? 201 : 200).json(connectionFull(connection, { includeRefreshToken: false }));
  });

  router.get('/connections', async (req, res) => {
    const q = query(listQuery, req);
    // @nangohq/node sends the end user's email and display name as these two pseudo-tags.
    const { end_user_email, end_user_display_name, ...tags } = Object.fromEntries(
      Object.entries(q.tags ?? {}).map(([k, v]) => [k.toLowerCase(), v]),
    );
    const connections = await store.connections.list(environment(req).id, {
      ...q,
      integrationKeys: q.integrationId?.split(',').map((k) => k.trim()).filter(Boolean),
      tags,
      endUserEmail: end_user_email,
      endUserDisplayName: end_user_display_name,
    });
    const errors = await store.connections.errors(connections.map((c) => c.id));
    res.json({ connections: connections.map((c) => connectionSummary(c, errors.get(c.id))) });
  });

  // Registered before /connections/:connectionId so "metadata" is not taken for a connection id.
  for (const [method, mode] of [['post', 'replace'], ['patch', 'merge']] as const) {
    router[method]('/connections/metadata', async (req, res) => {
      const input = body(metadataBody, req);
      const ids = Array.isArray(input.connection_id) ? input.connection_id : [input.connection_id];
      await store.connections.setMetadata(environment(req).id, input.provider_config_key, ids, input.metadata, mode);
      res.json(input);
    });
  }

  // `/connection/:connectionId` is the older path Nango's CLI still reads (nango dryrun).
  router.get(['/connections/:connectionId', '/connection/:connectionId'], async (req, res) => {
    const q = query(getQuery, req);
    // OAuth2 tokens expiring within 15 minutes (or any, with force_refresh) are refreshed first.
    const connection = await getFreshConnection(store, environment(req).id, q.provider_config_key, String(req.params.connectionId), {
      forceRefresh: q.force_refresh,
    });
    await store.connections.markFetched(connection.id);
    const errors = await store.connections.errors([connection.id]);
    res.json(connectionFull({ ...connection, lastFetchedAt: new Date() }, { includeRefreshToken: q.refresh_token }, errors.get(connection.id)));
  });

  router.patch('/connections/:connectionId', async (req, res) => {
    const q = query(keyQuery, req);
    const patch = body(patchBody, req);
    await store.connections.update(environment(req).id, q.provider_config_key, req.params.connectionId, {
      endUser: patch.end_user,
      tags: patch.tags,
      webhookUrlOverride: patch.webhook_url_override,
    });
    res.json({ success: true });
  });

  router.delete('/connections/:connectionId', async (req, res) => {
    const q = query(keyQuery, req);
    const env = environment(req);
    if (orchestrator) {
      await store.connections.get(env.id, q.provider_config_key, req.params.connectionId); // a 404 runs nothing
      await orchestrator.beforeConnectionDeletion(env, q.provider_config_key, req.params.connectionId);
    }
    await store.connections.delete(env.id, q.provider_config_key, req.params.connectionId);
    res.json({ success: true });
  });

  return router;
}
