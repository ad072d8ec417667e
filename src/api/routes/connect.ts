import { randomBytes, randomUUID } from 'node:crypto';
import { Router, type Request, type Response } from 'express';
import type { Logger } from 'pino';
import { z } from 'zod';
import { invalid, notFound, SynclineError } from '../../errors';
import { findProvider, getProvider, interpolate, type ProviderDefinition } from '../../providers';
import { oauth1Header } from '../../providers/oauth1';
import {
  authorizationUrl,
  clientCredentialsCredentials,
  configFromToken,
  oauth2Credentials,
  pkcePair,
  requestToken,
  scopesOf,
  TokenError,
} from '../../providers/oauth2';
import { emitAuthEvent } from '../../providers/events';
import { credentialsChanged } from '../../providers/refresh';
import type { Store } from '../../store';
import type { ConnectSession } from '../../store/auth';
import type { Connection, ConnectionCredentials, Integration } from '../../types';
import type { Orchestrator } from '../../worker/orchestrator';
import { environment } from '../auth';
import { upsertValidated } from '../connection-validation';
import { connectPage, FRONTEND_SDK, resultPage } from '../connect-ui';
import { toHttpError } from '../errors';
import { body, identifier, jsonObject, parse } from '../validate';
import { formBody, jsonBody } from '../well-formed';

/** Lifetime of a connect session (Nango's: 30 minutes). */
export const CONNECT_SESSION_TTL_MS = 30 * 60_000;
/** Time an end user has at the provider's consent screen. */
const OAUTH_SESSION_TTL_MS = 15 * 60_000;

const endUser = z.object({
  id: identifier('end_user.id'),
  email: z.string().email().nullish(),
  display_name: z.string().max(255).nullish(),
  tags: z.record(z.string(), z.string()).optional(),
});
const organization = z.object({ id: identifier('organization.id'), display_name: z.string().max(255).nullish() });
const configDefaults = z.record(
  z.string(),
  z.object({ connection_config: jsonObject.optional(), authorization_params: z.record(z.string(), z.string()).optional() }).loose(),
);

const sessionBody = z.object({
  end_user: endUser,
  organization: organization.nullish(),
  tags: z.record(z.string(), z.string()).optional(),
  allowed_integrations: z.array(identifier('allowed_integrations[]')).optional(),
  integrations_config_defaults: configDefaults.optional(),
  overrides: z.record(z.string(), z.unknown()).optional(),
  webhook_url_override: z.url({ protocol: /^https?$/ }).nullish(),
});

const reconnectBody = z.object({
  connection_id: identifier('connection_id'),
  integration_id: identifier('integration_id'),
  end_user: endUser.optional(),
  organization: organization.nullish(),
  integrations_config_defaults: configDefaults.optional(),
  overrides: z.record(z.string(), z.unknown()).optional(),
});

/** `POST /connect/sessions` and `/connect/sessions/reconnect`, behind the secret key. */
export function connectSessionRoutes(store: Store, options: ConnectOptions = {}): Router {
  const router = Router();
  const origin = originOf(options);

  router.post('/connect/sessions', async (req, res) => {
    const input = body(sessionBody, req);
    const env = environment(req);
    for (const key of input.allowed_integrations ?? []) await store.integrations.get(env.id, key);
    const { token, session } = await store.auth.createConnectSession({
      environmentId: env.id,
      endUser: endUserOf(input.end_user, input.organization),
      tags: Object.fromEntries(Object.entries({ ...input.end_user.tags, ...input.tags }).map(([k, v]) => [k.toLowerCase(), v])),
      allowedIntegrations: input.allowed_integrations ?? null,
      integrationsConfigDefaults: input.integrations_config_defaults ?? {},
      webhookUrlOverride: input.webhook_url_override ?? null,
      reconnectConnectionId: null,
      ttlMs: CONNECT_SESSION_TTL_MS,
    });
    res.status(201).json(sessionResponse(origin(req), token, session));
  });

  router.post('/connect/sessions/reconnect', async (req, res) => {
    const input = body(reconnectBody, req);
    const env = environment(req);
    const connection = await store.connections.get(env.id, input.integration_id, input.connection_id);
    const { token, session } = await store.auth.createConnectSession({
      environmentId: env.id,
      endUser: input.end_user ? endUserOf(input.end_user, input.organization) : connection.endUser,
      tags: connection.tags,
      allowedIntegrations: [input.integration_id],
      integrationsConfigDefaults: input.integrations_config_defaults ?? {},
      webhookUrlOverride: connection.webhookUrlOverride,
      reconnectConnectionId: connection.id,
      ttlMs: CONNECT_SESSION_TTL_MS,
    });
    res.status(201).json(sessionResponse(origin(req), token, session));
  });

  return router;
}

