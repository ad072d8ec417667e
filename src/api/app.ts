import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import express from 'express';
import type { Logger } from 'pino';
import type { Store } from '../store';
import type { Orchestrator } from '../worker/orchestrator';
import { requireSecretKey, secretKeyAuth } from './auth';
import { answerClientError, errorHandler } from './errors';
import { jsonBody, storableUrl } from './well-formed';
import { authFlowRoutes, connectSessionRoutes } from './routes/connect';
import { actionRoutes } from './routes/actions';
import { connectionRoutes } from './routes/connections';
import { healthRoutes } from './routes/health';
import { environmentSettingsRoutes } from './routes/environment-settings';
import { outboxRoutes } from './routes/outbox';
import { environmentVariableRoutes } from './routes/environment-variables';
import { integrationRoutes } from './routes/integrations';
import { logRoutes } from './routes/logs';
import { metricsRoutes, type MetricsAuth } from './routes/metrics';
import { providerRoutes } from './routes/providers';
import { isProxyUrl, proxyHandler } from './routes/proxy';
import { recordRoutes } from './routes/records';
import { scriptRoutes } from './routes/scripts';
import { syncRoutes } from './routes/syncs';
import { incomingWebhookRoutes, webhookSettingsRoutes } from './routes/webhooks';
import { handlerStarter, temporalDispatcher } from '../webhooks';
import { notFound } from '../errors';
import { dashboardApi, dashboardPages } from '../dashboard';

/** Largest JSON body accepted; larger ones get 413 before any work is done. */
export const BODY_LIMIT = '10mb';

export interface AppOptions {
  store: Store;
  logger: Logger;
  /** Sync and action orchestration; without it `/sync/*` and `/action/*` are not served and deploys start nothing. */
  orchestrator?: Orchestrator;
  /** Who may read `GET /metrics` (default `key`: a secret key, which sees its environment's series). */
  metricsAuth?: MetricsAuth;
  /** Provider webhooks accepted per environment and minute (default 4,000, as Nango). */
  webhookRateLimit?: number;
  /** `GET /records` pages read at once (default RECORD_READS_AT_ONCE); more wait their turn. */
  recordReadsAtOnce?: number;
}

/** The REST API as an express app (no listening): Nango-compatible routes behind secret-key auth. */
export function createApp({ store, logger, orchestrator, metricsAuth = 'key', webhookRateLimit, recordReadsAtOnce }: AppOptions): express.Express {
  const app = express();
  app.disable('x-powered-by');
  app.set('query parser', 'extended'); // tags[key]=value and repeated ids=
  app.set('trust proxy', 'loopback');

  // Before any route: a path or query that decodes to NUL, unpaired surrogates or invalid UTF-8 is a 400.
  app.use(storableUrl);
  app.use(healthRoutes(store.db, orchestrator?.client));

  // The end user's side of connecting (connect page, OAuth redirects, browser SDK) carries a
  // connect session token instead of the secret key.
  app.use(authFlowRoutes(store, logger, { orchestrator }));
  // Providers' webhooks carry their own signature instead of the secret key.
  if (orchestrator) {
    const webhooks = temporalDispatcher(store, orchestrator.client, orchestrator.taskQueue);
    app.use(incomingWebhookRoutes({ store, webhooks, startHandler: handlerStarter(orchestrator.client, orchestrator.taskQueue), perMinute: webhookRateLimit }));
  }
  // The dashboard's page and assets; it signs in with a secret key and calls the API with it.
  app.use(dashboardPages());
  if (metricsAuth === 'none') app.use(metricsRoutes('none'));

  // Authenticate first: a request without a valid key is turned away before its body is read.
  const authenticate = secretKeyAuth(store.environments);
  app.use(requireSecretKey(authenticate));
  app.use(jsonBody(BODY_LIMIT, { strict: false }));
  app.use(connectSessionRoutes(store));
  app.use(providerRoutes());
  app.use(connectionRoutes(store, orchestrator));
  app.use(integrationRoutes(store));
  app.use(environmentVariableRoutes(store));
  app.use(environmentSettingsRoutes(store));
  app.use(outboxRoutes(store));
  app.use(webhookSettingsRoutes(store));
  app.use(recordRoutes(store, recordReadsAtOnce));
  app.use(logRoutes(store));
  if (metricsAuth === 'key') app.use(metricsRoutes('key'));
  app.use(dashboardApi(store, orchestrator));
  app.use(scriptRoutes(store, orchestrator));
  if (orchestrator) {
    app.use(syncRoutes(orchestrator));
    app.use(actionRoutes(orchestrator));
  }
  app.use((req) => {
    throw notFound('unknown_route', `No route ${req.method} ${req.path}`);
  });
  app.use(errorHandler(logger));
  return withClientErrors(withFastPath(app, isProxyUrl, proxyHandler(store, logger, authenticate)));
}

/**
 * Makes every server started with `app.listen` answer requests Node's parser refuses (a 100 KB
 * header: 431) in our JSON error shape instead of Node's empty body.
 */
function withClientErrors(app: express.Express): express.Express {
  const listen = app.listen.bind(app) as (...args: unknown[]) => Server;
  app.listen = ((...args: unknown[]) => listen(...args).on('clientError', answerClientError)) as typeof app.listen;
  return app;
}

type Handle = (req: IncomingMessage, res: ServerResponse, next?: (err?: unknown) => void) => void;

/**
 * Serves the requests `matches` picks straight from node:http, ahead of express. For the proxy,
 * the API's hot path, express's per-request work (prototype swaps, the router walk, the query
 * parser) cost about as much as the proxying itself; its handler streams bodies untouched and
 * answers its own errors in the same shape.
 */
function withFastPath(app: express.Express, matches: (url: string | undefined) => boolean, handler: (req: IncomingMessage, res: ServerResponse) => void): express.Express {
  // The express app calls `app.handle(req, res, next)` for every request, also when mounted.
  const target = app as unknown as { handle: Handle };
  const viaExpress = target.handle.bind(app);
  target.handle = (req, res, next) => (matches(req.url) ? handler(req, res) : viaExpress(req, res, next));
  return app;
}
