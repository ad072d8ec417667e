import { Router, type Request } from 'express';
import { z } from 'zod';
import type { Store } from '../../store';
import { MAX_RECORDS_LIMIT } from '../../store/records';
import type { RecordAction } from '../../types';
import { invalid } from '../../errors';
import { environment } from '../auth';
import { Semaphore } from '../semaphore';
import { body, header, query } from '../validate';

const model = z.string().min(1, 'model is required').max(255);
const variant = z.string().regex(/^[\w-]{1,255}$/, 'variant must be letters, digits, "_" or "-"').optional();

const listQuery = z.object({
  model,
  variant,
  modified_after: z.string().optional(),
  delta: z.string().optional(),
  limit: z.coerce
    .number({ error: 'limit must be a number' })
    .int('limit must be an integer')
    .min(1, 'limit must be at least 1')
    .max(MAX_RECORDS_LIMIT, `limit must be at most ${MAX_RECORDS_LIMIT}`)
    .optional(),
  filter: z
    .string()
    .optional()
    .transform((f, ctx) => {
      if (!f) return undefined;
      const actions = f.split(',').map((s) => s.trim().toUpperCase());
      if (!actions.every((a) => a === 'ADDED' || a === 'UPDATED' || a === 'DELETED')) {
        ctx.addIssue({ code: 'custom', message: 'filter must be added, updated, deleted, or two of them separated by a comma' });
        return z.NEVER;
      }
      return actions as RecordAction[];
    }),
  cursor: z.string().max(2048).optional(),
  // The query parser turns more than 20 repeated `ids=` into an object keyed by position.
  ids: z
    .union([z.string(), z.array(z.string()), z.record(z.string().regex(/^\d+$/), z.string())])
    .optional()
    .transform((v) => (v === undefined ? undefined : typeof v === 'string' ? [v] : Object.values(v)))
    .refine((v) => v === undefined || v.length <= 100, 'ids accepts at most 100 ids'),
});

const pruneBody = z.object({
  model,
  variant,
  until_cursor: z.string().min(1, 'until_cursor is required').max(2048),
  limit: z.number().int().min(1).max(MAX_RECORDS_LIMIT).optional(),
});

/** Variants are stored as `Model::variant`; `base` is the default variant. */
const modelName = (m: string, v?: string) => (v && v !== 'base' ? `${m}::${v}` : m);

async function connectionOf(store: Store, req: Request) {
  return store.connections.get(environment(req).id, header(req, 'Provider-Config-Key'), header(req, 'Connection-Id'));
}

/** A date as `new Date` reads it, within years 1-9999 (Postgres and ISO 8601 without extended years). */
function parseInstant(value: string, name: string): Date {
  const date = new Date(value);
  const year = date.getUTCFullYear();
  if (Number.isNaN(date.getTime()) || year < 1 || year > 9999) throw invalid('invalid_query', `${name} must be an ISO 8601 date between the years 1 and 9999`);
  return date;
}

/**
 * Record pages read at once (default). A page is one query holding a pool connection, then rows
 * parsed and a body of up to 10,000 records serialised on the event loop: hundreds at once took
 * every pool connection and most of the loop, and a sync trigger, whose engine writes queue behind
 * them at every step, went from about 2 s to 30 s. Waiting requests cost neither.
 */
export const RECORD_READS_AT_ONCE = 4;

export function recordRoutes(store: Store, readsAtOnce = RECORD_READS_AT_ONCE): Router {
  const router = Router();
  const reads = new Semaphore(readsAtOnce);

  router.get('/records', async (req, res) => {
    const q = query(listQuery, req);
    const since = q.modified_after ?? q.delta;
    const modifiedAfter = since ? parseInstant(since, 'modified_after') : undefined;
    await reads.run(async () => {
      if (req.socket.destroyed) return; // the client gave up while waiting
      const connection = await connectionOf(store, req);
      const page = await store.records.list(connection.id, { model: modelName(q.model, q.variant), modifiedAfter, filter: q.filter, limit: q.limit, cursor: q.cursor, ids: q.ids });
      res.json(page);
    });
  });

  router.patch('/records/prune', async (req, res) => {
    const input = body(pruneBody, req);
    const connection = await connectionOf(store, req);
    res.json(await store.records.prune(connection.id, modelName(input.model, input.variant), input.until_cursor, input.limit));
  });

  return router;
}
