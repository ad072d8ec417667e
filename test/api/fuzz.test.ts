import { connect } from 'node:net';
import type express from 'express';
import { createApp } from '../../src/api/app';
import { createLogger } from '../../src/logger';
import type { Queryable } from '../../src/store';
import { call, type RawRequest, type RawResponse } from '../helpers/api';
import { startOrchestrationTest, type OrchestrationTest } from '../orchestration/helpers';

/**
 * Every write route (POST/PUT/PATCH/DELETE) of the app, read from its router so a new route is
 * covered without touching this file, gets hostile input: NUL characters, invalid UTF-8, lone
 * surrogates, wrong types, 100 KB strings, a 10 MB body, a 100 KB header. No answer may be a 5xx,
 * every error is in our JSON shape, and a refused request changes no row of any table.
 * Inputs are fixed lists: a failure names the route and the input, and reruns the same.
 */

let t: OrchestrationTest;
let routes: Array<{ method: string; path: string }>;

beforeAll(async () => {
  t = await startOrchestrationTest();
  await t.connect('c1');
  await t.request('POST', '/environment-variables', { json: [{ name: 'KEEP', value: 'me' }] });
  // A second app over the same store and orchestrator, only to read its routes.
  routes = writeRoutes(createApp({ store: t.store, logger: createLogger('silent'), orchestrator: t.orchestration.orchestrator }));
}, 60_000);
afterAll(() => t?.close());

const WRITE_METHODS = ['post', 'put', 'patch', 'delete'];

interface Layer {
  route?: { path: unknown; methods: Record<string, boolean> };
  handle?: { stack?: Layer[] };
}

/** Walks the express router (and routers mounted in it) for routes answering a write method. */
function writeRoutes(app: express.Express): Array<{ method: string; path: string }> {
  const found: Array<{ method: string; path: string }> = [];
  const walk = (stack: Layer[]) => {
    for (const layer of stack) {
      if (layer.route) {
        for (const method of Object.keys(layer.route.methods).filter((m) => WRITE_METHODS.includes(m))) {
          // A path that is not a string (a pattern) would be silently left out: fail instead.
          if (typeof layer.route.path !== 'string') throw new Error(`route ${method} ${String(layer.route.path)} has a non-string path`);
          found.push({ method: method.toUpperCase(), path: layer.route.path });
        }
      } else if (layer.handle?.stack) {
        walk(layer.handle.stack);
      }
    }
  };
  walk((app as unknown as { router: { stack: Layer[] } }).router.stack);
  return found;
}

/** Path parameters filled with objects that exist, so requests get past "not found" to the checks. */
const PARAMS: Record<string, string> = { integration: 'fake', uniqueKey: 'fake', providerConfigKey: 'fake', connectionId: 'c1', name: 'KEEP' };
const fill = (path: string, bad?: string) => path.replace(/:(\w+)/g, (_m, name: string) => bad ?? encodeURIComponent(PARAMS[name] ?? 'x'));
const hasParams = (path: string) => /:\w+/.test(path);
const hasBody = (method: string) => method !== 'DELETE';

/** The fields a route may read, each given the same hostile value. */
const FIELDS = [
  'unique_key', 'provider', 'display_name', 'provider_config_key', 'connection_id', 'name', 'value', 'model', 'variant', 'input',
  'action_name', 'syncs', 'sync_name', 'metadata', 'tags', 'connection_config', 'credentials', 'end_user', 'until_cursor', 'frequency',
  'primary_url', 'secondary_url', 'nangoYamlBody', 'flowConfigs', 'allowed_integrations', 'variables', 'params',
];
const everyField = (value: unknown) => Object.fromEntries(FIELDS.map((field) => [field, value]));
/** Objects and strings at once: the value itself, and inside the objects fields hold. */
const everywhere = (value: string) => ({ ...everyField(value), metadata: { [value]: value }, tags: { k: value }, connection_config: { k: value } });
const HUGE = 'x'.repeat(100 * 1024);

/** [what, request for a route], `undefined` where it does not apply (no body for DELETE, no path parameter). */
type Inputs = Array<[string, (method: string, path: string) => (RawRequest & { path: string }) | undefined]>;

/** Inputs that have to be refused. */
const refused: Inputs = [
  ['NUL in the path', (_m, p) => (hasParams(p) ? { path: fill(p, 'a%00b') } : undefined)],
  ['invalid UTF-8 in the path', (_m, p) => (hasParams(p) ? { path: fill(p, '%ff%fe') } : undefined)],
  ['a lone surrogate (CESU-8) in the path', (_m, p) => (hasParams(p) ? { path: fill(p, '%ed%a0%80') } : undefined)],
  ['a path parameter that does not decode', (_m, p) => (hasParams(p) ? { path: fill(p, '%zz') } : undefined)],
  ['NUL in the query', (_m, p) => ({ path: `${fill(p)}?provider_config_key=fake&connection_id=a%00b&model=M%00` })],
  ['invalid UTF-8 in the query', (_m, p) => ({ path: `${fill(p)}?provider_config_key=fake&connection_id=%c3%28` })],
  ['NUL in every field of the body', (m, p) => (hasBody(m) ? { path: fill(p), json: everywhere('a\u0000b') } : undefined)],
  ['a lone surrogate in every field of the body', (m, p) => (hasBody(m) ? { path: fill(p), json: everywhere('a\ud800b') } : undefined)],
  ['NUL in an object key of the body', (m, p) => (hasBody(m) ? { path: fill(p), json: { 'a\u0000': 1, metadata: { 'k\u0000': 1 } } } : undefined)],
  ['invalid UTF-8 bytes in the body', (m, p) => (hasBody(m) ? { path: fill(p), text: Buffer.concat([Buffer.from('{"connection_id":"'), Buffer.from([0xc3, 0x28, 0xff]), Buffer.from('"}')]) } : undefined)],
  ['malformed JSON', (m, p) => (hasBody(m) ? { path: fill(p), text: '{"a":' } : undefined)],
];

