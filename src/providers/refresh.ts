import { invalid, SynclineError } from '../errors';
import { countTokenRefresh } from '../metrics';
import type { Store } from '../store';
import type { RefreshState } from '../store/auth';
import type { Connection, ConnectionCredentials } from '../types';
import { emitAuthEvent, type AuthEvent } from './events';
import { findProvider } from './index';
import { clientCredentialsCredentials, oauth2Credentials, requestToken, scopesOf, TokenError, type ClientCredentials } from './oauth2';
import type { ProviderDefinition } from './types';

/** Tokens expiring within this margin are refreshed before use (a provider's `token_expiration_buffer` overrides it). */
export const REFRESH_MARGIN_MS = 15 * 60_000;
/** After a failed refresh, no new provider call for this long: callers get the recorded failure instead. */
export const REFRESH_COOLDOWN_MS = 30_000;

export interface FreshOptions {
  /** Refresh even if the token is not about to expire. */
  forceRefresh?: boolean;
}

export interface RefresherOptions {
  marginMs?: number;
  cooldownMs?: number;
}

/** `fresh`: this call reached the provider and failed (not a failure recorded earlier). */
type Outcome = { ok: true } | { ok: false; state: RefreshState; fresh: boolean };

/**
 * Keeps OAuth2 (authorization code and client credentials) tokens fresh. A token expiring within
 * the margin, or any token when forced, is refreshed with one call to the provider however many
 * callers ask at once: callers in this process share one promise, and across processes a claim on
 * the connection's refresh row serialises refreshes of a connection (no database connection is held
 * during the provider call), after which the holder re-reads the credentials and skips the call
 * when another process already refreshed them. A failure is
 * recorded on the connection with the provider's answer, and for a cooldown every caller gets that
 * failure without a new provider call. A refresh token the provider does not rotate is kept.
 *
 * @example
 * const refresher = new CredentialRefresher(store);
 * const connection = await refresher.connection(env.id, 'github', 'user-1', { forceRefresh: true });
 */
export class CredentialRefresher {
  private readonly inflight = new Map<number, Promise<Connection>>();
  private readonly marginMs: number;
  private readonly cooldownMs: number;

  constructor(
    private readonly store: Store,
    options: RefresherOptions = {},
  ) {
    this.marginMs = options.marginMs ?? REFRESH_MARGIN_MS;
    this.cooldownMs = options.cooldownMs ?? REFRESH_COOLDOWN_MS;
  }

  /** The connection, with credentials refreshed first when due (or forced). */
  async connection(environmentId: number, providerConfigKey: string, connectionId: string, options: FreshOptions = {}): Promise<Connection> {
    return this.fresh(await this.store.connections.get(environmentId, providerConfigKey, connectionId), options);
  }

  /** `connection` as is when its credentials are good, else refreshed. */
  async fresh(connection: Connection, options: FreshOptions = {}): Promise<Connection> {
    const provider = findProvider(connection.provider);
    if (!provider || !this.refreshable(connection.credentials)) return connection;
    if (!options.forceRefresh && !this.expiring(connection.credentials, provider)) return connection;
    const running = this.inflight.get(connection.id);
    if (running) return running;
    const promise = this.refresh(connection, provider, options.forceRefresh === true).finally(() => this.inflight.delete(connection.id));
    this.inflight.set(connection.id, promise);
    return promise;
  }

  private refreshable(credentials: ConnectionCredentials): boolean {
    if (credentials.type === 'OAUTH2') return typeof credentials.refresh_token === 'string' && credentials.refresh_token !== '';
    return credentials.type === 'OAUTH2_CC';
  }

  private expiring(credentials: ConnectionCredentials, provider: ProviderDefinition): boolean {
    const expires = typeof credentials.expires_at === 'string' ? Date.parse(credentials.expires_at) : NaN;
    if (Number.isNaN(expires)) return false;
    const margin = provider.token_expiration_buffer !== undefined ? provider.token_expiration_buffer * 1000 : this.marginMs;
    return expires - Date.now() < margin;
  }

  private async refresh(connection: Connection, provider: ProviderDefinition, force: boolean): Promise<Connection> {
    const before = await this.store.auth.refreshState(connection.id);
    if (coolingDown(before)) throw refreshFailed(connection, before);
    const client = connection.credentials.type === 'OAUTH2' ? await this.appClient(connection) : userClient(connection.credentials);
    const seen = tokenOf(connection.credentials);
    const outcome = await this.store.auth.withRefreshLock(connection.id, async (tx): Promise<Outcome> => {
      const current = await tx.credentials();
      // Someone refreshed while we waited for the lock: theirs is as fresh as ours would be.
      if (tokenOf(current.credentials) !== seen) return { ok: true };
      if (!force && !this.expiring(current.credentials, provider)) return { ok: true };
      if (coolingDown(current.state)) return { ok: false, state: current.state, fresh: false };
      try {
        const fresh = await callProvider(provider, current.credentials, current.connectionConfig, client);
        await tx.saveRefreshed(fresh, typeof fresh.expires_at === 'string' ? new Date(fresh.expires_at) : null);
        countTokenRefresh(this.store.environments, connection, true);
        return { ok: true };
      } catch (err) {
        const error =
          err instanceof TokenError
            ? { message: err.message, status: err.status, body: err.body }
            : { message: err instanceof Error ? err.message : String(err) };
        countTokenRefresh(this.store.environments, connection, false);
        const log = { environmentId: connection.environmentId, integration: connection.providerConfigKey, connectionId: connection.connectionId };
        // The `auth` webhook event goes to the outbox with the failure record, in its transaction.
        return { ok: false, state: await tx.recordFailure(error, this.cooldownMs, log, (state) => refreshFailedEvent(connection, state)), fresh: true };
      }
    });
    if (!outcome.ok) {
      if (outcome.fresh) emitAuthEvent(refreshFailedEvent(connection, outcome.state));
      throw refreshFailed(connection, outcome.state);
    }
    credentialsChanged(connection.id);
    return this.store.connections.byPk(connection.id);
  }

