import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import { createLogger } from '../../src/logger';
import { startSyncline, type Syncline } from '../../src/server';
import { startFakeApi, type FakeApi } from '../fixtures/fake-apis';
import { startReceiver, type Receiver } from '../webhooks/receiver';
import { postgresProxy, scratchDatabase, synclineConfig, waitFor } from './postgres';

// Syncline in Postgres mode (embedded engine) with a sync every 30 s, actions (waited for and
// asynchronous), API calls and webhooks in flight, ready to have Postgres taken away under it.

const YAML = `integrations:
  fake:
    syncs:
      items:
        runs: every 30s
        output: Item
        endpoint: GET /items
        sync_type: full
        track_deletes: true
    actions:
      first-item:
        endpoint: POST /first-item
models:
  Item:
    id: string
    name: string
`;
const ITEMS = `module.exports = async function fetchData(nango) {
  await nango.log('listing items');
  for (let offset = 0; ; offset += 10) {
    const res = await nango.get({ endpoint: '/offset/items', params: { offset, limit: 10 } });
    if (res.data.items.length === 0) break;
    await nango.batchSave(res.data.items.map((i) => ({ id: String(i.id), name: i.name })), 'Item');
  }
};`;
const FIRST_ITEM = `module.exports = async function runAction(nango) {
  const res = await nango.get({ endpoint: '/offset/items', params: { offset: 0, limit: 1 } });
  return res.data.items[0];
};`;

export interface ApiAnswer {
  status: number;
  body: any;
}

export interface Traffic {
  /** Stops the callers; what each call answered, by status (0: no answer at all). */
  stop(): Promise<Map<number, number>>;
  /** Ids of the asynchronous actions Syncline accepted. */
  asyncActions: string[];
}

export interface OutageScenario {
  syncline: Syncline;
  db: Awaited<ReturnType<typeof scratchDatabase>>;
  proxy: Awaited<ReturnType<typeof postgresProxy>>;
  fake: FakeApi;
  /** The customer's app, receiving Syncline's webhooks. */
  hooks: Receiver;
  /** Every line Syncline logged at warn or above. */
  log: Record<string, unknown>[];
  api(method: string, p: string, body?: unknown, headers?: Record<string, string>): Promise<ApiAnswer>;
  healthy(): Promise<boolean>;
  /** API calls, actions and asynchronous actions arriving all along. */
  traffic(): Traffic;
  /** The provider's data changes (one item renamed, one deleted, one added): only a sync run after this brings it in. */
  changeProviderData(tag: string): void;
  /** Waits for a scheduled run (no trigger is sent) to store the provider's data; how long after `since` that took. */
  scheduledRunBringsDataIn(since: number): Promise<number>;
  /**
   * What must hold once the database is back: the stored records equal the provider's data (as
   * after an undisturbed run), a waited-for action works, every accepted asynchronous action ended
   * with its result and its webhook, and a sync webhook reported the run that brought the last changes.
   */
  expectNothingLost(traffic: Traffic): Promise<void>;
  /**
   * The whole trial: traffic starts, the provider's data changes, `disturb` takes the database away
   * and returns once it is meant to be back; then Syncline must be healthy again, have answered only
   * 200, 202 and 503 meanwhile, store the changed data with a scheduled run, and have lost nothing.
   */
  survives(tag: string, disturb: () => Promise<void>): Promise<Trial>;
  close(): Promise<void>;
}

/** What a trial measured: how long after the database's return /health was ok and a scheduled run stored the data, and what the calls answered. */
export interface Trial {
  resumedMs: number;
  ranAfterMs: number;
  statuses: Map<number, number>;
}