function endUserOf(user: z.infer<typeof endUser>, org: z.infer<typeof organization> | null | undefined): Connection['endUser'] {
  return { id: user.id, email: user.email ?? null, display_name: user.display_name ?? null, organization: org ?? null };
}

export interface ConnectOptions {
  /**
   * The server's public URL (`https://sync.example.com`), for connect links and the OAuth redirect
   * URI registered with providers. Default: the origin each request came to.
   */
  publicUrl?: string;
  /** Runs the integration's validate-connection scripts before a connection counts (none without it). */
  orchestrator?: Orchestrator;
}

function originOf(options: ConnectOptions): (req: Request) => string {
  const fixed = options.publicUrl?.replace(/\/+$/, '');
  return (req) => fixed ?? `${req.protocol}://${req.get('host')}`;
}

function sessionResponse(origin: string, token: string, session: ConnectSession) {
  return { data: { token, connect_link: `${origin}/connect?session_token=${encodeURIComponent(token)}`, expires_at: session.expiresAt.toISOString() } };
}

// ---- Public flows: authenticated by the connect session token, not the secret key -------------

interface FlowContext {
  session: ConnectSession;
  integration: Integration;
  provider: ProviderDefinition;
  connectionId: string;
  connectionConfig: Record<string, unknown>;
}

const flowQuery = z.object({
  connect_session_token: z.string().min(1).optional(),
  connection_id: identifier('connection_id').optional(),
  connection_config: z.record(z.string(), z.string()).optional(),
  /** Nango's frontend sends connection config as a JSON string. */
  params: z.string().optional(),
});

/**
 * The end user's side: connect page, OAuth redirect and callback, credential forms, browser SDK.
 * Mounted before the secret-key check.
 */
