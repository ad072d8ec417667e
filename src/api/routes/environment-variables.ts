import { Router } from 'express';
import { z } from 'zod';
import type { Store } from '../../store';
import { environment } from '../auth';
import { parse } from '../validate';

const variable = z.object({
  name: z.string().regex(/^[A-Za-z_][A-Za-z0-9_]{0,254}$/, 'name must be letters, digits and "_", not starting with a digit'),
  value: z.string().max(65_536, 'value must be at most 64 KiB'),
});
const variables = z
  .array(variable)
  .min(1, 'send at least one variable')
  .max(1000)
  .superRefine((list, ctx) => {
    const seen = new Set<string>();
    list.forEach(({ name }, i) => {
      if (seen.has(name)) ctx.addIssue({ code: 'custom', path: [i, 'name'], message: `name "${name}" appears more than once` });
      seen.add(name);
    });
  });

export function environmentVariableRoutes(store: Store): Router {
  const router = Router();

  router.get('/environment-variables', async (req, res) => {
    res.json(await store.environmentVariables.list(environment(req).id));
  });

  router.post('/environment-variables', async (req, res) => {
    // A bare array, or {variables: [...]} for clients that cannot send a top-level array.
    // Any other body is validated as is, so it gets invalid_body rather than missing_body.
    const raw = Array.isArray(req.body) ? req.body : ((req.body as { variables?: unknown } | undefined)?.variables ?? req.body);
    await store.environmentVariables.upsert(environment(req).id, parse(variables, raw, 'body'));
    res.json({ success: true });
  });

  router.delete('/environment-variables/:name', async (req, res) => {
    await store.environmentVariables.delete(environment(req).id, req.params.name);
    res.json({ success: true });
  });

  return router;
}
