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
 * - slow-api: the same throughput comparison against a fake that answers in 5 ms, like a real API.
 * - ceiling: GET /health on the same server, the most any route can do on this HTTP stack.
 *
 * Three threads, as three processes would be in production: the fake API and the load generator
 * each run in a worker thread, so Syncline's event loop does only Syncline's work.
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

/** The load generator: answers {id, kind, targets, count} with timings (latency) or a rate (throughput). */
const CLIENT = `
const http = require('node:http');
const { performance } = require('node:perf_hooks');
const { parentPort } = require('node:worker_threads');
const agent = new http.Agent({ keepAlive: true, maxSockets: ${CONCURRENCY} });
function get(target) {
  return new Promise((resolve, reject) => {
    const start = performance.now();
    const req = http.get(target.url, { headers: target.headers, agent }, (res) => {
      res.on('data', () => undefined);
      res.on('end', () => (res.statusCode === 200 ? resolve(performance.now() - start) : reject(new Error(target.url + ': HTTP ' + res.statusCode))));
    });
    req.on('error', reject);
  });
}
async function latency(targets, count) {
  const times = targets.map(() => []);
  for (let i = 0; i < count; i++) {
    // Alternate which goes first, so neither always meets the warmer socket or cache.
    const order = i % 2 === 0 ? targets.map((_, n) => n) : targets.map((_, n) => n).reverse();
    for (const n of order) times[n].push(await get(targets[n]));
  }
  return times;
}
async function throughput(target, count) {
  let next = 0;
  const start = performance.now();
  await Promise.all(Array.from({ length: ${CONCURRENCY} }, async () => { while (next++ < count) await get(target); }));
  return (count * 1000) / (performance.now() - start);
}
parentPort.on('message', async ({ id, kind, targets, count }) => {
  try {
    const result = kind === 'latency' ? await latency(targets, count) : await throughput(targets[0], count);
    parentPort.postMessage({ id, result });
  } catch (err) {
    parentPort.postMessage({ id, error: String(err) });
  }
});
`;

interface Target {
  url: string;
  headers: Record<string, string>;
}

function loadGenerator() {
  const worker = new Worker(CLIENT, { eval: true });
  let nextId = 0;
  const ask = <T>(kind: 'latency' | 'throughput', targets: Target[], count: number) =>
    new Promise<T>((resolve, reject) => {
      const id = nextId++;
      const onMessage = (m: { id: number; result?: T; error?: string }) => {
        if (m.id !== id) return;
        worker.off('message', onMessage);
        if (m.error) reject(new Error(m.error));
        else resolve(m.result as T);
      };
      worker.on('message', onMessage);
      worker.postMessage({ id, kind, targets, count });
    });
  return {
    latency: (targets: Target[], count: number) => ask<number[][]>('latency', targets, count),
    throughput: (target: Target, count: number) => ask<number>('throughput', [target], count),
    close: () => worker.terminate(),
  };
}

const percentile = (sorted: number[], p: number) => sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;

export async function run(): Promise<void> {
  const fake = new Worker(FAKE_API, { eval: true });
  const port = await new Promise<number>((resolve) => fake.once('message', resolve));
  const apiUrl = `http://127.0.0.1:${port}`;
  useUserProviders({
    'bench-api': { display_name: 'Bench API', auth_mode: 'API_KEY', proxy: { base_url: apiUrl, headers: { 'x-api-key': '${apiKey}' } } },
  });
  const server = await startTestServer();
  const client = loadGenerator();
  try {
    await server.store.integrations.create(server.env.dev, { uniqueKey: 'bench-api', provider: 'bench-api' });
    await server.store.connections.upsert(server.env.dev, 'bench-api', { connectionId: 'bench', credentials: { type: 'API_KEY', apiKey: 'bench-key' } });
    const proxyHeaders = { authorization: `Bearer ${server.keys.dev}`, 'connection-id': 'bench', 'provider-config-key': 'bench-api' };
    const direct = (path: string): Target => ({ url: `${apiUrl}${path}`, headers: { 'x-api-key': 'bench-key' } });
    const proxied = (path: string): Target => ({ url: `${server.url}/proxy${path}`, headers: proxyHeaders });

    await client.latency([direct('/items?limit=10'), proxied('/items?limit=10')], 300); // warm-up: JIT, sockets, caches
    const [d, p] = (await client.latency([direct('/items?limit=10'), proxied('/items?limit=10')], LATENCY_REQUESTS)).map((t) => t.sort((a, b) => a - b)) as [
      number[],
      number[],
    ];
    const fmt = (n: number) => n.toFixed(2);
    console.log(
      `proxy.latency   p50 direct ${fmt(percentile(d, 50))} ms  proxy ${fmt(percentile(p, 50))} ms  added ${fmt(percentile(p, 50) - percentile(d, 50))} ms (target <= 2)  |  ` +
        `p99 direct ${fmt(percentile(d, 99))} ms  proxy ${fmt(percentile(p, 99))} ms  added ${fmt(percentile(p, 99) - percentile(d, 99))} ms  (${LATENCY_REQUESTS} sequential GETs each)`,
    );
    const directRate = await client.throughput(direct('/items?limit=10'), THROUGHPUT_REQUESTS);
    const proxyRate = await client.throughput(proxied('/items?limit=10'), THROUGHPUT_REQUESTS);
    console.log(
      `proxy.throughput direct ${Math.round(directRate)} req/s  proxy ${Math.round(proxyRate)} req/s  ratio ${(proxyRate / directRate).toFixed(2)} (target >= 0.5; ${CONCURRENCY} in flight, ${
        process.env.DATABASE_URL ? 'Postgres' : 'PGlite'
      })`,
    );
    const slowDirect = await client.throughput(direct('/slow'), THROUGHPUT_REQUESTS / 5);
    const slowProxy = await client.throughput(proxied('/slow'), THROUGHPUT_REQUESTS / 5);
    console.log(`proxy.slow-api  direct ${Math.round(slowDirect)} req/s  proxy ${Math.round(slowProxy)} req/s  ratio ${(slowProxy / slowDirect).toFixed(2)} (fake API answering in 5 ms)`);
    const healthRate = await client.throughput({ url: `${server.url}/health`, headers: {} }, THROUGHPUT_REQUESTS);
    console.log(`proxy.ceiling   GET /health on the same server ${Math.round(healthRate)} req/s (ratio ${(healthRate / directRate).toFixed(2)} of direct): the API's HTTP stack alone`);
  } finally {
    await client.close();
    await server.close();
    await fake.terminate();
    useUserProviders({});
  }
}
