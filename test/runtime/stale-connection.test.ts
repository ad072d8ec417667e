import { createServer, type Server } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import type { ProviderDefinition } from '../../src/providers';
import { harness, outputOf, script, type Harness } from './harness';

let h: Harness;
beforeAll(async () => {
  h = await harness();
  await h.connect('c-stale', { type: 'API_KEY', apiKey: 'stale-key' });
}, 60_000);
afterAll(() => h.close());

/**
 * A provider whose `reset` rule decides, from the number of the request on its connection, whether
 * the connection is cut instead of answered: as a server that closed an idle keep-alive connection
 * looks to the request sent on it next.
 */
async function provider(reset: (nthOnSocket: number) => boolean): Promise<{ definition: ProviderDefinition; requests: number[]; close(): Promise<void> }> {
  const counts = new WeakMap<Socket, number>();
  const requests: number[] = [];
  const server: Server = createServer((req, res) => {
    const n = (counts.get(req.socket) ?? 0) + 1;
    counts.set(req.socket, n);
    requests.push(n);
    if (reset(n)) req.socket.destroy();
    else res.setHeader('content-type', 'application/json').end(JSON.stringify({ nthOnSocket: n }));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    definition: { display_name: 'Stale', auth_mode: 'API_KEY', proxy: { base_url: url, headers: { 'x-api-key': '${apiKey}' } } },
    requests,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

test('a request cut on a reused keep-alive connection is sent again once on a new one, with no retries configured', async () => {
  const p = await provider((n) => n >= 2);
  const out = await outputOf(
    await h.run(script(`const a = await nango.get({ endpoint: '/items' }); const b = await nango.get({ endpoint: '/items' }); return [a.data, b.data]`), { provider: p.definition, connectionId: 'c-stale' }),
  );
  // The second request went out on the first one's connection, was cut, and went out again on a new one.
  expect(p.requests).toEqual([1, 2, 1]);
  expect(out).toEqual([{ nthOnSocket: 1 }, { nthOnSocket: 1 }]);
  await p.close();
});

test('a connection cut on a new connection is not sent again unless retries allow it', async () => {
  const p = await provider(() => true);
  const out = await outputOf(
    await h.run(script(`try { await nango.get({ endpoint: '/items' }); return 'no error' } catch (e) { return e.code }`), { provider: p.definition, connectionId: 'c-stale' }),
  );
  expect(out).toBe('ECONNRESET');
  expect(p.requests).toEqual([1]);
  await p.close();
});