/** Inputs a route may accept or refuse, but never with a 5xx: wrong types and oversized values. */
const tolerated: Inputs = [
  ['a body that is an array', (m, p) => (hasBody(m) ? { path: fill(p), json: [1, 'two', null] } : undefined)],
  ['a body that is a string', (m, p) => (hasBody(m) ? { path: fill(p), json: 'text' } : undefined)],
  ['a body that is null', (m, p) => (hasBody(m) ? { path: fill(p), json: null } : undefined)],
  ['numbers in every field', (m, p) => (hasBody(m) ? { path: fill(p), json: everyField(1e308) } : undefined)],
  ['arrays in every field', (m, p) => (hasBody(m) ? { path: fill(p), json: everyField([[{}]]) } : undefined)],
  ['objects in every field', (m, p) => (hasBody(m) ? { path: fill(p), json: everyField({ constructor: 1, __proto__: { x: 1 } }) } : undefined)],
  ['prototype names in every field', (m, p) => (hasBody(m) ? { path: fill(p), json: everyField('constructor') } : undefined)],
  ['100 KB strings in every field', (m, p) => (hasBody(m) ? { path: fill(p), json: everywhere(HUGE) } : undefined)],
  ['a 100 KB path parameter', (_m, p) => (hasParams(p) ? { path: fill(p, HUGE) } : undefined)],
  ['a 100 KB query value', (_m, p) => ({ path: `${fill(p)}?provider_config_key=${HUGE}` })],
  ['deeply nested JSON', (m, p) => (hasBody(m) ? { path: fill(p), text: `{"metadata":${'['.repeat(5000)}${']'.repeat(5000)}}` } : undefined)],
];

/**
 * Tables that background work changes by itself (the engine's, and outboxes drained as events are
 * handled): a refused request cannot be told apart from it there; the rows it would have written
 * elsewhere (connections, integrations...) still show it.
 */
const BACKGROUND_TABLES = /^(engine_|sync_lifecycle_events$|auth_events$|action_runs$)/;

/** One fingerprint of every table of the test's schema but the background ones, in a single round trip. */
async function fingerprint(db: Queryable): Promise<Record<string, string>> {
  const { rows: all } = await db.query<{ name: string }>(
    `SELECT table_name AS name FROM information_schema.tables WHERE table_schema = current_schema() AND table_type = 'BASE TABLE' ORDER BY 1`,
  );
  const tables = all.filter(({ name }) => !BACKGROUND_TABLES.test(name));
  const parts = tables.map(({ name }) => `SELECT '${name}' AS name, count(*)::int AS n, md5(coalesce(string_agg(t::text, '|' ORDER BY t::text), '')) AS h FROM "${name}" t`);
  const { rows } = await db.query<{ name: string; n: number; h: string }>(parts.join(' UNION ALL '));
  return Object.fromEntries(rows.map((r) => [r.name, `${r.n}:${r.h}`]));
}

test('the router lists the write routes of every part of the API', () => {
  const paths = new Set(routes.map((r) => `${r.method} ${r.path}`));
  for (const known of ['POST /integrations', 'DELETE /connections/:connectionId', 'POST /sync/trigger', 'POST /action/trigger', 'POST /webhook/:environment/:integration', 'PATCH /records/prune']) {
    expect(paths).toContain(known);
  }
  expect(routes.length).toBeGreaterThanOrEqual(30);
});

/** What is wrong with an answer: a 5xx, an error not in our shape, or (`mustRefuse`) a success. */
function problemOf(res: RawResponse, mustRefuse: boolean): string | undefined {
  if (res.status >= 500) return `${res.status} ${JSON.stringify(res.body)}`;
  if (res.status >= 400 && !(typeof res.body?.error?.code === 'string' && typeof res.body.error.message === 'string')) return `${res.status} not in our error shape: ${JSON.stringify(res.body)}`;
  if (mustRefuse && res.status < 400) return `accepted (${res.status})`;
  return undefined;
}

/**
 * Sends each input `make` gives to each route and lists every problem (all of them, so one run
 * shows the whole picture). The tables are compared around each route's refused inputs (one
 * fingerprint per answer would double the run time); after an accepted one they are taken again.
 */