export function authFlowRoutes(store: Store, logger?: Logger, options: ConnectOptions = {}): Router {
  const router = Router();
  const origin = originOf(options);
  const htmlErrors = (res: Response, fn: () => Promise<void>) => renderErrors(res, fn, logger);
  const forms = [...formBody('64kb'), ...jsonBody('64kb')];

  router.get('/sdk/frontend.js', (_req, res) => {
    res.type('application/javascript').set('cache-control', 'public, max-age=300').send(FRONTEND_SDK);
  });

  router.get('/connect', async (req, res) => {
    await htmlErrors(res, async () => {
      const token = typeof req.query.session_token === 'string' ? req.query.session_token : '';
      const session = await sessionOf(store, token);
      const all = await store.integrations.list(session.environmentId);
      const allowed = all.filter((i) => session.allowedIntegrations === null || session.allowedIntegrations.includes(i.uniqueKey));
      const integrations = allowed.flatMap((i) => {
        const provider = findProvider(i.provider);
        if (!provider) return [];
        return [{ key: i.uniqueKey, displayName: i.displayName ?? provider.display_name, provider, preset: session.integrationsConfigDefaults[i.uniqueKey]?.connection_config ?? {} }];
      });
      res.type('html').send(connectPage(token, integrations));
    });
  });

  router.get('/oauth/connect/:integration', async (req, res) => {
    await htmlErrors(res, async () => {
      const flow = await startFlow(store, req, req.params.integration as string);
      const redirectUri = `${origin(req)}/oauth/callback`;
      const { session, integration, provider } = flow;
      const client = appClient(integration);
      const base = { environmentId: session.environmentId, integrationId: integration.id, connectionId: flow.connectionId, connectSessionId: session.id, redirectUri, connectionConfig: flow.connectionConfig };
      if (provider.auth_mode === 'OAUTH2') {
        const state = randomBytes(24).toString('base64url');
        const pkce = provider.disable_pkce ? undefined : pkcePair();
        await store.auth.createOAuthSession({ ...base, state, secrets: { codeVerifier: pkce?.verifier } }, OAUTH_SESSION_TTL_MS);
        const url = authorizationUrl(provider, {
          clientId: client.client_id,
          redirectUri,
          state,
          scopes: scopesOf(provider, integration.credentials?.scopes),
          codeChallenge: pkce?.challenge,
          connectionConfig: flow.connectionConfig,
          extraParams: session.integrationsConfigDefaults[integration.uniqueKey]?.authorization_params,
        });
        res.redirect(302, url);
        return;
      }
      if (provider.auth_mode === 'OAUTH1') {
        const temporary = await oauth1Call(provider, provider.request_token_url!, flow.connectionConfig, { consumerKey: client.client_id, consumerSecret: client.client_secret, callback: redirectUri });
        await store.auth.createOAuthSession({ ...base, state: temporary.oauth_token!, secrets: { requestTokenSecret: temporary.oauth_token_secret } }, OAUTH_SESSION_TTL_MS);
        const url = new URL(interpolate(provider.authorization_url!, { credentials: { type: 'NONE' }, connectionConfig: flow.connectionConfig }));
        url.searchParams.set('oauth_token', temporary.oauth_token!);
        for (const [k, v] of Object.entries(provider.authorization_params ?? {})) url.searchParams.set(k, v);
        res.redirect(302, url.toString());
        return;
      }
      throw invalid('wrong_auth_mode', `Integration "${integration.uniqueKey}" uses ${provider.auth_mode}: send its credentials to /connect/auth/${integration.uniqueKey}`);
    });
  });

  router.get('/oauth/callback', async (req, res) => {
    await htmlErrors(res, async () => {
      const q = req.query as Record<string, string | undefined>;
      const state = q.state ?? q.oauth_token;
      const pending = state ? await store.auth.takeOAuthSession(state) : null;
      if (!pending) throw invalid('invalid_state', 'This authorisation is unknown or expired: start again from your app');
      const integration = (await store.integrations.list(pending.environmentId)).find((i) => i.id === pending.integrationId);
      if (!integration) throw notFound('unknown_provider_config', 'The integration was deleted during the authorisation');
      const provider = getProvider(integration.provider);
      const client = appClient(integration);
      if (q.error) throw new SynclineError('forbidden', 'authorization_denied', `${provider.display_name} did not authorise the connection: ${q.error_description ?? q.error}`);
      let credentials: ConnectionCredentials;
      let config = { ...pending.connectionConfig };
      if (provider.auth_mode === 'OAUTH1') {
        const tokens = await oauth1Call(provider, provider.token_url!, config, {
          consumerKey: client.client_id,
          consumerSecret: client.client_secret,
          token: q.oauth_token,
          tokenSecret: pending.secrets.requestTokenSecret,
          verifier: q.oauth_verifier,
        });
        credentials = { type: 'OAUTH1', oauth_token: tokens.oauth_token, oauth_token_secret: tokens.oauth_token_secret, raw: tokens };
      } else {
        if (!q.code) throw invalid('missing_code', 'The provider redirected back without a code');
        const grant: Record<string, string> = { grant_type: 'authorization_code', code: q.code, redirect_uri: pending.redirectUri };
        if (pending.secrets.codeVerifier) grant.code_verifier = pending.secrets.codeVerifier;
        const raw = await requestToken(provider, grant, client, config, provider.token_params);
        credentials = oauth2Credentials(raw);
        config = { ...config, ...configFromToken(provider, raw) };
      }
      for (const name of provider.connection_config_from?.callback_query ?? []) if (q[name] !== undefined) config[name] = q[name];
      const session = pending.connectSessionId === null ? null : await store.auth.connectSessionById(pending.connectSessionId);
      const connection = await saveConnection(store, options.orchestrator, integration, pending.connectionId, credentials, config, session);
      res.type('html').send(resultPage({ ok: true, providerConfigKey: integration.uniqueKey, connectionId: connection.connectionId }));
    });
  });

  // Credentials typed by the end user: API key, Basic, client credentials. JSON in, JSON out (the
  // browser SDK); a form post from the connect page gets the result page instead.
  const credentialRoute = (modes: string[]) => async (req: Request, res: Response) => {
    const html = req.is('application/x-www-form-urlencoded') === 'application/x-www-form-urlencoded';
    const run = async () => {
      const flow = await startFlow(store, req, req.params.integration as string);
      const { provider, integration } = flow;
      if (!modes.includes(provider.auth_mode)) throw invalid('wrong_auth_mode', `Integration "${integration.uniqueKey}" uses ${provider.auth_mode}, not ${modes.join(' or ')}`);
      const credentials = await typedCredentials(provider, flow.connectionConfig, req.body);
      const connection = await saveConnection(store, options.orchestrator, integration, flow.connectionId, credentials, flow.connectionConfig, flow.session);
      return { providerConfigKey: integration.uniqueKey, connectionId: connection.connectionId };
    };
    if (html) return htmlErrors(res, async () => void res.type('html').send(resultPage({ ok: true, ...(await run()) })));
    res.status(201).json(await run());
  };
  router.post('/connect/auth/:integration', forms, credentialRoute(['API_KEY', 'BASIC', 'OAUTH2_CC', 'NONE']));
  router.post('/api-auth/api-key/:integration', forms, credentialRoute(['API_KEY']));
  router.post('/api-auth/basic/:integration', forms, credentialRoute(['BASIC']));
  router.post('/oauth2/auth/:integration', forms, credentialRoute(['OAUTH2_CC']));

  return router;
}