export async function startOutageScenario(): Promise<OutageScenario> {
  const [db, proxy, fake, hooks] = await Promise.all([scratchDatabase(), postgresProxy(new URL(process.env.DATABASE_URL!)), startFakeApi(), startReceiver()]);
  fake.items = Array.from({ length: 45 }, (_, i) => ({ id: i + 1, name: `item ${i + 1}` }));
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'syncline-outage-'));
  fs.writeFileSync(path.join(dir, 'providers.yaml'), `fake:\n  display_name: Fake\n  auth_mode: API_KEY\n  proxy:\n    base_url: ${fake.url}\n    headers:\n      x-api-key: \${apiKey}\n`);
  const log: Record<string, unknown>[] = [];
  const logger = createLogger(
    'warn',
    new Writable({
      write(chunk: Buffer, _enc, done) {
        log.push(...chunk.toString().split('\n').filter(Boolean).map((l) => JSON.parse(l) as Record<string, unknown>));
        done();
      },
    }),
  );
  const key = `sk_${randomBytes(12).toString('hex')}`;
  const syncline = await startSyncline(await synclineConfig(proxy.url(db.name), key, { SYNCLINE_PROVIDERS_FILE: path.join(dir, 'providers.yaml') }), logger);

  async function api(method: string, p: string, body?: unknown, headers: Record<string, string> = {}): Promise<ApiAnswer> {
    const res = await fetch(syncline.url + p, {
      method,
      headers: { authorization: `Bearer ${key}`, 'connection-id': 'c1', 'provider-config-key': 'fake', ...(body ? { 'content-type': 'application/json' } : {}), ...headers },
      body: body ? JSON.stringify(body) : undefined,
    });
    const text = await res.text();
    return { status: res.status, body: text ? JSON.parse(text) : undefined };
  }

  const records = async () => {
    const res = await api('GET', '/records?model=Item&limit=1000');
    if (res.status !== 200) throw new Error(`records: ${res.status}`);
    return (res.body.records as Array<{ id: string; name: string; _nango_metadata: { deleted_at: string | null } }>).filter((r) => !r._nango_metadata.deleted_at);
  };
  /** The provider's data as a sync run would store it. */
  const expected = () => fake.items.map((i) => ({ id: String(i.id), name: i.name })).sort((a, b) => Number(a.id) - Number(b.id));
  const stored = async () => (await records()).map((r) => ({ id: r.id, name: r.name })).sort((a, b) => Number(a.id) - Number(b.id));

  expect((await api('POST', '/integrations', { provider: 'fake', unique_key: 'fake' })).status).toBeLessThan(300);
  const flowConfigs = [
    { type: 'sync', name: 'items', providerConfigKey: 'fake', fileBody: { js: ITEMS } },
    { type: 'action', name: 'first-item', providerConfigKey: 'fake', fileBody: { js: FIRST_ITEM } },
  ];
  expect((await api('POST', '/sync/deploy', { nangoYamlBody: YAML, flowConfigs })).status).toBe(200);
  expect((await api('PATCH', '/environment/webhook', { primary_url: `${hooks.url}/hooks`, on_sync_completion_always: true })).status).toBe(200);
  expect((await api('POST', '/connections', { provider_config_key: 'fake', connection_id: 'c1', credentials: { type: 'API_KEY', apiKey: 'k' } })).status).toBeLessThan(300);
  await waitFor('the first run', async () => (await records()).length === 45, 60_000);

  let added = 0;
  let changedAt = 0;
  const self: OutageScenario = {
    syncline,
    db,
    proxy,
    fake,
    hooks,
    log,
    api,
    healthy: async () => (await fetch(`${syncline.url}/health`)).status === 200,

    traffic() {
      const statuses = new Map<number, number>();
      const asyncActions: string[] = [];
      let running = true;
      const count = (status: number) => statuses.set(status, (statuses.get(status) ?? 0) + 1);
      const loop = async (call: () => Promise<unknown>) => {
        while (running) {
          await call().catch(() => count(0));
          await new Promise((r) => setTimeout(r, 200));
        }
      };
      const done = Promise.all([
        loop(async () => count((await api('GET', '/records?model=Item&limit=5')).status)),
        // One retry: an action whose start the engine wrote just as its connection died (the answer to
        // the worker lost) runs nowhere until its heartbeat timeout, then is retried, as on Temporal.
        loop(async () => count((await api('POST', '/action/trigger', { action_name: 'first-item' }, { 'x-max-retries': '1' })).status)),
        loop(async () => {
          const res = await api('POST', '/action/trigger', { action_name: 'first-item' }, { 'x-async': 'true', 'x-max-retries': '1' });
          count(res.status);
          if (res.status === 202) asyncActions.push(res.body.id as string);
        }),
      ]);
      return {
        asyncActions,
        async stop() {
          running = false;
          await done;
          return statuses;
        },
      };
    },

    changeProviderData(tag) {
      fake.items = fake.items.filter((i) => i.id !== fake.items[0]!.id).map((i, n) => (n === 0 ? { ...i, name: `renamed ${tag}` } : i));
      fake.items.push({ id: 1000 + ++added, name: `added ${tag}` });
      changedAt = Date.now();
    },

    async scheduledRunBringsDataIn(since) {
      await waitFor('a scheduled run to store the changed data', async () => JSON.stringify(await stored()) === JSON.stringify(expected()), 90_000);
      return Date.now() - since;
    },

    async expectNothingLost(traffic) {
      expect(JSON.stringify(await stored())).toBe(JSON.stringify(expected()));
      expect(await api('POST', '/action/trigger', { action_name: 'first-item' })).toMatchObject({ status: 200, body: fake.items[0] });
      // Each accepted asynchronous action ends, with its result or its failure (404 means still
      // running), and its webhook is sent. An attempt whose start was lost with the database waits
      // for its 60 s heartbeat timeout before its retry; so does one whose end was recorded but whose
      // completion the worker could not report (its retry, then the webhook, come after the timeout):
      // all of them get 3 minutes together, and each webhook at least 30 s after its action ended.
      expect(traffic.asyncActions.length).toBeGreaterThan(0);
      const until = Date.now() + 180_000;
      const left = (least: number) => Math.max(least, until - Date.now());
      for (const id of traffic.asyncActions) {
        await waitFor(`asynchronous action ${id} to end`, async () => ![404, 503].includes((await api('GET', `/action/${id}`)).status), left(1000));
        await waitFor(`the webhook of asynchronous action ${id}`, () => hooks.find((b) => b?.type === 'async_action' && b.payload?.id === id).length > 0, left(30_000));
      }
      // The run that brought the changes in told the app so (a run that started after them: a deletion
      // is what tells it from the first run; a second earlier is slack for the run's clock).
      await waitFor(
        'a sync webhook reporting the changes',
        () => hooks.find((b) => b?.type === 'sync' && b.success === true && Date.parse(b.modifiedAfter) >= changedAt - 1000 && b.responseResults?.deleted >= 1).length > 0,
        30_000,
      );
      // No delivery ended as failed: attempts that failed on our side (the database away) are not the app's.
      const deliveries = async () => (await api('GET', '/environment/webhook/deliveries?limit=100')).body.data as Array<{ id: number; type: string; status: string }>;
      await waitFor('every webhook delivery to end', async () => (await deliveries()).every((d) => d.status !== 'PENDING'), 30_000);
      expect((await deliveries()).filter((d) => d.status !== 'DELIVERED')).toEqual([]);
    },

    async survives(tag, disturb) {
      const t = self.traffic();
      await new Promise((r) => setTimeout(r, 1000));
      self.changeProviderData(tag);
      await disturb();
      const back = Date.now();
      await waitFor('/health to be ok again', self.healthy, 30_000);
      const resumedMs = Date.now() - back;
      const statuses = await t.stop();
      // Only successes and our 503: no 500, no dropped connection.
      expect([...statuses].filter(([status]) => ![200, 202, 503].includes(status))).toEqual([]);
      const ranAfterMs = await self.scheduledRunBringsDataIn(back);
      await self.expectNothingLost(t);
      return { resumedMs, ranAfterMs, statuses };
    },

    async close() {
      await proxy.start().catch(() => undefined);
      await syncline.close();
      await Promise.all([proxy.close(), fake.close(), hooks.close()]);
      await db.drop();
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
  return self;
}

/** Starts the scenario before the tests of the calling file and closes it after; call it at the top of a describe block. */
export function useOutageScenario(): () => OutageScenario {
  let scenario: OutageScenario | undefined;
  beforeAll(async () => {
    scenario = await startOutageScenario();
  });
  afterAll(async () => {
    await scenario?.close();
  });
  return () => scenario!;
}
