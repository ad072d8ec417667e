import { startOrchestrationTest, waitFor, type OrchestrationTest } from './helpers';

jest.setTimeout(90_000);

// On-event scripts (nango.yaml `on-events`, or createOnEvent): deployed with the syncs and actions,
// post-connection-creation runs once a connection exists, pre-connection-deletion runs before one is
// deleted, while its credentials are still there. Each run is a workflow and logs as `on-event`.
const YAML = `integrations:
  fake:
    on-events:
      post-connection-creation:
        - welcome
      pre-connection-deletion:
        - goodbye
`;
const WELCOME = `module.exports = async function (nango) {
  const res = await nango.get({ endpoint: '/offset/items', params: { offset: 0, limit: 1, from: 'welcome' } });
  await nango.log('first item ' + res.data.items[0].name);
  await nango.updateMetadata({ welcomed: res.data.items[0].id });
};`;
const GOODBYE = `module.exports = async function (nango) {
  const connection = await nango.getConnection();
  await nango.get({ endpoint: '/offset/items', params: { offset: 0, limit: 1, from: 'goodbye', connection: connection.connection_id } });
};`;
const onEvents = (scripts: Array<{ name: string; event: string; js: string }>) => [{ providerConfigKey: 'fake', scripts: scripts.map(({ name, event, js }) => ({ name, event, fileBody: { js } })) }];
const BOTH = onEvents([
  { name: 'welcome', event: 'post-connection-creation', js: WELCOME },
  { name: 'goodbye', event: 'pre-connection-deletion', js: GOODBYE },
]);

let t: OrchestrationTest;

beforeAll(async () => {
  t = await startOrchestrationTest();
  t.fake.items = [{ id: 7, name: 'seven' }];
});
afterAll(async () => {
  await t?.close();
});

const deploy = (json: Record<string, unknown>) => t.request('POST', '/sync/deploy', { json });
const metadata = async (connectionId: string) => (await t.request('GET', `/connection/${connectionId}?provider_config_key=fake`)).body?.metadata;
const onEventLogs = async () => ((await t.request('GET', '/logs?order=asc&limit=1000')).body.logs as Array<{ operation: string; name: string; kind: string; level: string; message: string; connection_id: string }>).filter((l) => l.operation === 'on-event');

test('a nango.yaml deploy: post-connection-creation runs after a connection is created, and logs its run', async () => {
  expect(await deploy({ nangoYamlBody: YAML, flowConfigs: [], onEventScriptsByProvider: BOTH })).toMatchObject({ status: 200 });
  await t.connect('c1');
  await waitFor('the welcome script to set metadata', async () => (await metadata('c1'))?.welcomed === 7);
  const requests = t.fake.requestsTo('/offset/items').filter((r) => r.query.from === 'welcome');
  expect(requests).toHaveLength(1);
  expect(requests[0]!.headers['x-api-key']).toBe('k');
  await waitFor('its outcome line', async () => (await onEventLogs()).some((l) => l.kind === 'outcome'));
  const logs = await onEventLogs();
  expect(logs.map((l) => [l.name, l.connection_id, l.kind])).toEqual(expect.arrayContaining([['welcome', 'c1', 'log'], ['welcome', 'c1', 'outcome']]));
  expect(logs.find((l) => l.kind === 'log')!.message).toBe('first item seven');
  expect(logs.find((l) => l.kind === 'outcome')!.level).toBe('info');
});

test('pre-connection-deletion runs with the credentials before the connection is deleted', async () => {
  const res = await t.request('DELETE', '/connections/c1?provider_config_key=fake');
  expect(res.status).toBe(200);
  // The deletion answered after the script ended: its request is already there, credentials injected.
  const requests = t.fake.requestsTo('/offset/items').filter((r) => r.query.from === 'goodbye');
  expect(requests.map((r) => [r.query.connection, r.headers['x-api-key']])).toEqual([['c1', 'k']]);
  expect((await t.request('GET', '/connection/c1?provider_config_key=fake')).status).toBe(404);
  // A connection that does not exist runs nothing.
  expect((await t.request('DELETE', '/connections/nope?provider_config_key=fake')).status).toBe(404);
  expect(t.fake.requestsTo('/offset/items').filter((r) => r.query.from === 'goodbye')).toHaveLength(1);
});