async function sessionOf(store: Store, token: string | undefined): Promise<ConnectSession> {
  const session = token ? await store.auth.connectSessionByToken(token) : null;
  if (!session) throw new SynclineError('unauthorized', 'invalid_connect_session', 'The connect session token is missing, unknown or expired');
  return session;
}

/** Session, integration, provider, connection id and config of a flow, all checked. */
async function startFlow(store: Store, req: Request, key: string): Promise<FlowContext> {
  const q = parse(flowQuery, { ...(req.query as object), ...pick(req.body, ['connect_session_token', 'connection_id', 'connection_config']) }, 'query');
  const bearer = /^Bearer\s+(\S+)$/i.exec(req.get('authorization') ?? '')?.[1];
  const session = await sessionOf(store, q.connect_session_token ?? bearer);
  if (session.allowedIntegrations && !session.allowedIntegrations.includes(key)) {
    throw new SynclineError('forbidden', 'integration_not_allowed', `This connect session does not allow integration "${key}"`);
  }
  const integration = await store.integrations.get(session.environmentId, key);
  const provider = getProvider(integration.provider);
  const connectionId = await connectionIdFor(store, session, integration, q.connection_id);
  const given = { ...(q.params ? (parse(jsonObject, safeJson(q.params), 'query') as Record<string, unknown>) : {}), ...q.connection_config };
  const connectionConfig = checkConfig(provider, { ...session.integrationsConfigDefaults[key]?.connection_config, ...given });
  return { session, integration, provider, connectionId, connectionConfig };
}

function pick(value: unknown, keys: string[]): Record<string, unknown> {
  if (typeof value !== 'object' || value === null) return {};
  return Object.fromEntries(keys.filter((k) => k in value).map((k) => [k, (value as Record<string, unknown>)[k]]));
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    throw invalid('invalid_query', 'params must be a JSON object');
  }
}

/**
 * Reconnect sessions re-authorise their connection. Otherwise a given id may name a new connection,
 * or an existing one of the same end user (which is then overridden); no id means a new UUID.
 */
async function connectionIdFor(store: Store, session: ConnectSession, integration: Integration, requested: string | undefined): Promise<string> {
  if (session.reconnectConnectionId !== null) {
    const target = await store.connections.byPk(session.reconnectConnectionId);
    if (requested !== undefined && requested !== target.connectionId) throw new SynclineError('forbidden', 'connection_not_allowed', 'This reconnect session is for another connection');
    return target.connectionId;
  }
  if (requested === undefined) return randomUUID();
  const existing = await store.connections.get(session.environmentId, integration.uniqueKey, requested).catch(() => null);
  if (existing && existing.endUser?.id !== session.endUser?.id) {
    throw new SynclineError('forbidden', 'connection_not_allowed', `Connection "${requested}" belongs to another end user: use a reconnect session`);
  }
  return requested;
}

function checkConfig(provider: ProviderDefinition, given: Record<string, unknown>): Record<string, unknown> {
  const config: Record<string, unknown> = { ...given };
  for (const [name, field] of Object.entries(provider.connection_config ?? {})) {
    const value = config[name] === undefined || config[name] === '' ? field.default : config[name];
    if (value === undefined) throw invalid('missing_connection_config', `${provider.display_name} needs connection_config.${name} (${field.title ?? name})`);
    if (field.pattern && !new RegExp(field.pattern).test(String(value))) {
      throw invalid('invalid_connection_config', `connection_config.${name} must match ${field.pattern}`);
    }
    config[name] = value;
  }
  return config;
}

function appClient(integration: Integration): { client_id: string; client_secret: string } {
  const { client_id, client_secret } = integration.credentials ?? {};
  if (!client_id || !client_secret) {
    throw invalid('missing_integration_credentials', `Integration "${integration.uniqueKey}" has no client_id and client_secret`);
  }
  return { client_id, client_secret };
}

