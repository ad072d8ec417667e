import { Router } from 'express';
import type { Client } from '@temporalio/client';
import type { Db } from '../../store/db';

/** How long a dependency may take to answer before it counts as away. */
const CHECK_TIMEOUT_MS = 2000;

type Check = 'ok' | 'unavailable';

/**
 * `GET /health`: 200 when the database and the Temporal frontend (the embedded engine or a cluster)
 * answer, else 503; the body says which is away. `GET /health?live` is a pure liveness check (the
 * process serves HTTP), for orchestrators that must not restart Syncline during a database outage
 * it rides out by itself.
 *
 * @example
 * curl -s localhost:3003/health   # {"result":"ok","database":"ok","temporal":"ok"}
 */
export function healthRoutes(db: Db, temporal?: Client): Router {
  const router = Router();
  router.get('/health', async (req, res) => {
    if (req.query.live !== undefined) {
      res.json({ result: 'ok' });
      return;
    }
    const [database, engine] = await Promise.all([
      check(() => db.query('SELECT 1')),
      temporal ? check(() => temporal.connection.withDeadline(Date.now() + CHECK_TIMEOUT_MS, () => temporal.workflowService.getSystemInfo({}))) : undefined,
    ]);
    const ok = database === 'ok' && engine !== 'unavailable';
    res.status(ok ? 200 : 503).json({ result: ok ? 'ok' : 'unavailable', database, ...(engine ? { temporal: engine } : {}) });
  });
  return router;
}

async function check(probe: () => Promise<unknown>): Promise<Check> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error('timed out')), CHECK_TIMEOUT_MS)));
  try {
    await Promise.race([probe(), timeout]);
    return 'ok';
  } catch {
    return 'unavailable';
  } finally {
    clearTimeout(timer);
  }
}
