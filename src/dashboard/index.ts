import fs from 'node:fs';
import path from 'node:path';
import { temporal } from '@temporalio/proto';
import { Router, type Response } from 'express';
import { z } from 'zod';
import { environment } from '../api/auth';
import { connectionSummary } from '../shapes';
import { identifier, query } from '../api/validate';
import { SynclineError } from '../errors';
import type { Store } from '../store';
import type { Orchestrator, SyncTarget } from '../worker/orchestrator';
import { syncWorkflowId } from '../worker/workflow-ids';

/**
 * The dashboard: one server-rendered page and a small vanilla script (`assets/`). The page signs in
 * with an environment's secret key, keeps it in sessionStorage and calls the REST API with it; the
 * two routes below serve what the public API has no shape for.
 */
const ASSETS = path.join(__dirname, 'assets');
const asset = (name: string) => fs.readFileSync(path.join(ASSETS, name), 'utf8');

// Nothing but our own script and stylesheet may run or load; the page may not be framed.
const CSP = "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self' data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

const PAGE = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<title>Syncline</title><link rel="stylesheet" href="/dashboard/app.css"></head>
<body><header><a class="brand" href="#/connections">Syncline</a><nav id="nav" hidden>
<a href="#/integrations">Integrations</a><a href="#/connections">Connections</a><a href="#/logs">Logs</a><a href="#/outbox">Outbox</a><a href="#/settings">Settings</a>
<button type="button" id="sign-out" class="link">Sign out</button></nav></header>
<main id="main"><noscript>The dashboard needs JavaScript.</noscript></main>
<script src="/dashboard/app.js"></script></body></html>`;

/** `GET /` (the page), `/dashboard/app.js` and `/dashboard/app.css`: public, no data in them. */
export function dashboardPages(): Router {
  const router = Router();
  const files = { js: asset('app.js'), css: asset('app.css') };
  const send = (res: Response, type: string, body: string) => {
    res.set({ 'content-security-policy': CSP, 'x-content-type-options': 'nosniff', 'referrer-policy': 'no-referrer', 'cache-control': 'no-cache' });
    res.type(type).send(body);
  };
  router.get(['/', '/dashboard'], (_req, res) => send(res, 'html', PAGE));
  router.get('/dashboard/app.js', (_req, res) => send(res, 'js', files.js));
  router.get('/dashboard/app.css', (_req, res) => send(res, 'css', files.css));
  return router;
}

const connectionsQuery = z.object({
  integration: z.string().max(255).optional(),
  search: z.string().max(255).optional(),
  page: z.coerce.number().int().min(0).default(0),
  limit: z.coerce.number().int().min(1).max(100).default(25),
});

const syncQuery = z.object({
  provider_config_key: identifier('provider_config_key'),
  connection_id: identifier('connection_id'),
  sync: identifier('sync'),
  variant: z.string().max(255).default('base'),
});

/**
 * The dashboard's own reads, behind the secret key:
 * - `GET /dashboard/api/connections?integration=&search=&page=&limit=`: one page of connections,
 *   each with the status of its syncs (server-side paging and search: fast on many connections).
 * - `GET /dashboard/api/history?provider_config_key=&connection_id=&sync=&variant=`: the Temporal
 *   history of the sync's workflow (its current run), from the embedded engine or the cluster.
 */
export function dashboardApi(store: Store, orchestrator: Orchestrator | undefined): Router {
  const router = Router();

  router.get('/dashboard/api/connections', async (req, res) => {
    const env = environment(req);
    const q = query(connectionsQuery, req);
    const filter = { search: q.search || undefined, integrationKeys: q.integration ? [q.integration] : undefined };
    const connections = await store.connections.list(env.id, { ...filter, limit: q.limit, page: q.page });
    // Is there a next page: the one connection after this page (a page of size 1 at that offset).
    const after = await store.connections.list(env.id, { ...filter, limit: 1, page: (q.page + 1) * q.limit });
    let targets: SyncTarget[][] = connections.map(() => []);
    if (orchestrator) targets = await Promise.all(connections.map((c) => orchestrator.targets(env, c.providerConfigKey, '*', c.connectionId)));
    const statuses = orchestrator ? await orchestrator.status(targets.flat()) : [];
    let next = 0;
    res.json({
      connections: connections.map((c, i) => ({ ...connectionSummary(c), syncs: targets[i]!.map(() => statuses[next++]) })),
      page: q.page,
      limit: q.limit,
      has_more: after.length > 0,
      orchestration: orchestrator !== undefined,
    });
  });

  router.get('/dashboard/api/history', async (req, res) => {
    if (!orchestrator) throw new SynclineError('not_found', 'no_orchestration', 'This server runs no orchestration');
    const env = environment(req);
    const q = query(syncQuery, req);
    await store.connections.get(env.id, q.provider_config_key, q.connection_id); // 404 outside this environment
    const workflowId = syncWorkflowId({ environment: env.name, integration: q.provider_config_key, connectionId: q.connection_id, sync: q.sync, variant: q.variant });
    let history;
    try {
      history = await orchestrator.client.workflow.getHandle(workflowId).fetchHistory();
    } catch (err) {
      if ((err as { name?: string }).name === 'WorkflowNotFoundError' || /not found/i.test(String((err as Error).message))) {
        throw new SynclineError('not_found', 'unknown_workflow', `No workflow ${workflowId}`);
      }
      throw err;
    }
    res.json({ workflow_id: workflowId, events: (history.events ?? []).map(eventShape) });
  });

  return router;
}

const EVENT_TYPES = temporal.api.enums.v1.EventType;

/** One history event, summarised: id, time, type (`ActivityTaskScheduled`), and its telling details. */
function eventShape(event: temporal.api.history.v1.IHistoryEvent) {
  const typeName = EVENT_TYPES[event.eventType ?? 0] ?? 'EVENT_TYPE_UNSPECIFIED';
  const type = typeName
    .replace(/^EVENT_TYPE_/, '')
    .toLowerCase()
    .replace(/(^|_)([a-z])/g, (_m, _s, c: string) => c.toUpperCase());
  const seconds = Number(event.eventTime?.seconds ?? 0);
  const time = new Date(seconds * 1000 + Math.floor((event.eventTime?.nanos ?? 0) / 1e6)).toISOString();
  return { id: Number(event.eventId ?? 0), time, type, details: details(event) };
}

function details(event: temporal.api.history.v1.IHistoryEvent): string {
  const e = event as Record<string, unknown>;
  const attributes = Object.keys(e).find((k) => k.endsWith('EventAttributes') && e[k]);
  const a = (attributes ? e[attributes] : {}) as Record<string, any>;
  const parts: string[] = [];
  if (a.workflowType?.name) parts.push(`workflow ${a.workflowType.name}`);
  if (a.activityType?.name) parts.push(`activity ${a.activityType.name}`);
  if (a.signalName) parts.push(`signal ${a.signalName}`);
  if (a.timerId) parts.push(`timer ${a.timerId}`);
  if (a.startToFireTimeout?.seconds !== undefined) parts.push(`fires in ${Number(a.startToFireTimeout.seconds)} s`);
  if (a.attempt) parts.push(`attempt ${a.attempt}`);
  if (a.identity) parts.push(`by ${a.identity}`);
  if (a.failure?.message) parts.push(`failure: ${a.failure.message}`);
  if (a.newExecutionRunId) parts.push(`continued as ${a.newExecutionRunId}`);
  if (a.reason) parts.push(`reason: ${a.reason}`);
  return parts.join(', ');
}