const apiKeyBody = z.object({ apiKey: z.string().min(1).max(8192) });
const basicBody = z.object({ username: z.string().min(1).max(1024), password: z.string().max(8192).optional() });
const clientBody = z.object({ client_id: z.string().min(1).max(1024), client_secret: z.string().min(1).max(8192), scopes: z.string().max(4096).optional() });

async function typedCredentials(provider: ProviderDefinition, config: Record<string, unknown>, raw: unknown): Promise<ConnectionCredentials> {
  const input = typeof raw === 'object' && raw !== null && 'credentials' in raw ? (raw as { credentials: unknown }).credentials : raw;
  switch (provider.auth_mode) {
    case 'API_KEY':
      return { type: 'API_KEY', apiKey: parse(apiKeyBody, input, 'body').apiKey };
    case 'BASIC': {
      const { username, password } = parse(basicBody, input, 'body');
      return { type: 'BASIC', username, password: password ?? '' };
    }
    case 'OAUTH2_CC': {
      const client = parse(clientBody, input, 'body');
      const scopes = scopesOf(provider, client.scopes);
      const grant: Record<string, string> = { grant_type: 'client_credentials', ...(scopes.length ? { scope: scopes.join(provider.scope_separator ?? ' ') } : {}) };
      const tokens = await requestToken(provider, grant, client, config, provider.token_params);
      return { ...clientCredentialsCredentials(tokens, client), ...(client.scopes ? { scopes: client.scopes } : {}) };
    }
    default:
      return { type: 'NONE' };
  }
}

/** One signed OAuth 1.0a token call; the answer is form-encoded. */
async function oauth1Call(
  provider: ProviderDefinition,
  template: string,
  config: Record<string, unknown>,
  keys: Parameters<typeof oauth1Header>[2],
): Promise<Record<string, string>> {
  const url = interpolate(template, { credentials: { type: 'NONE' }, connectionConfig: config });
  let response: globalThis.Response;
  try {
    response = await fetch(url, { method: 'POST', headers: { authorization: oauth1Header('POST', url, keys) }, signal: AbortSignal.timeout(30_000) });
  } catch (err) {
    throw new TokenError(`${provider.display_name} could not be reached: ${(err as Error).message}`, undefined, null);
  }
  const text = await response.text();
  const values = Object.fromEntries(new URLSearchParams(text));
  if (!response.ok || !values.oauth_token) throw new TokenError(`${provider.display_name} refused the OAuth 1.0a token request (HTTP ${response.status})`, response.status, text.slice(0, 2000));
  return values;
}

/**
 * Creates the connection, or overrides an existing one (credentials and config replaced, failures
 * forgotten), once the integration's validate-connection scripts (run by `orchestrator`) accept it.
 * Its `auth` webhook event is written to the outbox with it; listeners in this process hear of it too.
 */
async function saveConnection(
  store: Store,
  orchestrator: Orchestrator | undefined,
  integration: Integration,
  connectionId: string,
  credentials: ConnectionCredentials,
  connectionConfig: Record<string, unknown>,
  session: ConnectSession | null,
): Promise<Connection> {
  const endUserId = session?.endUser?.id ?? null;
  const input = {
    connectionId,
    credentials,
    connectionConfig,
    ...(session && session.reconnectConnectionId === null
      ? { endUser: session.endUser, tags: session.tags, ...(session.webhookUrlOverride ? { webhookUrlOverride: session.webhookUrlOverride } : {}) }
      : {}),
  };
  const { connection, created } = await upsertValidated(store, orchestrator, integration.environmentId, integration.uniqueKey, input, { endUserId });
  await store.auth.clearRefreshState(connection.id);
  credentialsChanged(connection.id);
  emitAuthEvent({
    operation: created ? 'creation' : 'override',
    success: true,
    environmentId: connection.environmentId,
    providerConfigKey: connection.providerConfigKey,
    provider: connection.provider,
    connectionId: connection.connectionId,
    authMode: credentials.type,
    endUserId,
  });
  return connection;
}

/** Browser-facing routes answer errors with the result page (which also informs the opener). */
async function renderErrors(res: Response, fn: () => Promise<void>, logger: Logger | undefined): Promise<void> {
  try {
    await fn();
  } catch (err) {
    const { status, body } = toHttpError(err);
    if (status >= 500) logger?.error({ err, path: res.req.path }, 'connect flow failed');
    res.status(status).type('html').send(resultPage({ ok: false, error: { code: body.error.code, message: body.error.message } }));
  }
}
