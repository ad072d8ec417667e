import type { Transform } from 'node:stream';
import zlib from 'node:zlib';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Logger } from 'pino';
import { invalid, SynclineError } from '../../errors';
import { countProxyRequest } from '../../metrics';
import { getProvider } from '../../providers';
import { streamProxyRequest } from '../../providers/proxy';
import { getFreshConnection, onCredentialsChanged, REFRESH_MARGIN_MS } from '../../providers/refresh';
import type { Store } from '../../store';
import type { Connection } from '../../types';
import type { secretKeyAuth } from '../auth';
import { sendError } from '../errors';
import { header, optionalHeader } from '../validate';

const FORWARD_PREFIX = 'nango-proxy-';
/** Bodies are buffered (so retries can replay them) up to this size; larger ones need Retries: 0 and are streamed. */
export const REPLAYABLE_BODY_LIMIT = 10 * 1024 * 1024;
const MAX_RETRIES = 10;

/** Whether a request URL is the proxy's (`/proxy/...`, `/proxy?...`). */
export const isProxyUrl = (url: string | undefined): boolean => /^\/proxy(?:[/?]|$)/.test(url ?? '');

/**
 * `ALL /proxy/<endpoint>`: the request goes to the provider's base URL (or `Base-Url-Override`)
 * with the connection's fresh credentials and the `Nango-Proxy-<Header>` headers; the provider's
 * status, headers and body come back unchanged, streamed both ways. `Retries`, `Retry-On`,
 * `Decompress` and `Forward-Headers-On-Redirect` as in Nango.
 *
 * A plain node:http handler (the hot path of the API: see createApp), authenticating on its own.
 */
export function proxyHandler(store: Store, logger: Logger, authenticate: ReturnType<typeof secretKeyAuth>): (req: IncomingMessage, res: ServerResponse) => void {
  const connections = new ConnectionCache(store);
  const proxy = async (req: IncomingMessage, res: ServerResponse) => {
    const env = await authenticate(req.headers.authorization);
    const connectionId = header(req, 'connection-id');
    const key = header(req, 'provider-config-key');
    const first = await connections.get(env.id, key, connectionId);
    const provider = getProvider(first.provider);
    const integration = provider.auth_mode === 'OAUTH1' ? (await store.integrations.get(env.id, key)).credentials : undefined;
    const retries = intHeader(req, 'retries');
    const decompress = boolHeader(req, 'decompress');
    const headers: Record<string, string> = {};
    for (const [name, value] of Object.entries(req.headers)) {
      if (name.startsWith(FORWARD_PREFIX) && typeof value === 'string') headers[name.slice(FORWARD_PREFIX.length)] = value;
    }
    const hasBody = req.headers['transfer-encoding'] !== undefined || Number(req.headers['content-length'] ?? 0) > 0;
    if (hasBody && !headers['content-type'] && req.headers['content-type']) headers['content-type'] = req.headers['content-type'];
    if (hasBody && retries === 0 && req.headers['content-length'] && !headers['content-length']) headers['content-length'] = req.headers['content-length'];
    if (!decompress && !headers['accept-encoding'] && req.headers['accept-encoding']) headers['accept-encoding'] = req.headers['accept-encoding'];
    if (decompress && !headers['accept-encoding']) headers['accept-encoding'] = 'gzip, deflate, br';

    let fetched = false;
    const upstream = await streamProxyRequest(
      {
        provider,
        integration,
        // The first attempt uses the connection read above; later ones re-read it for fresh credentials.
        connection: async (options) => {
          if (!fetched && !options?.forceRefresh) {
            fetched = true;
            return first;
          }
          return connections.reload(env.id, key, connectionId, options);
        },
      },
      {
        method: req.method ?? 'GET',
        endpoint: req.url!.replace(/^\/proxy/, '') || '/',
        headers,
        // Buffered when it may be sent again (retries) or must be signed (an OAuth 1.0a form).
        body: hasBody ? (retries > 0 || signsForm(provider.auth_mode, headers) ? await buffered(req) : req) : undefined,
        baseUrlOverride: optionalHeader(req, 'base-url-override'),
        retries,
        retryOn: listHeader(req, 'retry-on'),
        forwardHeadersOnRedirect: boolHeader(req, 'forward-headers-on-redirect'),
      },
    ).catch((err: unknown) => {
      countProxyRequest(env.name, key, null);
      throw err;
    });
    countProxyRequest(env.name, key, upstream.status);
    const decoder = decompress ? decoderFor(upstream.headers['content-encoding']) : undefined;
    const outHeaders = { ...upstream.headers };
    if (decoder) {
      delete outHeaders['content-encoding'];
      delete outHeaders['content-length'];
    }
    res.writeHead(upstream.status, upstream.statusText, outHeaders);
    // Once headers are out, a broken stream can only end the response early.
    const abort = () => {
      upstream.body.destroy();
      decoder?.destroy();
      res.destroy();
    };
    upstream.body.once('error', abort);
    res.once('close', () => {
      if (!res.writableFinished) abort();
    });
    if (decoder) {
      decoder.once('error', abort);
      upstream.body.pipe(decoder).pipe(res);
    } else {
      upstream.body.pipe(res);
    }
  };
  return (req, res) => {
    proxy(req, res).catch((err: unknown) => sendError(logger, err, req, res));
  };
}

