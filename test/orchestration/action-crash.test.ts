import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startFakeApi, type FakeApi } from '../fixtures/fake-apis';
import { freePort, MODES } from '../helpers/temporal';
import { startReceiver, type Receiver } from '../webhooks/receiver';
import { childRequest, startChild, stopChild, useModeBackends, type Child } from './child-process';
import { HANG_SCRIPT, HANG_YAML, hangStarts } from './fixtures/hang';
import { waitFor } from './helpers';

// The whole Syncline process (API + worker, and the engine when embedded) is SIGKILLed while an
// async action's script runs. After a restart on the same data, the attempt is found dead (its
// heartbeat timeout, 2 s in the child) and, with no retries left, the run ends as failed:
// `GET /action/:id` answers the failure and the app gets one `async_action` webhook. On the
// embedded engine and on a real Temporal server, which outlives the process.
// Starting a child takes seconds, over a minute on PGlite on a loaded machine: the time limit is for that.
jest.setTimeout(300_000);

const KEY = 'sk_dev_action_crash_key_12';

let fake: FakeApi;
let hooks: Receiver;
let dir: string;

beforeAll(async () => {
  [fake, hooks] = await Promise.all([startFakeApi(), startReceiver()]);
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'syncline-action-crash-'));
  fs.writeFileSync(
    path.join(dir, 'providers.yaml'),
    `fake:\n  display_name: Fake\n  auth_mode: API_KEY\n  proxy:\n    base_url: ${fake.url}\n    headers:\n      x-api-key: \${apiKey}\n`,
  );
});

afterAll(async () => {
  await Promise.all([fake?.close(), hooks?.close()]);
  fs.rmSync(dir, { recursive: true, force: true });
});

describe.each(MODES)('%s', (mode) => {
  const backends = useModeBackends(mode, 'action_crash');

  test('SIGKILL of the whole process while an async action runs: after restart the run ends as failed, with one webhook', async () => {
    const ports = { api: await freePort(), engine: await freePort() };
    const place = { dataDir: path.join(dir, mode), databaseUrl: backends.database?.url, temporalAddress: backends.temporal?.address, providersFile: path.join(dir, 'providers.yaml'), secretKey: KEY };
    const tag = `killed-${mode}`;
    let child: Child = await startChild(ports, place);
    const api = (method: string, p: string, body?: unknown, headers?: Record<string, string>) => childRequest(child, KEY, method, p, body, headers);
    try {
      expect((await api('POST', '/integrations', { provider: 'fake', unique_key: 'fake' })).status).toBeLessThan(300);
      expect((await api('POST', '/sync/deploy', { nangoYamlBody: HANG_YAML, flowConfigs: [{ type: 'action', name: 'hang', providerConfigKey: 'fake', fileBody: { js: HANG_SCRIPT } }] })).status).toBe(200);
      expect((await api('POST', '/connections', { provider_config_key: 'fake', connection_id: 'c1', credentials: { type: 'API_KEY', apiKey: 'k' } })).status).toBeLessThan(300);
      expect((await api('PATCH', '/environment/webhook', { primary_url: `${hooks.url}/${mode}` })).status).toBe(200);

      const triggered = await api('POST', '/action/trigger', { action_name: 'hang', input: { tag } }, { 'connection-id': 'c1', 'provider-config-key': 'fake', 'x-async': 'true' });
      expect(triggered.status).toBe(202);
      const { id } = triggered.body as { id: string };
      await waitFor('the script to start', () => hangStarts(fake, tag) > 0, 60_000);
      expect((await api('GET', `/action/${id}`)).status).toBe(404); // running
      child.process.kill('SIGKILL');
      await child.exited;

      child = await startChild(ports, place);
      const restarted = Date.now();
      const res = await waitFor(
        'the run to end',
        async () => {
          const r = await api('GET', `/action/${id}`);
          return r.status !== 404 && r;
        },
        60_000,
      );
      console.log(`${mode}: the killed action's run ended ${Date.now() - restarted} ms after the restart`);
      expect(res.status).toBe(500);
      expect(res.body.error).toMatchObject({ code: 'action_failed', message: expect.stringContaining('the process running it stopped answering') });
      const webhooks = () => hooks.find((b) => b.type === 'async_action' && b.payload?.id === id, `/${mode}`);
      await waitFor('the async_action webhook', () => webhooks().length > 0, 30_000);
      await new Promise((r) => setTimeout(r, 2000));
      expect(webhooks()).toHaveLength(1);
      expect(webhooks()[0]!.body).toMatchObject({ type: 'async_action', connectionId: 'c1', providerConfigKey: 'fake', payload: { id, statusUrl: `/action/${id}` } });
      // The script ran once: no attempt was left to run it again.
      expect(hangStarts(fake, tag)).toBe(1);
    } finally {
      await stopChild(child);
    }
  });
});
