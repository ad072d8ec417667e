import { Router } from 'express';
import { z } from 'zod';
import { notFound } from '../../errors';
import type { Store } from '../../store';
import type { DeadEvent } from '../../store/outbox';
import { environment } from '../auth';
import { parse } from '../validate';

/** The outboxes whose events can die: `auth` webhooks to send, sync `lifecycle` of connections. */
const OUTBOXES = ['auth', 'lifecycle'] as const;
type OutboxName = (typeof OUTBOXES)[number];

const retryParams = z.object({
  outbox: z.enum(OUTBOXES, { error: 'outbox must be auth or lifecycle' }),
  id: z.coerce.number({ error: 'id must be a number' }).int('id must be a whole number').positive('id must be positive').max(2 ** 53 - 1),
});

function deadShape(outbox: OutboxName, e: DeadEvent) {
  return { outbox, id: e.id, attempts: e.attempts, last_error: e.lastError, created_at: e.createdAt.toISOString(), dead_at: e.deadAt.toISOString(), event: e.event };
}

/**
 * Outbox events that failed too often (OUTBOX_MAX_ATTEMPTS) and were set aside instead of retried
 * forever (secret-key routes, the key's environment only): list them, and send one through again.
 *
 * @example
 * GET /environment/outbox/dead
 * // {"data":[{"outbox":"auth","id":7,"attempts":20,"last_error":"...","event":{"operation":"refresh",...}}]}
 * POST /environment/outbox/auth/7/retry   // {"success":true}: due now, with a fresh count of attempts
 */
export function outboxRoutes(store: Store): Router {
  const router = Router();

  router.get('/environment/outbox/dead', async (req, res) => {
    const env = environment(req);
    const [auth, lifecycle] = await Promise.all([store.authEvents.dead(env.id), store.jobs.deadEvents(env.id)]);
    res.json({ data: [...auth.map((e) => deadShape('auth', e)), ...lifecycle.map((e) => deadShape('lifecycle', e))] });
  });

  router.post('/environment/outbox/:outbox/:id/retry', async (req, res) => {
    const { outbox, id } = parse(retryParams, req.params, 'params');
    const env = environment(req);
    const revived = outbox === 'auth' ? await store.authEvents.revive(env.id, id) : await store.jobs.reviveEvent(env.id, id);
    if (!revived) throw notFound('unknown_dead_event', `No dead ${outbox} event ${id} in this environment`);
    res.json({ success: true });
  });

  return router;
}
