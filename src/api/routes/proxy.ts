import type { IncomingMessage } from 'node:http';
import { Readable, type Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import zlib from 'node:zlib';
import { Router, type Request } from 'express';
import { invalid, SynclineError } from '../../errors';
import { getProvider } from '../../providers';
import { streamProxyRequest } from '../../providers/proxy';
import { getFreshConnection } from '../../providers/refresh';
import type { Store } from '../../store';
import { environment } from '../auth';
import { header } from '../validate';

const FORWARD_PREFIX = 'nango-proxy-';
/** Bodies are buffered (so retries can replay them) up to this size; larger ones need Retries: 0 and are streamed. */
export const REPLAYABLE_BODY_LIMIT = 10 * 1024 * 1024;
const MAX_RETRIES = 10;

/**
 * `ALL /proxy/<endpoint>`: the request goes to the provider's base URL (or `Base-Url-Override`)
 * with the connection's fresh credentials and the `Nango-Proxy-<Header>` headers; the provider's
 * status, headers and body come back unchanged, streamed both ways. `Retries`, `Retry-On`,
 * `Decompress` and `Forward-Headers-On-Redirect` as in Nango.
 */
export function proxyRoutes(store: Store): Router {
  const router = Router();
  router.use('/proxy', async (req, res) => {
    const env = environment(req);
    const connectionId = header(req, 'connection-id');
    const key = header(req, 'provider-config-key');
    const first = await getFreshConnection(store, env.id, key, connectionId);
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
          return getFreshConnection(store, env.id, key, connectionId, options);
        },
      },
      {
        method: req.method,
        endpoint: req.url,
        headers,
        body: hasBody ? (retries > 0 ? await buffered(req) : req) : undefined,
        baseUrlOverride: req.get('base-url-override') || undefined,
        retries,
        retryOn: listHeader(req, 'retry-on'),
        forwardHeadersOnRedirect: boolHeader(req, 'forward-headers-on-redirect'),
      },
    );
    const decoder = decompress ? decoderFor(upstream.headers['content-encoding']) : undefined;
    const outHeaders = { ...upstream.headers };
    if (decoder) {
      delete outHeaders['content-encoding'];
      delete outHeaders['content-length'];
    }
    res.writeHead(upstream.status, upstream.statusText, outHeaders);
    const stages: Array<IncomingMessage | Transform> = decoder ? [upstream.body, decoder] : [upstream.body];
    // Once headers are out, a broken stream can only end the response early.
    await pipeline([...stages, res] as unknown as [Readable, NodeJS.WritableStream]).catch(() => res.destroy());
  });
  return router;
}

function intHeader(req: Request, name: string): number {
  const value = req.get(name);
  if (value === undefined || value === '') return 0;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0 || n > MAX_RETRIES) throw invalid('invalid_header', `${name} must be an integer from 0 to ${MAX_RETRIES}`);
  return n;
}

function boolHeader(req: Request, name: string): boolean {
  return /^(true|1)$/i.test(req.get(name) ?? '');
}

function listHeader(req: Request, name: string): number[] | undefined {
  const value = req.get(name);
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

async function buffered(req: Request): Promise<Buffer> {
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
