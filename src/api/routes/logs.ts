import { Router } from 'express';
import { z } from 'zod';
import type { Store } from '../../store';
import type { StoredLog } from '../../store/logs';
import { environment } from '../auth';
import { query } from '../validate';

const list = <T extends string>(values: readonly [T, ...T[]], what: string) =>
  z
    .string()
    .transform((v) => v.split(',').map((s) => s.trim()).filter(Boolean))
    .pipe(z.array(z.enum(values, { error: `${what} must be one or more of ${values.join(', ')}, comma-separated` })))
    .optional();

const instant = (what: string) => z.iso.datetime({ offset: true, error: `${what} must be an ISO 8601 instant` }).transform((v) => new Date(v)).optional();

const logsQuery = z
  .object({
    connectionId: z.string().max(255).optional(),
    integration: z.string().max(255).optional(),
    sync: z.string().max(255).optional(),
    action: z.string().max(255).optional(),
    jobId: z.string().max(1000).optional(),
    level: list(['debug', 'info', 'warn', 'error'], 'level'),
    kind: list(['log', 'http', 'outcome'], 'kind'),
    from: instant('from'),
    to: instant('to'),
    order: z.enum(['asc', 'desc']).default('desc'),
    limit: z.coerce.number().int().min(1).max(1000).default(100),
    cursor: z.string().max(200).optional(),
  })
  .refine((q) => q.sync === undefined || q.action === undefined, 'pass sync or action, not both');

/** A log line as `GET /logs` serves it. */
export function logShape(log: StoredLog) {
  return {
    id: String(log.id),
    created_at: log.createdAt.toISOString(),
    level: log.level,
    kind: log.kind,
    message: log.message,
    operation: log.operation,
    integration: log.integration,
    connection_id: log.connectionId,
    name: log.script,
    job_id: log.jobId,
    http: log.http ? { method: log.http.method, url: log.http.url, status: log.http.status, duration_ms: log.http.durationMs, ...(log.http.error ? { error: log.http.error } : {}) } : null,
  };
}

/**
 * `GET /logs`: the environment's execution logs (script lines, HTTP calls, outcomes), filtered and
 * paged by an opaque cursor in a stable order (newest first, or `order=asc`).
 */
export function logRoutes(store: Store): Router {
  const router = Router();
  router.get('/logs', async (req, res) => {
    const q = query(logsQuery, req);
    const page = await store.logs.list(environment(req).id, {
      connectionId: q.connectionId,
      integration: q.integration,
      // A sync's runs include its webhook handler runs.
      operations: q.sync !== undefined ? ['sync', 'webhook'] : q.action !== undefined ? ['action'] : undefined,
      script: q.sync ?? q.action,
      jobId: q.jobId,
      levels: q.level,
      kinds: q.kind,
      from: q.from,
      to: q.to,
      order: q.order,
      limit: q.limit,
      cursor: q.cursor,
    });
    res.json({ logs: page.logs.map(logShape), next_cursor: page.nextCursor });
  });
  return router;
}
