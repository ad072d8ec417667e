import type { IncomingHttpHeaders } from 'node:http';
import type { Readable } from 'node:stream';
import { Agent, request as undiciRequest } from 'undici';
import { SynclineError } from '../errors';
// The script helper's retry policy, shared so both paths retry alike (see runtime/http.ts).
import { isRetryable, RETRYABLE_CODES, waitFromHeaders } from './retry';
import type { Connection } from '../types';
import { authorizeRequest, interpolate } from './credentials';
import type { ProviderDefinition } from './types';

const MAX_BACKOFF_MS = 10 * 60_000;
const MAX_REDIRECTS = 5;
/** Longest silence from a provider before the request is abandoned. */
export const IDLE_TIMEOUT_MS = 120_000;
const HOP_BY_HOP = new Set(['connection', 'keep-alive', 'proxy-authenticate', 'proxy-authorization', 'te', 'trailer', 'transfer-encoding', 'upgrade', 'host']);

/**
 * Connections to providers, kept alive and reused. undici rather than node:http: it takes about
 * half the CPU per request, and the proxy's cost is mostly its two HTTP exchanges.
 */
const dispatcher = new Agent({ connections: 256, headersTimeout: IDLE_TIMEOUT_MS, bodyTimeout: IDLE_TIMEOUT_MS });

/** A provider's answer, its body unread. */
interface Upstream {
  statusCode: number;
  statusText: string;
  headers: IncomingHttpHeaders;
  body: Readable;
}

/** undici's timeouts, as the network error codes the retry policy knows. */
const TIMEOUT_CODES = new Set(['UND_ERR_CONNECT_TIMEOUT', 'UND_ERR_HEADERS_TIMEOUT', 'UND_ERR_BODY_TIMEOUT']);

export interface StreamContext {
  provider: ProviderDefinition;
  /** The connection with fresh credentials; called before every attempt. */
  connection(options?: { forceRefresh?: boolean }): Promise<Connection>;
  /** The integration's app credentials (OAuth 1.0a signs with them). */
  integration?: { client_id?: string; client_secret?: string } | null;
  /** Base of the exponential back-off; default 3000 ms (Nango's). */
  retryBaseMs?: number;
  maxRetryWaitMs?: number;
  sleep?(ms: number): Promise<void>;
}

export interface StreamRequest {
  method: string;
  /** Path and query relative to the base URL: `/user/repos?per_page=100`. */
  endpoint: string;
  /** Headers to send, already lower-cased; they override the provider's. */
  headers: Record<string, string>;
  /** A buffered body can be replayed on retries; a stream is sent once (no retries, no 307 replay). */
  body?: Buffer | Readable;
  baseUrlOverride?: string;
  /** Extra attempts after the first; default 0. */
  retries?: number;
  retryOn?: number[];
  /** Keep credentials on redirects to another origin. */
  forwardHeadersOnRedirect?: boolean;
}

/** The upstream response, unread: status, headers and a body stream to pipe on. */
export interface StreamResponse {
  status: number;
  statusText: string;
  headers: Record<string, string | string[]>;
  body: Readable;
  /** Attempts made, retries included. */
  attempts: number;
}

/**
 * Sends one request to the provider with the connection's credentials and returns the response
 * without reading its body, so callers stream it (a 100 MB download never sits in memory). Retries
 * follow the script helper's policy: `retries` extra attempts on network errors, 5xx, 429, the
 * provider's `retry.error_code` or `retry.remaining: 0`, plus `retryOn`; waits as long as the
 * rate-limit headers ask, else exponential back-off; one extra attempt after a 401 when
 * re-read (else force-refreshed) credentials differ. Redirects are followed (at most 5).
 *
 * @example
 * const res = await streamProxyRequest(ctx, { method: 'GET', endpoint: '/repos/o/r/tarball', headers: {} });
 * res.body.pipe(out);
 */
export async function streamProxyRequest(ctx: StreamContext, request: StreamRequest): Promise<StreamResponse> {
  const method = request.method.toUpperCase();
  const replayable = request.body === undefined || Buffer.isBuffer(request.body);
  const retries = replayable ? Math.max(0, Math.floor(request.retries ?? 0)) : 0;
  const sleep = ctx.sleep ?? ((ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms)));
  const backoff = (attempt: number) => Math.min((ctx.retryBaseMs ?? 3000) * 2 ** attempt, MAX_BACKOFF_MS, ctx.maxRetryWaitMs ?? MAX_BACKOFF_MS);
  let refreshed = false;
  let attempts = 0;
  for (let attempt = 0; ; attempt++) {
    const connection = await ctx.connection();
    attempts++;
    let response: Upstream;
    try {
      response = await sendFollowing(ctx, connection, request, method);
    } catch (err) {
      const code = String((err as { code?: unknown }).code ?? 'ERR_NETWORK');
      if (err instanceof SynclineError) throw err;
      if (attempt < retries && RETRYABLE_CODES.has(code)) {
        await sleep(backoff(attempt));
        continue;
      }
      throw new SynclineError('bad_gateway', 'upstream_unreachable', `${method} ${request.endpoint} failed: ${(err as Error).message} (${code})`);
    }
    const status = response.statusCode ?? 502;
    const headers = flatHeaders(response.headers);
    if (status === 401 && !refreshed && replayable) {
      refreshed = true;
      // Credentials changed since they were read (refreshed elsewhere)? Use those; else refresh now.
      const same = (c: Connection) => JSON.stringify(c.credentials) === JSON.stringify(connection.credentials);
      let fresh = await ctx.connection().catch(() => connection);
      if (same(fresh)) fresh = await ctx.connection({ forceRefresh: true }).catch(() => connection);
      if (!same(fresh)) {
        response.body.resume();
        attempt--;
        continue;
      }
    }
    if (status >= 400 && attempt < retries && isRetryable(ctx.provider.proxy?.retry, request.retryOn, status, headers)) {
      response.body.resume();
      const hinted = waitFromHeaders(ctx.provider.proxy?.retry, headers, Date.now());
      await sleep(Math.min(hinted ?? backoff(attempt), ctx.maxRetryWaitMs ?? MAX_BACKOFF_MS));
      continue;
    }
    return { status, statusText: response.statusText, headers: passThroughHeaders(response.headers), body: response.body, attempts };
  }
}