test('a failing on-event script is logged as failed; the deletion goes on', async () => {
  const failing = onEvents([{ name: 'goodbye', event: 'pre-connection-deletion', js: `module.exports = async function () { throw new Error('provider said no'); };` }]);
  const yaml = `integrations:\n  fake:\n    on-events:\n      pre-connection-deletion:\n        - goodbye\n`;
  expect(await deploy({ nangoYamlBody: yaml, flowConfigs: [], onEventScriptsByProvider: failing })).toMatchObject({ status: 200 });
  await t.connect('c2');
  expect((await t.request('DELETE', '/connections/c2?provider_config_key=fake')).status).toBe(200);
  const outcome = (await onEventLogs()).find((l) => l.connection_id === 'c2' && l.kind === 'outcome');
  expect(outcome).toMatchObject({ name: 'goodbye', level: 'error' });
  expect(outcome!.message).toContain('provider said no');
});

test('deploys check on-event scripts against nango.yaml; a deploy without them removes them; Nango’s payload without yaml carries them', async () => {
  expect(await deploy({ nangoYamlBody: YAML, flowConfigs: [], onEventScriptsByProvider: onEvents([{ name: 'welcome', event: 'post-connection-creation', js: WELCOME }]) })).toMatchObject({
    status: 400,
    body: { error: { code: 'missing_script' } },
  });
  const extra = onEvents([{ name: 'other', event: 'post-connection-creation', js: WELCOME }]);
  expect(await deploy({ nangoYamlBody: YAML, flowConfigs: [], onEventScriptsByProvider: [...BOTH, ...extra] })).toMatchObject({ status: 400, body: { error: { code: 'unknown_script' } } });

  expect(await deploy({ nangoYamlBody: 'integrations:\n  fake: {}\n', flowConfigs: [] })).toMatchObject({ status: 200 });
  expect(await t.store.scripts.onEvent(t.dev.id, 'fake', 'pre-connection-deletion')).toEqual([]);

  expect(await deploy({ flowConfigs: [], onEventScriptsByProvider: BOTH })).toMatchObject({ status: 200 });
  expect((await t.store.scripts.onEvent(t.dev.id, 'fake', 'post-connection-creation')).map((s) => s.name)).toEqual(['welcome']);
  await t.connect('c3');
  await waitFor('the welcome script of the yaml-less deploy', async () => (await metadata('c3'))?.welcomed === 7);

  // What a deploy would change lists them; a single-script deploy (deployMode single) keeps the others.
  const only = onEvents([{ name: 'welcome', event: 'post-connection-creation', js: WELCOME }, { name: 'hello', event: 'post-connection-creation', js: WELCOME }]);
  const preview = await t.request('POST', '/sync/deploy/confirmation', { json: { flowConfigs: [], onEventScriptsByProvider: only } });
  expect(preview.body).toMatchObject({
    newOnEventScripts: [{ name: 'hello', providerConfigKey: 'fake', event: 'post-connection-creation' }],
    updatedOnEventScripts: [{ name: 'welcome', providerConfigKey: 'fake', event: 'post-connection-creation' }],
    deletedOnEventScripts: [{ name: 'goodbye', providerConfigKey: 'fake', event: 'pre-connection-deletion' }],
  });
  expect(await deploy({ flowConfigs: [], onEventScriptsByProvider: only, deployMode: 'single' })).toMatchObject({ status: 200 });
  expect((await t.store.scripts.activeOnEvents(t.dev.id)).map((s) => `${s.event}/${s.name}`)).toEqual(['post-connection-creation/hello', 'post-connection-creation/welcome', 'pre-connection-deletion/goodbye']);
});
