import http from 'node:http';
import { performance } from 'node:perf_hooks';
import { Worker } from 'node:worker_threads';
import { useUserProviders } from '../src/providers';
import { startTestServer } from '../test/helpers/server';

/**
 * The proxy's cost: GET through `/proxy` (secret-key check, connection read and decrypt, credential
 * injection, streaming pass-through) to a local fake API, against the same GET sent to the fake
 * directly, in the same run with the same keep-alive HTTP client.
 *
 * - latency: requests one at a time, direct and proxied alternating; p50/p99 of each and the
 *   difference. Target: added p50 <= 2 ms.
 * - throughput: 32 requests in flight; requests per second of each and their ratio. Target >= 0.5.
 *
 * - slow-api: the same throughput comparison against a fake that answers in 5 ms, like a real API.
 * - ceiling: GET /health on the same server, the most any route can do on this HTTP stack.
 *
 * The fake API runs in a worker thread so it does not share the server's event loop.
 */
const LATENCY_REQUESTS = Number(process.env.BENCH_PROXY_REQUESTS ?? 2000);
const THROUGHPUT_REQUESTS = Number(process.env.BENCH_PROXY_THROUGHPUT ?? 10_000);
const CONCURRENCY = 32;

const FAKE_API = `
const http = require('node:http');
const { parentPort } = require('node:worker_threads');
const body = JSON.stringify({ items: Array.from({ length: 10 }, (_, i) => ({ id: i, name: 'item ' + i, updated_at: '2024-01-01T00:00:00Z' })) });
const server = http.createServer((req, res) => {
  if (req.headers['x-api-key'] !== 'bench-key') { res.writeHead(401).end(); return; }
  const answer = () => res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) }).end(body);
  if (req.url.startsWith('/slow')) setTimeout(answer, 5); else answer();
});
server.keepAliveTimeout = 60000;
server.listen(0, '127.0.0.1', () => parentPort.postMessage(server.address().port));
`;

const agent = new http.Agent({ keepAlive: true, maxSockets: CONCURRENCY });

function get(url: string, headers: Record<string, string>): Promise<number> {
  return new Promise((resolve, reject) => {
    const start = performance.now();
    const req = http.get(url, { headers, agent }, (res) => {
      res.on('data', () => undefined);
      res.on('end', () => (res.statusCode === 200 ? resolve(performance.now() - start) : reject(new Error(`${url}: HTTP ${res.statusCode}`))));
    });
    req.on('error', reject);
  });
}

const percentile = (sorted: number[], p: number) => sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;

async function throughput(send: () => Promise<number>, total: number): Promise<number> {
  let next = 0;
  const start = performance.now();
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      while (next++ < total) await send();
    }),
  );
  return (total * 1000) / (performance.now() - start);
}

export async function run(): Promise<void> {
  const worker = new Worker(FAKE_API, { eval: true });
  const port = await new Promise<number>((resolve) => worker.once('message', resolve));
  const apiUrl = `http://127.0.0.1:${port}`;
  useUserProviders({
    'bench-api': { display_name: 'Bench API', auth_mode: 'API_KEY', proxy: { base_url: apiUrl, headers: { 'x-api-key': '${apiKey}' } } },
  });
  const server = await startTestServer();
  try {
    await server.store.integrations.create(server.env.dev, { uniqueKey: 'bench-api', provider: 'bench-api' });
    await server.store.connections.upsert(server.env.dev, 'bench-api', { connectionId: 'bench', credentials: { type: 'API_KEY', apiKey: 'bench-key' } });
    const direct = () => get(`${apiUrl}/items?limit=10`, { 'x-api-key': 'bench-key' });
    const proxied = () =>
      get(`${server.url}/proxy/items?limit=10`, { authorization: `Bearer ${server.keys.dev}`, 'connection-id': 'bench', 'provider-config-key': 'bench-api' });

    for (let i = 0; i < 200; i++) await Promise.all([direct(), proxied()]); // warm-up: JIT, sockets, caches
    const times = { direct: [] as number[], proxy: [] as number[] };
    for (let i = 0; i < LATENCY_REQUESTS; i++) {
      if (i % 2 === 0) {
        times.direct.push(await direct());
        times.proxy.push(await proxied());
      } else {
        times.proxy.push(await proxied());
        times.direct.push(await direct());
      }
    }
    const d = times.direct.sort((a, b) => a - b);
    const p = times.proxy.sort((a, b) => a - b);
    const fmt = (n: number) => n.toFixed(2);
    console.log(
      `proxy.latency   p50 direct ${fmt(percentile(d, 50))} ms  proxy ${fmt(percentile(p, 50))} ms  added ${fmt(percentile(p, 50) - percentile(d, 50))} ms (target <= 2)  |  ` +
        `p99 direct ${fmt(percentile(d, 99))} ms  proxy ${fmt(percentile(p, 99))} ms  added ${fmt(percentile(p, 99) - percentile(d, 99))} ms  (${LATENCY_REQUESTS} sequential GETs each)`,
    );
    const directRate = await throughput(direct, THROUGHPUT_REQUESTS);
    const proxyRate = await throughput(proxied, THROUGHPUT_REQUESTS);
    // The same with an upstream that takes 5 ms, closer to a real API.
    const slowDirect = await throughput(() => get(`${apiUrl}/slow`, { 'x-api-key': 'bench-key' }), THROUGHPUT_REQUESTS / 5);
    const slowProxy = await throughput(
      () => get(`${server.url}/proxy/slow`, { authorization: `Bearer ${server.keys.dev}`, 'connection-id': 'bench', 'provider-config-key': 'bench-api' }),
      THROUGHPUT_REQUESTS / 5,
    );
    // The floor under any proxied call: the API's own HTTP stack answering GET /health.
    const healthRate = await throughput(() => get(`${server.url}/health`, {}), THROUGHPUT_REQUESTS);
    console.log(
      `proxy.throughput direct ${Math.round(directRate)} req/s  proxy ${Math.round(proxyRate)} req/s  ratio ${(proxyRate / directRate).toFixed(2)} (target >= 0.5; ${CONCURRENCY} in flight, ${
        process.env.DATABASE_URL ? 'Postgres' : 'PGlite'
      })`,
    );
    console.log(`proxy.slow-api  direct ${Math.round(slowDirect)} req/s  proxy ${Math.round(slowProxy)} req/s  ratio ${(slowProxy / slowDirect).toFixed(2)} (fake API answering in 5 ms)`);
    console.log(`proxy.ceiling   GET /health on the same server ${Math.round(healthRate)} req/s (ratio ${(healthRate / directRate).toFixed(2)} of direct): the API's HTTP stack alone`);
  } finally {
    agent.destroy();
    await server.close();
    await worker.terminate();
    useUserProviders({});
  }
}
