import axios, { type AxiosResponse, type ResponseType } from 'axios';
import { authorizeRequest, interpolate, type ProviderDefinition } from '../providers';
import { isRetryable, RETRYABLE_CODES, waitFromHeaders } from '../providers/retry';
import type { Connection } from '../types';
import { ProxyError } from './errors';
import type { HttpCallLog } from './logs';
import type { LogLevel, ProxyConfiguration, ProxyResponse } from './types';

const MAX_BACKOFF_MS = 10 * 60_000;
/** Largest response body read for a script: it is held in memory here and again in the sandbox. */
export const MAX_RESPONSE_BYTES = 100 * 1024 * 1024;

export interface HttpContext {
  provider: ProviderDefinition;
  /** The connection to authenticate with; called before every attempt so credentials stay fresh. */
  connection(options?: { forceRefresh?: boolean }): Promise<Connection>;
  log(level: LogLevel, message: string): void;
  /** Records one attempt (method, URL, status, duration); `secretParams` are query parameters holding credentials. */
  http?(call: HttpCallLog, secretParams: string[]): void;
  retryBaseMs: number;
  maxRetryWaitMs: number;
  sleep(ms: number): Promise<void>;
  /** The integration's app credentials, needed only to sign OAuth 1.0a requests. */
  integrationCredentials?(): Promise<{ client_id?: string; client_secret?: string } | null>;
  signal?: AbortSignal;
}

/** A request already resolved to an absolute URL (the next page of a Link header, for example). */
export type ResolvedRequest = ProxyConfiguration & { url?: string };

/**
 * Sends one script HTTP request with the connection's credentials, retrying as configured:
 * `retries` extra attempts (default 0) with exponential back-off, or the wait a rate-limit header
 * asks for; a 401 is retried once with re-fetched credentials if they changed.
 *
 * @example
 * const res = await proxyRequest(ctx, { endpoint: '/user/repos', params: { per_page: 100 }, retries: 3 });
 */
export async function proxyRequest(ctx: HttpContext, config: ResolvedRequest): Promise<ProxyResponse> {
  const method = (config.method ?? 'GET').toUpperCase();
  const retries = Math.max(0, Math.floor(config.retries ?? 0));
  let refreshed = false;
  let staleRetried = false;
  for (let attempt = 0; ; attempt++) {
    const connection = await ctx.connection();
    const target = await buildRequest(ctx, connection, config, method);
    const sentAt = Date.now();
    const logCall = (status: number | null, error?: string) =>
      ctx.http?.({ method, url: target.url, status, durationMs: Date.now() - sentAt, ...(error ? { error } : {}) }, Object.keys(ctx.provider.proxy?.query ?? {}));
    let response: AxiosResponse;
    try {
      response = await axios.request({
        method,
        url: target.url,
        data: config.data,
        headers: target.headers,
        responseType: axiosResponseType(config.responseType),
        decompress: config.decompress ?? ctx.provider.proxy?.decompress ?? false,
        validateStatus: () => true,
        maxRedirects: 5,
        // A redirect to another origin gets none of the credentials we added (axios already drops Authorization).
        sensitiveHeaders: target.credentialHeaders,
        maxContentLength: MAX_RESPONSE_BYTES,
        signal: ctx.signal,
        transitional: { silentJSONParsing: true, forcedJSONParsing: true, clarifyTimeoutError: false },
      });
    } catch (err) {
      const code = String((err as { code?: unknown }).code ?? 'ERR_NETWORK');
      logCall(null, code);
      if (!staleRetried && onStaleConnection(err)) {
        staleRetried = true;
        ctx.log('info', `${method} ${config.endpoint} failed (${code}) on a kept-alive connection the provider had closed; retrying once on a new one`);
        attempt--;
        continue;
      }
      if (attempt < retries && RETRYABLE_CODES.has(code)) {
        const wait = backoff(ctx, attempt);
        ctx.log('warn', `${method} ${config.endpoint} failed (${code}); retry ${attempt + 1}/${retries} in ${wait} ms`);
        await ctx.sleep(wait);
        continue;
      }
      throw new ProxyError(`${method} ${config.endpoint} failed: ${(err as Error).message}`, code);
    }
    logCall(response.status);
    const headers = plainHeaders(response.headers);
    if (response.status < 400) {
      return shape(response, headers, config, method, target.url);
    }
    if (response.status === 401 && !refreshed) {
      refreshed = true;
      const fresh = await ctx.connection({ forceRefresh: true }).catch((err: unknown) => {
        ctx.log('warn', `${method} ${config.endpoint} returned 401 and refreshing the credentials failed: ${(err as Error).message}`);
        return connection;
      });
      if (JSON.stringify(fresh.credentials) !== JSON.stringify(connection.credentials)) {
        ctx.log('info', `${method} ${config.endpoint} returned 401; retrying once with refreshed credentials`);
        attempt--;
        continue;
      }
    }
    if (attempt < retries && isRetryable(ctx.provider.proxy?.retry, config.retryOn, response.status, headers)) {
      const hinted = waitFromHeaders(config.retryHeader ?? ctx.provider.proxy?.retry, headers);
      const wait = Math.min(hinted ?? backoff(ctx, attempt), ctx.maxRetryWaitMs);
      ctx.log('warn', `${method} ${config.endpoint} returned ${response.status}; retry ${attempt + 1}/${retries} in ${wait} ms`);
      await ctx.sleep(wait);
      continue;
    }
    throw new ProxyError(`Request failed with status code ${response.status}`, response.status >= 500 ? 'ERR_BAD_RESPONSE' : 'ERR_BAD_REQUEST', {
      status: response.status,
      statusText: response.statusText,
      headers,
      data: response.data,
    });
  }
}

