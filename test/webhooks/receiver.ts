import http from 'node:http';
import type { AddressInfo } from 'node:net';

export interface Received {
  path: string;
  headers: http.IncomingHttpHeaders;
  /** The raw body as sent. */
  raw: string;
  body: any;
}

/**
 * The customer's app: an HTTP server on loopback that keeps every webhook it gets. `answers` are
 * the statuses of the next requests (then 200).
 */
export interface Receiver {
  url: string;
  received: Received[];
  answers: number[];
  /** Requests to `path` (all when absent) whose body matches `where`. */
  find(where: (body: any) => boolean, path?: string): Received[];
  close(): Promise<void>;
}

export async function startReceiver(): Promise<Receiver> {
  const received: Received[] = [];
  const answers: number[] = [];
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const raw = Buffer.concat(chunks).toString('utf8');
      let body: unknown = raw;
      try {
        body = JSON.parse(raw);
      } catch {
        // keep the text
      }
      received.push({ path: req.url ?? '/', headers: req.headers, raw, body });
      res.writeHead(answers.shift() ?? 200, { 'content-type': 'application/json' }).end('{}');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    received,
    answers,
    find: (where, path) => received.filter((r) => (path === undefined || r.path === path) && where(r.body)),
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