function signsForm(authMode: string, headers: Record<string, string>): boolean {
  return authMode === 'OAUTH1' && /^application\/x-www-form-urlencoded\b/i.test(headers['content-type'] ?? '');
}

function intHeader(req: IncomingMessage, name: string): number {
  const value = optionalHeader(req, name);
  if (value === undefined || value === '') return 0;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0 || n > MAX_RETRIES) throw invalid('invalid_header', `${name} must be an integer from 0 to ${MAX_RETRIES}`);
  return n;
}

function boolHeader(req: IncomingMessage, name: string): boolean {
  return /^(true|1)$/i.test(optionalHeader(req, name) ?? '');
}

function listHeader(req: IncomingMessage, name: string): number[] | undefined {
  const value = optionalHeader(req, name);
  if (!value) return undefined;
  const codes = value.split(',').map((s) => Number(s.trim()));
  if (codes.some((c) => !Number.isInteger(c) || c < 100 || c > 599)) throw invalid('invalid_header', `${name} must be a comma-separated list of HTTP statuses`);
  return codes;
}

function decoderFor(encoding: string | string[] | undefined): Transform | undefined {
  switch (String(encoding ?? '').toLowerCase()) {
    case 'gzip':
    case 'x-gzip':
      return zlib.createGunzip();
    case 'deflate':
      return zlib.createInflate();
    case 'br':
      return zlib.createBrotliDecompress();
    default:
      return undefined;
  }
}

async function buffered(req: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > REPLAYABLE_BODY_LIMIT) {
      throw new SynclineError('too_large', 'payload_too_large', `Bodies over ${REPLAYABLE_BODY_LIMIT} bytes are streamed once: send them with Retries: 0`);
    }
    chunks.push(chunk);
  }
  return Buffer.concat(chunks);
}

/** How long the proxy reuses a connection it read; bounds how stale credentials can be after a change elsewhere. */
export const PROXY_CONNECTION_TTL_MS = 1000;
const MAX_CACHED = 10_000;

/**
 * Connections the proxy read in the last second, so a burst of proxied calls does not read and
 * decrypt the same row each time. Credentials due for refresh always go through the refresher, and
 * every retry re-reads the connection.
 */
class ConnectionCache {
  private readonly entries = new Map<string, { connection: Connection; until: number }>();

  constructor(private readonly store: Store) {
    onCredentialsChanged((pk) => {
      for (const [id, entry] of this.entries) if (entry.connection.id === pk) this.entries.delete(id);
    });
  }

  async get(environmentId: number, key: string, connectionId: string): Promise<Connection> {
    const id = JSON.stringify([environmentId, key, connectionId]);
    const hit = this.entries.get(id);
    const expires = typeof hit?.connection.credentials.expires_at === 'string' ? Date.parse(hit.connection.credentials.expires_at) : Infinity;
    if (hit && hit.until > Date.now() && expires - Date.now() > REFRESH_MARGIN_MS) return hit.connection;
    return this.reload(environmentId, key, connectionId);
  }

  async reload(environmentId: number, key: string, connectionId: string, options?: { forceRefresh?: boolean }): Promise<Connection> {
    const id = JSON.stringify([environmentId, key, connectionId]);
    this.entries.delete(id);
    const connection = await getFreshConnection(this.store, environmentId, key, connectionId, options);
    if (this.entries.size >= MAX_CACHED) this.entries.delete(this.entries.keys().next().value!);
    this.entries.set(id, { connection, until: Date.now() + PROXY_CONNECTION_TTL_MS });
    return connection;
  }
}
