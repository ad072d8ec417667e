import { Router } from 'express';
import { z } from 'zod';
import type { Orchestrator, SyncSelector } from '../../worker/orchestrator';
import { environment } from '../auth';
import { body, identifier, parse, query } from '../validate';

const syncList = z
  .array(z.union([identifier('sync name'), z.object({ name: identifier('sync name'), variant: z.string().max(255).optional() })]))
  .max(1000)
  .default([]);

const target = z.object({
  syncs: syncList,
  provider_config_key: identifier('provider_config_key'),
  connection_id: identifier('connection_id').optional(),
});

const triggerBody = target.extend({
  opts: z.object({ reset: z.boolean().optional(), emptyCache: z.boolean().optional() }).optional(),
  // Deprecated Nango options, still sent by older clients.
  sync_mode: z.enum(['incremental', 'full_refresh', 'full_refresh_and_clear_cache']).optional(),
  full_resync: z.boolean().optional(),
});

const statusQuery = z.object({
  syncs: z.string().min(1, 'syncs is required: sync names separated by commas, or *'),
  provider_config_key: identifier('provider_config_key'),
  connection_id: identifier('connection_id').optional(),
});

const variantParams = z.object({
  name: identifier('sync name'),
  variant: z.string().max(255, 'variant must be at most 255 characters').regex(/^[a-zA-Z0-9_-]+$/, 'variant may contain only letters, digits, "_" and "-"'),
});

const variantBody = z.object({
  provider_config_key: identifier('provider_config_key'),
  connection_id: identifier('connection_id'),
});

const frequencyBody = z.object({
  sync_name: identifier('sync_name'),
  sync_variant: z.string().max(255).optional(),
  provider_config_key: identifier('provider_config_key'),
  connection_id: identifier('connection_id'),
  frequency: z.string().max(100).nullable(),
});

/** Sync control (Nango's `/sync/*`): trigger, pause, start, status, the per-connection frequency, and variants. */
export function syncRoutes(orchestrator: Orchestrator): Router {
  const router = Router();

  router.post('/sync/trigger', async (req, res) => {
    // Nango also takes the integration and connection from its legacy headers.
    const fromHeaders = { provider_config_key: req.get('provider-config-key'), connection_id: req.get('connection-id') };
    if (req.body !== undefined) req.body = { ...fromHeaders, ...req.body };
    const input = body(triggerBody, req);
    const targets = await orchestrator.targets(environment(req), input.provider_config_key, input.syncs, input.connection_id);
    const reset = input.opts?.reset === true || input.full_resync === true || (input.sync_mode !== undefined && input.sync_mode !== 'incremental');
    const emptyCache = reset && (input.opts?.emptyCache === true || input.sync_mode === 'full_refresh_and_clear_cache');
    await orchestrator.trigger(targets, { reset, emptyCache });
    res.json({ success: true });
  });

  router.post('/sync/pause', async (req, res) => {
    const input = body(target, req);
    await orchestrator.pause(await orchestrator.targets(environment(req), input.provider_config_key, input.syncs, input.connection_id));
    res.json({ success: true });
  });

  router.post('/sync/start', async (req, res) => {
    const input = body(target, req);
    await orchestrator.resume(await orchestrator.targets(environment(req), input.provider_config_key, input.syncs, input.connection_id));
    res.json({ success: true });
  });

  router.get('/sync/status', async (req, res) => {
    const input = query(statusQuery, req);
    const selectors: SyncSelector[] | '*' = input.syncs.trim() === '*' ? '*' : input.syncs.split(',').map((s) => s.trim()).filter(Boolean);
    const targets = await orchestrator.targets(environment(req), input.provider_config_key, selectors, input.connection_id);
    res.json({ syncs: await orchestrator.status(targets) });
  });

  router.put('/sync/update-connection-frequency', async (req, res) => {
    const input = body(frequencyBody, req);
    const [one] = await orchestrator.targets(environment(req), input.provider_config_key, [{ name: input.sync_name, variant: input.sync_variant }], input.connection_id);
    res.json({ frequency: await orchestrator.updateFrequency(one!, input.frequency) });
  });

  router.post('/sync/:name/variant/:variant', async (req, res) => {
    const params = parse(variantParams, req.params, 'params');
    const input = body(variantBody, req);
    const target = await orchestrator.createVariant(environment(req), input.provider_config_key, input.connection_id, params.name, params.variant);
    res.json({ id: String(target.row.id), name: target.key.sync, variant: target.key.variant });
  });

  router.delete('/sync/:name/variant/:variant', async (req, res) => {
    const params = parse(variantParams, req.params, 'params');
    const input = body(variantBody, req);
    await orchestrator.deleteVariant(environment(req), input.provider_config_key, input.connection_id, params.name, params.variant);
    res.json({ success: true });
  });

  return router;
}