async function sendAll(inputs: Inputs, mustRefuse: boolean): Promise<{ sent: number; problems: string[] }> {
  let sent = 0;
  const problems: string[] = [];
  for (const { method, path } of routes) {
    let before = await fingerprint(t.store.db);
    let refusedSince: string[] = [];
    for (const [input, make] of inputs) {
      const request = make(method, path);
      if (!request) continue;
      const res = await call(t, method, request.path, request);
      sent++;
      const problem = problemOf(res, mustRefuse);
      if (problem) problems.push(`${method} ${path}, ${input}: ${problem}`);
      if (res.status < 400) {
        before = await fingerprint(t.store.db);
        refusedSince = [];
      } else refusedSince.push(input);
    }
    const after = await fingerprint(t.store.db);
    const changed = Object.keys(after).filter((table) => after[table] !== before[table]);
    if (changed.length) problems.push(`${method} ${path}: refused (${refusedSince.join('; ')}) yet ${changed.join(', ')} changed`);
  }
  return { sent, problems };
}

test('hostile input to every write route: a 4xx in our JSON shape that changes nothing, never a 5xx', async () => {
  const { sent, problems } = await sendAll(refused, true);
  expect(problems).toEqual([]);
  expect(sent).toBeGreaterThan(routes.length * 4);
}, 60_000);

test('wrong types and oversized values to every write route: never a 5xx, and a refusal changes nothing', async () => {
  expect((await sendAll(tolerated, false)).problems).toEqual([]);
}, 60_000);

/**
 * Sends `head` (request line and headers, as bytes on the wire) and `body`; resolves with the
 * first answer (status 0 if none comes within 5 s), then closes the socket.
 */
function rawRequest(head: string, body?: Buffer): Promise<{ status: number; body: string }> {
  const { hostname, port } = new URL(t.url);
  return new Promise((resolve, reject) => {
    let received = Buffer.alloc(0);
    const done = (status: number, body: string) => {
      socket.destroy();
      resolve({ status, body });
    };
    const socket = connect(Number(port), hostname, () => {
      socket.write(Buffer.from(`${head}\r\nAuthorization: Bearer ${t.keys.dev}\r\nContent-Length: ${body?.length ?? 0}\r\nConnection: close\r\n\r\n`, 'latin1'));
      if (body) socket.write(body);
    });
    socket.setTimeout(5000, () => done(0, ''));
    socket.on('error', reject).on('data', (chunk: Buffer) => {
      received = Buffer.concat([received, chunk]);
      const text = received.toString('utf8');
      const end = text.indexOf('\r\n\r\n');
      const length = Number(/\r\ncontent-length: *(\d+)/i.exec(text)?.[1]);
      if (end !== -1 && received.length >= end + 4 + length) done(Number(text.slice(9, 12)), text.slice(end + 4, end + 4 + length));
    });
  });
}

test('a body over 10 MB is a 413 in our JSON error shape on every write route that reads one', async () => {
  const bodies = routes.filter((r) => hasBody(r.method));
  const tooLarge = Buffer.from(JSON.stringify({ metadata: { blob: 'x'.repeat(10 * 1024 * 1024) } }));
  for (const { method, path } of bodies) {
    const before = await fingerprint(t.store.db);
    const res = await rawRequest(`${method} ${fill(path)} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json`, tooLarge);
    expect({ route: `${method} ${path}`, status: res.status }).toEqual({ route: `${method} ${path}`, status: 413 });
    expect(JSON.parse(res.body)).toEqual({ error: { code: 'payload_too_large', message: expect.any(String) } });
    expect(await fingerprint(t.store.db)).toEqual(before);
  }
  expect(bodies.length).toBeGreaterThan(20);
});

test.each<[string, string, number, string]>([
  ['a 100 KB header', `POST /integrations HTTP/1.1\r\nHost: x\r\nX-Padding: ${'x'.repeat(100 * 1024)}`, 431, 'headers_too_large'],
  ['a NUL in a header', 'PATCH /records/prune HTTP/1.1\r\nHost: x\r\nProvider-Config-Key: fake\r\nConnection-Id: a\u0000b', 400, 'bad_request'],
  ['a request line that is not HTTP', 'POST /integrations SPDY/9\r\nHost: x', 400, 'bad_request'],
])('%s: refused by the HTTP parser, answered in our JSON error shape', async (_what, head, status, code) => {
  const before = await fingerprint(t.store.db);
  const res = await rawRequest(head);
  expect(res.status).toBe(status);
  expect(JSON.parse(res.body)).toEqual({ error: { code, message: expect.any(String) } });
  expect(await fingerprint(t.store.db)).toEqual(before);
});

test('Latin-1 bytes in the Connection-Id header are just an unknown connection', async () => {
  const res = await rawRequest('PATCH /records/prune HTTP/1.1\r\nHost: x\r\nProvider-Config-Key: fake\r\nConnection-Id: \u00ff\u00fe');
  expect(res.status).toBeGreaterThanOrEqual(400);
  expect(res.status).toBeLessThan(500);
  expect(JSON.parse(res.body)).toEqual({ error: expect.objectContaining({ code: expect.any(String) }) });
});