  private async appClient(connection: Connection): Promise<ClientCredentials> {
    const integration = await this.store.integrations.get(connection.environmentId, connection.providerConfigKey);
    const { client_id, client_secret } = integration.credentials ?? {};
    if (!client_id || !client_secret) {
      throw invalid('missing_integration_credentials', `Integration "${connection.providerConfigKey}" has no client_id and client_secret to refresh tokens with`);
    }
    return { client_id, client_secret };
  }
}

function userClient(credentials: ConnectionCredentials): ClientCredentials {
  return { client_id: String(credentials.client_id ?? ''), client_secret: String(credentials.client_secret ?? '') };
}

function tokenOf(credentials: ConnectionCredentials): unknown {
  return credentials.access_token ?? credentials.token;
}

function coolingDown(state: RefreshState): boolean {
  return state.retryAfter !== null && state.retryAfter.getTime() > Date.now();
}

async function callProvider(
  provider: ProviderDefinition,
  credentials: ConnectionCredentials,
  connectionConfig: Record<string, unknown>,
  client: ClientCredentials,
): Promise<ConnectionCredentials> {
  if (credentials.type === 'OAUTH2_CC') {
    const scopes = scopesOf(provider, typeof credentials.scopes === 'string' ? credentials.scopes : undefined);
    const grant: Record<string, string> = { grant_type: 'client_credentials', ...(scopes.length ? { scope: scopes.join(provider.scope_separator ?? ' ') } : {}) };
    const raw = await requestToken(provider, grant, client, connectionConfig, provider.token_params);
    return { ...clientCredentialsCredentials(raw, client), ...(credentials.scopes ? { scopes: credentials.scopes } : {}) };
  }
  const grant = { grant_type: 'refresh_token', refresh_token: String(credentials.refresh_token) };
  const raw = await requestToken(provider, grant, client, connectionConfig, provider.refresh_params, provider.refresh_url ?? provider.token_url);
  return oauth2Credentials(raw, credentials);
}

function refreshFailed(connection: Connection, state: RefreshState): SynclineError {
  const retry = state.retryAfter ? `; next attempt after ${state.retryAfter.toISOString()}` : '';
  return new SynclineError(
    'failed_dependency',
    'refresh_failed',
    `Refreshing the credentials of connection "${connection.connectionId}" failed: ${state.lastError?.message ?? 'unknown error'}${retry}`,
    { provider_status: state.lastError?.status, provider_error: state.lastError?.body, retry_after: state.retryAfter?.toISOString(), failures: state.failures },
  );
}

/** The `auth` event of a refresh the provider refused. */
function refreshFailedEvent(connection: Connection, state: RefreshState): AuthEvent {
  return {
    operation: 'refresh',
    success: false,
    environmentId: connection.environmentId,
    providerConfigKey: connection.providerConfigKey,
    provider: connection.provider,
    connectionId: connection.connectionId,
    authMode: connection.credentials.type,
    error: { type: 'refresh_token_external_error', description: refreshFailed(connection, state).message },
  };
}

const listeners = new Set<(connectionPk: number) => void>();

/** Calls `listener` with a connection's internal id whenever this process changes its credentials. Returns the unsubscribe function. */
export function onCredentialsChanged(listener: (connectionPk: number) => void): () => void {
  listeners.add(listener);
  return () => listeners.delete(listener);
}

/** Tells in-process caches that a connection's credentials changed (refresh, re-authorisation). */
export function credentialsChanged(connectionPk: number): void {
  for (const listener of listeners) listener(connectionPk);
}

const refreshers = new WeakMap<Store, CredentialRefresher>();

/** The process-wide refresher of a store (one in-flight map per store). */
export function refresherFor(store: Store): CredentialRefresher {
  let refresher = refreshers.get(store);
  if (!refresher) refreshers.set(store, (refresher = new CredentialRefresher(store)));
  return refresher;
}

/**
 * A connection with fresh credentials, for the script runtime and the proxy: refreshed when they
 * expire within 15 minutes or when `forceRefresh` is set; never more than one provider call at once.
 *
 * @example
 * const connection = await getFreshConnection(store, environmentId, 'github', 'user-1');
 */
export function getFreshConnection(store: Store, environmentId: number, providerConfigKey: string, connectionId: string, options: FreshOptions = {}): Promise<Connection> {
  return refresherFor(store).connection(environmentId, providerConfigKey, connectionId, options);
}
