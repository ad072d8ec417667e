// Domain objects → the JSON shapes of nango-api.md §1, as the REST API and the scripts' helpers
// (getConnection, getIntegration) both return them. Field names are Nango's, on purpose.
import type { Connection, ConnectionError, Integration } from './types';

export function connectionSummary(c: Connection, errors: ConnectionError[] = []) {
  return {
    id: c.id,
    connection_id: c.connectionId,
    provider_config_key: c.providerConfigKey,
    provider: c.provider,
    created: c.createdAt.toISOString(),
    metadata: c.metadata,
    errors,
    end_user: c.endUser,
    tags: c.tags,
  };
}

/** Credentials without the refresh token, at the top and inside the provider's raw token response. */
function withoutRefreshToken(credentials: Connection['credentials']) {
  const { refresh_token: _top, ...rest } = credentials;
  const raw = rest.raw;
  if (typeof raw !== 'object' || raw === null || !('refresh_token' in raw)) return rest;
  const { refresh_token: _raw, ...rawRest } = raw as Record<string, unknown>;
  return { ...rest, raw: rawRest };
}

/** The full connection; the refresh token is only included when asked for. */
export function connectionFull(c: Connection, options: { includeRefreshToken: boolean }, errors: ConnectionError[] = []) {
  return {
    id: c.id,
    connection_id: c.connectionId,
    provider_config_key: c.providerConfigKey,
    provider: c.provider,
    connection_config: c.connectionConfig,
    webhook_url_override: c.webhookUrlOverride,
    created_at: c.createdAt.toISOString(),
    updated_at: c.updatedAt.toISOString(),
    last_fetched_at: c.lastFetchedAt?.toISOString() ?? null,
    metadata: c.metadata,
    errors,
    end_user: c.endUser,
    tags: c.tags,
    credentials: options.includeRefreshToken ? c.credentials : withoutRefreshToken(c.credentials),
  };
}

export function integrationShape(i: Integration, include: { credentials?: boolean; webhookUrl?: string }) {
  return {
    unique_key: i.uniqueKey,
    provider: i.provider,
    display_name: i.displayName ?? i.provider,
    logo: null,
    forward_webhooks: i.forwardWebhooks,
    created_at: i.createdAt.toISOString(),
    updated_at: i.updatedAt.toISOString(),
    ...(include.webhookUrl !== undefined ? { webhook_url: include.webhookUrl } : {}),
    ...(include.credentials ? { credentials: i.credentials } : {}),
  };
}

/** The path (under the public URL) where providers post webhooks for an integration: `/webhook/<environment uuid>/<integration>`: the REST route and `nango.getWebhookURL()` give it. */
export function incomingWebhookPath(environmentUuid: string, integration: string): string {
  return `/webhook/${environmentUuid}/${encodeURIComponent(integration)}`;
}