async function sendFollowing(ctx: StreamContext, connection: Connection, request: StreamRequest, method: string): Promise<Upstream> {
  const values = { credentials: connection.credentials, connectionConfig: connection.connectionConfig, integration: ctx.integration };
  // OAuth 1.0a signs the final URL, so the URL is built before the credentials are added.
  const template = ctx.provider.proxy?.base_url;
  const base = request.baseUrlOverride || (template ? interpolate(template, values) : undefined);
  if (!base) throw new SynclineError('invalid', 'missing_base_url', `Provider "${ctx.provider.display_name}" has no base URL: send Base-Url-Override`);
  let url = new URL(`${base.replace(/\/+$/, '')}/${request.endpoint.replace(/^\/+/, '')}`);
  const form = Buffer.isBuffer(request.body) && /^application\/x-www-form-urlencoded\b/i.test(request.headers['content-type'] ?? '') ? request.body.toString() : undefined;
  const auth = authorizeRequest(ctx.provider, values, { method, url: url.toString(), form });
  url = withQuery(url, auth.query);
  const headers: Record<string, string> = { ...auth.headers, ...request.headers };
  const origin = url.origin;
  let currentMethod = method;
  let body = request.body;
  for (let hop = 0; ; hop++) {
    if (hop > 0 && url.origin !== origin && !request.forwardHeadersOnRedirect) {
      // Another origin gets none of the credentials (API keys in custom headers included), only the caller's own headers.
      for (const name of Object.keys(auth.headers)) if (!(name in request.headers)) delete headers[name];
      delete headers.authorization;
    }
    const response = await send(url, currentMethod, headers, body);
    const location = response.headers.location;
    if (!location || ![301, 302, 303, 307, 308].includes(response.statusCode ?? 0) || hop >= MAX_REDIRECTS) return response;
    const keepsBody = response.statusCode === 307 || response.statusCode === 308;
    if (keepsBody && body !== undefined && !Buffer.isBuffer(body)) return response; // a stream cannot be sent twice
    response.body.resume();
    if (!keepsBody && currentMethod !== 'GET' && currentMethod !== 'HEAD') {
      currentMethod = 'GET';
      body = undefined;
      delete headers['content-type'];
      delete headers['content-length'];
    }
    url = new URL(location, url);
  }
}

function withQuery(url: URL, query: Record<string, string>): URL {
  const out = new URL(url);
  for (const [k, v] of Object.entries(query)) out.searchParams.set(k, v);
  return out;
}

async function send(url: URL, method: string, headers: Record<string, string>, body: Buffer | Readable | undefined): Promise<Upstream> {
  if (url.protocol !== 'https:' && url.protocol !== 'http:') throw new SynclineError('invalid', 'invalid_base_url', `Unsupported URL ${url.protocol}`);
  const outgoing: Record<string, string> = {};
  // Hop-by-hop headers belong to our own connection to the provider (undici refuses them).
  for (const [name, value] of Object.entries(headers)) if (!HOP_BY_HOP.has(name)) outgoing[name] = value;
  if (Buffer.isBuffer(body)) outgoing['content-length'] = String(body.length);
  if (body !== undefined && !Buffer.isBuffer(body)) body.on('error', () => undefined); // surfaces as the request's error
  try {
    const res = await undiciRequest(url, { method: method as 'GET', headers: outgoing, body, dispatcher });
    return { statusCode: res.statusCode, statusText: res.statusText, headers: res.headers, body: res.body };
  } catch (err) {
    const code = (err as { code?: string }).code;
    // A provider silent this long (connecting, answering or mid-body) is given up on, as a retryable timeout.
    if (code && TIMEOUT_CODES.has(code)) throw Object.assign(new Error(`no data from ${url.host} for ${IDLE_TIMEOUT_MS} ms`), { code: 'ETIMEDOUT' });
    throw err;
  }
}

function flatHeaders(headers: IncomingHttpHeaders): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers)) if (value !== undefined) out[name] = Array.isArray(value) ? value.join(', ') : value;
  return out;
}

/** The provider's headers minus hop-by-hop ones, which belong to each connection. */
function passThroughHeaders(headers: IncomingHttpHeaders): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = {};
  for (const [name, value] of Object.entries(headers)) if (value !== undefined && !HOP_BY_HOP.has(name)) out[name] = value;
  return out;
}
