import { invalid } from '../errors';
import type { ConnectionCredentials } from '../types';
import { oauth1Header } from './oauth1';
import type { ProviderDefinition } from './types';

/** What a request needs from the connection: where to go and what to add to it. */
export interface RequestAuth {
  baseUrl: string | undefined;
  headers: Record<string, string>;
  query: Record<string, string>;
}

interface Values {
  credentials: ConnectionCredentials;
  connectionConfig: Record<string, unknown>;
  /** The integration's app credentials: OAuth 1.0a signs every request with the consumer secret. */
  integration?: { client_id?: string; client_secret?: string } | null;
}

/** The request being authorised; OAuth 1.0a signs its method and complete URL (query included). */
export interface RequestTarget {
  method: string;
  url: string;
  /** An `application/x-www-form-urlencoded` body: OAuth 1.0a signs its parameters too. */
  form?: string;
}

const CREDENTIAL_PLACEHOLDER = /\$\{(accessToken|apiKey|credentials\.[\w.-]+)\}/;

const PLACEHOLDER = /\$\{([\w.-]+)\}/g;

/**
 * Fills `${connectionConfig.x}`, `${credentials.x}`, `${accessToken}`, `${apiKey}` placeholders.
 * A placeholder without a value is an error naming it, never an empty string in a URL.
 *
 * @example
 * interpolate('https://${connectionConfig.subdomain}.zendesk.com', { credentials, connectionConfig: { subdomain: 'acme' } })
 */
export function interpolate(template: string, values: Values): string {
  return template.replace(PLACEHOLDER, (_match, name: string) => {
    const value = lookup(name, values);
    if (value === undefined || value === null || value === '') {
      throw invalid('missing_connection_value', `The provider needs "${name}", which this connection does not have`);
    }
    return String(value);
  });
}

function lookup(name: string, { credentials, connectionConfig }: Values): unknown {
  if (name === 'accessToken') return credentials.access_token ?? credentials.token;
  if (name === 'apiKey') return credentials.apiKey;
  const [root, ...rest] = name.split('.');
  const source = root === 'connectionConfig' ? connectionConfig : root === 'credentials' ? credentials : undefined;
  return rest.reduce<unknown>((at, key) => (at !== null && typeof at === 'object' ? (at as Record<string, unknown>)[key] : undefined), source);
}

/**
 * The base URL, headers and query parameters that authenticate a request for a connection, per the
 * provider's auth mode: OAuth2 bearer token (also client credentials), API key, Basic, OAuth 1.0a
 * signature. Provider templates come first; when one of them sets `authorization` or carries the
 * credential (`${apiKey}`, `${accessToken}`, `${credentials.x}`), the auth mode's default is not added.
 * OAuth 1.0a needs `target` (the final method and URL, query included) to sign.
 *
 * @example
 * const auth = authorizeRequest(getProvider('github'), { credentials, connectionConfig: {} });
 * // auth.baseUrl === 'https://api.github.com', auth.headers.authorization === 'Bearer gho_…'
 */
export function authorizeRequest(provider: ProviderDefinition, values: Values, target?: RequestTarget): RequestAuth {
  const proxy = provider.proxy;
  const headers: Record<string, string> = {};
  const query: Record<string, string> = {};
  for (const [name, template] of Object.entries(proxy?.headers ?? {})) headers[name.toLowerCase()] = interpolate(template, values);
  for (const [name, template] of Object.entries(proxy?.query ?? {})) query[name] = interpolate(template, values);
  const carriesCredential = [...Object.values(proxy?.headers ?? {}), ...Object.values(proxy?.query ?? {})].some((t) => CREDENTIAL_PLACEHOLDER.test(t));
  if (!('authorization' in headers) && !carriesCredential) {
    const authorization =
      values.credentials.type === 'OAUTH1' ? oauth1Authorization(values, target, query) : defaultAuthorization(values.credentials);
    if (authorization) headers.authorization = authorization;
  }
  return { baseUrl: proxy?.base_url ? interpolate(proxy.base_url, values) : undefined, headers, query };
}

function oauth1Authorization(values: Values, target: RequestTarget | undefined, query: Record<string, string>): string {
  if (!target) throw invalid('oauth1_needs_target', 'OAuth 1.0a requests are signed: pass the method and URL to authorizeRequest');
  const { client_id: consumerKey, client_secret: consumerSecret } = values.integration ?? {};
  if (!consumerKey || !consumerSecret) throw invalid('missing_integration_credentials', 'OAuth 1.0a signing needs the integration\'s client_id and client_secret');
  const url = new URL(target.url);
  for (const [name, value] of Object.entries(query)) if (!url.searchParams.has(name)) url.searchParams.append(name, value);
  return oauth1Header(target.method, url.toString(), {
    consumerKey,
    consumerSecret,
    token: String(values.credentials.oauth_token ?? ''),
    tokenSecret: String(values.credentials.oauth_token_secret ?? ''),
    form: target.form,
  });
}

function defaultAuthorization(credentials: ConnectionCredentials): string | undefined {
  switch (credentials.type) {
    case 'OAUTH2':
    case 'OAUTH2_CC': {
      const token = credentials.access_token ?? credentials.token;
      return typeof token === 'string' ? `Bearer ${token}` : undefined;
    }
    case 'API_KEY':
      return typeof credentials.apiKey === 'string' ? `Bearer ${credentials.apiKey}` : undefined;
    case 'BASIC': {
      const user = String(credentials.username ?? '');
      const password = String(credentials.password ?? '');
      return `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;
    }
    default:
      return undefined;
  }
}

/**
 * Every secret string in a connection's credentials (tokens, keys, passwords), for redaction.
 * Short values are skipped: replacing "1" everywhere would mangle logs without protecting anything.
 */
export function secretsOf(credentials: ConnectionCredentials): string[] {
  const found = new Set<string>();
  const walk = (value: unknown, key: string) => {
    if (typeof value === 'string') {
      if (value.length >= 6 && key !== 'type' && key !== 'token_type' && key !== 'scope' && key !== 'expires_at') found.add(value);
      if (key === 'username' || key === 'password') found.add(value);
    } else if (value !== null && typeof value === 'object') {
      for (const [k, v] of Object.entries(value)) walk(v, k);
    }
  };
  walk(credentials, '');
  const basic = credentials.type === 'BASIC' ? Buffer.from(`${String(credentials.username ?? '')}:${String(credentials.password ?? '')}`).toString('base64') : undefined;
  if (basic) found.add(basic);
  return [...found].filter((s) => s.length >= 4);
}
