import { createHash, randomBytes } from 'node:crypto';
import { SynclineError } from '../errors';
import type { ConnectionCredentials } from '../types';
import { interpolate } from './credentials';
import type { ProviderDefinition } from './types';

/** The integration's OAuth app (or the end user's client, for client credentials). */
export interface ClientCredentials {
  client_id: string;
  client_secret: string;
}

const TOKEN_TIMEOUT_MS = 30_000;

/** A PKCE verifier and its S256 challenge (RFC 7636). */
export function pkcePair(): { verifier: string; challenge: string } {
  const verifier = randomBytes(48).toString('base64url');
  return { verifier, challenge: createHash('sha256').update(verifier).digest('base64url') };
}

/** Scopes as typed in an integration ("a,b" or "a b") or the provider's defaults. */
export function scopesOf(provider: ProviderDefinition, configured: string | undefined): string[] {
  const own = (configured ?? '').split(/[\s,]+/).filter(Boolean);
  return own.length ? own : (provider.default_scopes ?? []);
}

const noCredentials: ConnectionCredentials = { type: 'NONE' };

/**
 * Where to send the end user to consent: the provider's authorization URL with client id, redirect
 * URI, scopes, state, PKCE challenge and the provider's (then the session's) extra parameters.
 *
 * @example
 * authorizationUrl(getProvider('github'), { clientId, redirectUri, state, scopes: ['repo'], connectionConfig: {} })
 */
export function authorizationUrl(
  provider: ProviderDefinition,
  input: {
    clientId: string;
    redirectUri: string;
    state: string;
    scopes: string[];
    codeChallenge?: string;
    connectionConfig: Record<string, unknown>;
    extraParams?: Record<string, string>;
  },
): string {
  const url = new URL(interpolate(provider.authorization_url!, { credentials: noCredentials, connectionConfig: input.connectionConfig }));
  const params = url.searchParams;
  params.set('response_type', 'code');
  params.set('client_id', input.clientId);
  params.set('redirect_uri', input.redirectUri);
  if (input.scopes.length) params.set('scope', input.scopes.join(provider.scope_separator ?? ' '));
  params.set('state', input.state);
  if (input.codeChallenge) {
    params.set('code_challenge', input.codeChallenge);
    params.set('code_challenge_method', 'S256');
  }
  for (const [k, v] of Object.entries({ ...provider.authorization_params, ...input.extraParams })) params.set(k, v);
  return url.toString();
}

/** A failed call to a provider's token endpoint: status and body kept for the connection's record. */
export class TokenError extends SynclineError {
  constructor(
    message: string,
    readonly status: number | undefined,
    readonly body: unknown,
  ) {
    super('failed_dependency', 'token_request_failed', message, { status, body });
  }
}

/**
 * POSTs a grant to the provider's token endpoint (`token_url`, or `refresh_url` for refreshes),
 * authenticating the client in the body or with HTTP Basic as the provider wants, and returns the
 * parsed token response. A non-2xx answer, an `error` field or a missing access token is a
 * {@link TokenError}.
 */
export async function requestToken(
  provider: ProviderDefinition,
  grant: Record<string, string>,
  client: ClientCredentials,
  connectionConfig: Record<string, unknown>,
  extraParams: Record<string, string> = {},
  url = provider.token_url!,
): Promise<Record<string, unknown>> {
  const body: Record<string, string> = { ...grant, ...extraParams };
  const headers: Record<string, string> = { accept: 'application/json' };
  if (provider.authorization_method === 'header') {
    headers.authorization = `Basic ${Buffer.from(`${encodeURIComponent(client.client_id)}:${encodeURIComponent(client.client_secret)}`).toString('base64')}`;
  } else {
    body.client_id = client.client_id;
    body.client_secret = client.client_secret;
  }
  const json = provider.body_format === 'json';
  headers['content-type'] = json ? 'application/json' : 'application/x-www-form-urlencoded';
  const target = interpolate(url, { credentials: noCredentials, connectionConfig });
  let response: Response;
  try {
    response = await fetch(target, {
      method: 'POST',
      headers,
      body: json ? JSON.stringify(body) : new URLSearchParams(body).toString(),
      signal: AbortSignal.timeout(TOKEN_TIMEOUT_MS),
    });
  } catch (err) {
    throw new TokenError(`The token endpoint of ${provider.display_name} could not be reached: ${(err as Error).message}`, undefined, null);
  }
  const text = await response.text();
  const parsed = parseTokenBody(text);
  const error = typeof parsed?.error === 'string' ? parsed.error : undefined;
  if (!response.ok || error || !parsed) {
    const description = typeof parsed?.error_description === 'string' ? `: ${parsed.error_description}` : '';
    throw new TokenError(
      `${provider.display_name} refused the token request (HTTP ${response.status}${error ? `, ${error}` : ''}${description})`,
      response.status,
      parsed ?? text.slice(0, 2000),
    );
  }
  if (typeof parsed.access_token !== 'string' || !parsed.access_token) {
    throw new TokenError(`${provider.display_name} answered the token request without an access_token`, response.status, redact(parsed));
  }
  return parsed;
}

/** JSON, or the form encoding some providers (GitHub without Accept) still answer with. */
function parseTokenBody(text: string): Record<string, unknown> | undefined {
  try {
    const value: unknown = JSON.parse(text);
    return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : undefined;
  } catch {
    const form = new URLSearchParams(text);
    return [...form.keys()].length && !text.trimStart().startsWith('<') ? Object.fromEntries(form) : undefined;
  }
}

function redact(body: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(body).map(([k, v]) => [k, /token|secret/i.test(k) ? '[redacted]' : v]));
}

/** Expiry from a token response's `expires_in` (seconds) or `expires_at`; undefined when it never expires. */
export function expiryOf(raw: Record<string, unknown>, now = Date.now()): string | undefined {
  const seconds = Number(raw.expires_in);
  if (raw.expires_in !== undefined && raw.expires_in !== null && Number.isFinite(seconds) && seconds > 0) return new Date(now + seconds * 1000).toISOString();
  if (typeof raw.expires_at === 'string' && !Number.isNaN(Date.parse(raw.expires_at))) return new Date(raw.expires_at).toISOString();
  return undefined;
}

/**
 * OAuth2 credentials from a token response. A refresh token the provider did not send again (no
 * rotation) is kept from `previous`.
 */
export function oauth2Credentials(raw: Record<string, unknown>, previous?: ConnectionCredentials): ConnectionCredentials {
  const refresh = typeof raw.refresh_token === 'string' && raw.refresh_token ? raw.refresh_token : previous?.refresh_token;
  const expires = expiryOf(raw);
  return {
    type: 'OAUTH2',
    access_token: String(raw.access_token),
    ...(typeof refresh === 'string' ? { refresh_token: refresh } : {}),
    ...(expires ? { expires_at: expires } : {}),
    raw,
  };
}

/** Client-credentials credentials: Nango's `OAUTH2_CC` shape (`token`), with the client kept for renewals. */
export function clientCredentialsCredentials(raw: Record<string, unknown>, client: ClientCredentials): ConnectionCredentials {
  const expires = expiryOf(raw);
  return {
    type: 'OAUTH2_CC',
    token: String(raw.access_token),
    client_id: client.client_id,
    client_secret: client.client_secret,
    ...(expires ? { expires_at: expires } : {}),
    raw,
  };
}

/** Connection config the provider hands over in the token response (`instance_url`). */
export function configFromToken(provider: ProviderDefinition, raw: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const name of provider.connection_config_from?.token_response ?? []) if (raw[name] !== undefined) out[name] = raw[name];
  return out;
}
