import { Router } from 'express';
import { METRICS_CONTENT_TYPE, renderMetrics } from '../../metrics';
import { environment } from '../auth';

/** Who may read `GET /metrics`: `key` (a secret key, which sees its environment's series) or `none` (anyone, every series). */
export type MetricsAuth = 'key' | 'none';

/** `GET /metrics` in Prometheus text format; mount before the secret-key check for `none`, after it for `key`. */
export function metricsRoutes(auth: MetricsAuth): Router {
  const router = Router();
  router.get('/metrics', async (req, res) => {
    res.type(METRICS_CONTENT_TYPE).send(await renderMetrics(auth === 'key' ? environment(req).name : undefined));
  });
  return router;
}