/**
 * Whether a request failed on a pooled keep-alive connection that the provider (or a pause of this
 * process) had already closed: reset as it was sent, before the provider saw it. Node's advice for
 * `reusedSocket` is to send such a request again; it is retried once whatever `retries` says.
 */
function onStaleConnection(err: unknown): boolean {
  // axios's request is follow-redirects' wrapper around node's ClientRequest (`_currentRequest`).
  const e = err as { code?: unknown; request?: { reusedSocket?: unknown; _currentRequest?: { reusedSocket?: unknown } } };
  return e.code === 'ECONNRESET' && (e.request?._currentRequest ?? e.request)?.reusedSocket === true;
}

async function buildRequest(ctx: HttpContext, connection: Connection, config: ResolvedRequest, method: string) {
  const provider = ctx.provider;
  const values = {
    credentials: connection.credentials,
    connectionConfig: connection.connectionConfig,
    integration: connection.credentials.type === 'OAUTH1' && ctx.integrationCredentials ? await ctx.integrationCredentials() : undefined,
  };
  let url: URL;
  if (config.url) url = new URL(config.url);
  else {
    const base = config.baseUrlOverride ?? (provider.proxy?.base_url ? interpolate(provider.proxy.base_url, values) : undefined);
    if (!base) throw new ProxyError(`No base URL for provider "${provider.display_name}": pass baseUrlOverride`, 'ERR_MISSING_BASE_URL');
    url = new URL(`${base.replace(/\/+$/, '')}/${config.endpoint.replace(/^\/+/, '')}`);
  }
  for (const [name, template] of Object.entries<string>(provider.proxy?.query ?? {})) url.searchParams.set(name, interpolate(template, values));
  for (const [name, value] of queryEntries(config.params)) url.searchParams.append(name, value);
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(config.headers ?? {})) headers[name.toLowerCase()] = String(value);
  // OAuth 1.0a signs the parameters of a form body too.
  const form = typeof config.data === 'string' && /application\/x-www-form-urlencoded/i.test(headers['content-type'] ?? '') ? config.data : undefined;
  const auth = authorizeRequest(provider, values, { method, url: url.toString(), form });
  // The script's own headers win over the provider's and the credentials'.
  const credentialHeaders = Object.keys(auth.headers).filter((name) => !(name in headers));
  for (const name of credentialHeaders) headers[name] = auth.headers[name]!;
  const decompress = config.decompress ?? provider.proxy?.decompress ?? false;
  if (!decompress && !('accept-encoding' in headers)) headers['accept-encoding'] = 'identity';
  return { url: url.toString(), headers, credentialHeaders };
}

/** Query parameters as pairs; arrays become repeated keys (`a=1&a=2`). */
function queryEntries(params: ProxyConfiguration['params']): Array<[string, string]> {
  if (params === undefined || params === null) return [];
  if (typeof params === 'string') return [...new URLSearchParams(params)];
  const out: Array<[string, string]> = [];
  for (const [name, value] of Object.entries(params)) {
    if (value === undefined || value === null) continue;
    for (const item of Array.isArray(value) ? value : [value]) out.push([name, String(item)]);
  }
  return out;
}

function axiosResponseType(type: ProxyConfiguration['responseType']): ResponseType {
  switch (type) {
    case 'arraybuffer':
    case 'blob':
    case 'stream':
      return 'arraybuffer';
    case 'text':
    case 'document':
      return 'text';
    default:
      return 'json';
  }
}

function plainHeaders(headers: AxiosResponse['headers']): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers ?? {})) {
    if (value !== undefined && value !== null) out[name.toLowerCase()] = Array.isArray(value) ? value.join(', ') : String(value);
  }
  return out;
}

function shape(response: AxiosResponse, headers: Record<string, string>, config: ResolvedRequest, method: string, url: string): ProxyResponse {
  const { url: _absolute, ...scriptConfig } = config;
  const path = new URL(url).pathname;
  return {
    data: response.data,
    status: response.status,
    statusText: response.statusText,
    headers,
    config: { ...scriptConfig, method, url },
    request: { method, url, path },
  };
}

function backoff(ctx: HttpContext, attempt: number): number {
  return Math.min(ctx.retryBaseMs * 2 ** attempt, MAX_BACKOFF_MS, ctx.maxRetryWaitMs);
}
