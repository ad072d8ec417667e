import { startTestServer, type TestServer } from '../helpers/server';
import { modelChecker } from '../../src/runtime/records';

let server: TestServer;
beforeAll(async () => {
  server = await startTestServer();
  await server.store.integrations.create(server.env.dev, { uniqueKey: 'github', provider: 'github' });
});
afterAll(() => server.close());

const YAML = `integrations:
  github:
    syncs:
      issues:
        runs: every hour
        output: Issue
        endpoint: GET /issues
    actions:
      create-issue:
        endpoint: POST /issues
        input: NewIssue
        output: Issue
models:
  Issue:
    id: string
    author: User
  User:
    login: string
  NewIssue:
    title: string
`;

const bundle = (type: 'sync' | 'action', name: string, js = `module.exports = async () => '${name}';`) => ({
  type,
  providerConfigKey: 'github',
  name,
  fileBody: { js, ts: '// source' },
});

async function deploy(body: unknown, key = server.keys.dev) {
  const res = await fetch(`${server.url}/sync/deploy`, {
    method: 'POST',
    headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  return { status: res.status, body: (await res.json()) as any };
}

const active = () => server.store.scripts.active(server.env.dev);

test('deploys every script of the config with its code and the models it uses', async () => {
  const res = await deploy({ nangoYamlBody: YAML, flowConfigs: [bundle('sync', 'issues'), bundle('action', 'create-issue')] });
  expect(res.status).toBe(200);
  expect(res.body.scripts).toEqual([
    { type: 'sync', providerConfigKey: 'github', name: 'issues', version: null },
    { type: 'action', providerConfigKey: 'github', name: 'create-issue', version: null },
  ]);
  const sync = await server.store.scripts.find(server.env.dev, 'github', 'sync', 'issues');
  expect(sync!.code).toContain("'issues'");
  expect(sync!.config).toMatchObject({ runs: 'every hour', output: ['Issue'], intervalMs: 3_600_000 });
  // Referenced models come along, so records can be checked at run time.
  expect(sync!.models.map((m) => m.name).sort()).toEqual(['Issue', 'User']);

  const config = await fetch(`${server.url}/scripts/config`, { headers: { authorization: `Bearer ${server.keys.dev}` } });
  const [github] = (await config.json()) as any[];
  expect(github.providerConfigKey).toBe('github');
  expect(github.syncs.map((s: any) => s.name)).toEqual(['issues']);
  expect(github.actions.map((s: any) => s.name)).toEqual(['create-issue']);
});

test('a later deploy replaces the code and reconciles removed scripts', async () => {
  const withoutAction = YAML.replace(/    actions:[\s\S]*?models:/, 'models:');
  const res = await deploy({ nangoYamlBody: withoutAction, flowConfigs: [bundle('sync', 'issues', 'module.exports = 2;')] });
  expect(res.status).toBe(200);
  expect(res.body.removed).toEqual([{ integration: 'github', type: 'action', name: 'create-issue' }]);
  expect((await active()).map((s) => [s.name, s.code])).toEqual([['issues', 'module.exports = 2;']]);
  expect(await server.store.scripts.find(server.env.dev, 'github', 'action', 'create-issue')).toBeNull();
});

test.each([
  ['an invalid nango.yaml', { nangoYamlBody: YAML.replace('every hour', 'every 5s'), flowConfigs: [bundle('sync', 'issues'), bundle('action', 'create-issue')] }, 'invalid_nango_yaml'],
  ['an unknown integration', { nangoYamlBody: YAML.replace('  github:', '  gitlab:'), flowConfigs: [] }, 'unknown_provider_config'],
  ['a script without code', { nangoYamlBody: YAML, flowConfigs: [bundle('sync', 'issues')] }, 'missing_script'],
  ['code for an undeclared script', { nangoYamlBody: YAML, flowConfigs: [bundle('sync', 'issues'), bundle('action', 'create-issue'), bundle('sync', 'extra')] }, 'unknown_script'],
  ['a malformed body', { flowConfigs: 'nope' }, 'invalid_body'],
])('%s is refused and changes nothing', async (_what, body, code) => {
  const before = await active();
  const res = await deploy(body);
  expect(res.status).toBe(400);
  expect(res.body.error.code).toBe(code);
  expect(await active()).toEqual(before);
});

test('yaml errors come back with file, path and line', async () => {
  const res = await deploy({ nangoYamlBody: YAML.replace('every hour', 'every 5s'), flowConfigs: [] });
  expect(res.body.error.errors).toEqual([
    { file: 'nango.yaml', path: 'integrations.github.syncs.issues.runs', line: 5, message: expect.stringContaining('minimum is every 30 seconds') },
  ]);
  expect(res.body.error.message).toContain('nango.yaml:5 integrations.github.syncs.issues.runs:');
});

test("one environment's deploy is invisible to the other", async () => {
  expect(await server.store.scripts.active(server.env.prod)).toEqual([]);
  const res = await deploy({ nangoYamlBody: YAML, flowConfigs: [bundle('sync', 'issues'), bundle('action', 'create-issue')] }, server.keys.prod);
  expect(res.body.error.code).toBe('unknown_provider_config');
});

test('inputs and outputs written as type expressions deploy as anonymous models; /scripts/config gives their JSON Schema', async () => {
  const yaml = `integrations:
  github:
    actions:
      label-issues:
        endpoint: POST /labels
        input: NewIssue[]
        output: boolean
      find-issue:
        endpoint: GET /find
        output: Issue | null
models:
  Issue:
    id: string
    labels:
      - name: string
  NewIssue:
    title: string
`;
  const res = await deploy({ nangoYamlBody: yaml, flowConfigs: [bundle('action', 'label-issues'), bundle('action', 'find-issue')] });
  expect(res.status).toBe(200);
  const labels = await server.store.scripts.find(server.env.dev, 'github', 'action', 'label-issues');
  expect(labels!.config).toMatchObject({ input: 'Anonymous_github_action_labelissues_input', output: ['Anonymous_github_action_labelissues_output'] });
  expect(labels!.models.map((m) => m.name)).toEqual(['Anonymous_github_action_labelissues_output', 'Anonymous_github_action_labelissues_input', 'NewIssue']);

  // The stored models check the action's input and output as the action run does.
  const models = new Map(labels!.models.map((m) => [m.name, m]));
  const check = (name: string, value: unknown) => modelChecker(models.get(name)!, models)(value);
  expect(check('Anonymous_github_action_labelissues_input', [{ title: 'a' }])).toEqual([]);
  expect(check('Anonymous_github_action_labelissues_input', { title: 'a' })).toEqual(['value: expected an array, got object']);
  expect(check('Anonymous_github_action_labelissues_output', true)).toEqual([]);
  expect(check('Anonymous_github_action_labelissues_output', 'yes')).toEqual(['value: expected boolean, got "yes"']);

  const config = await fetch(`${server.url}/scripts/config`, { headers: { authorization: `Bearer ${server.keys.dev}` } });
  const [github] = (await config.json()) as any[];
  const find = github.actions.find((a: any) => a.name === 'find-issue');
  expect(find.output).toEqual(['Anonymous_github_action_findissue_output']);
  expect(find.json_schema.definitions).toEqual({
    Anonymous_github_action_findissue_output: { anyOf: [{ $ref: '#/definitions/Issue' }, { type: 'null' }] },
    Issue: {
      type: 'object',
      properties: {
        id: { type: 'string' },
        labels: { type: 'array', items: { type: 'object', properties: { name: { type: 'string' } }, required: ['name'], additionalProperties: false } },
      },
      required: ['id', 'labels'],
      additionalProperties: false,
    },
  });
});

// Nango's payload without nango.yaml, as `nango deploy` sends it (flows with their zod models as JSON Schema).
describe("Nango's per-flow payload", () => {
  const issueSchema = {
    type: 'object',
    properties: { id: { type: 'string' }, title: { type: 'string' }, closed_at: { anyOf: [{ type: 'string', format: 'date-time' }, { type: 'null' }] } },
    required: ['id', 'title'],
    additionalProperties: false,
  };
  const syncFlow = (name: string, models: Record<string, unknown> = { Issue: issueSchema }, extra: Record<string, unknown> = {}) => ({
    type: 'sync',
    syncName: name,
    providerConfigKey: 'gitlab',
    models: Object.keys(models),
    runs: 'every 2h',
    auto_start: true,
    track_deletes: false,
    sync_type: 'full',
    attributes: {},
    metadata: { description: `the ${name} sync`, scopes: ['read'] },
    input: 'SyncMetadata_gitlab_' + name,
    endpoints: [{ method: 'GET', path: `/${name}`, group: 'Issues' }],
    webhookSubscriptions: [],
    version: '1.0.0',
    fileBody: { js: `module.exports = '${name}';`, ts: '// ts' },
    models_json_schema: { definitions: { ...models, ['SyncMetadata_gitlab_' + name]: { type: 'null' } } },
    features: [],
    ...extra,
  });
  const actionFlow = (name: string) => ({
    type: 'action',
    syncName: name,
    providerConfigKey: 'gitlab',
    models: [`ActionOutput_gitlab_${name}`],
    runs: null,
    input: `ActionInput_gitlab_${name}`,
    endpoints: [{ method: 'POST', path: `/${name}` }],
    track_deletes: false,
    version: '1.0.0',
    fileBody: { js: `module.exports = '${name}';`, ts: '// ts' },
    models_json_schema: { definitions: { [`ActionInput_gitlab_${name}`]: { type: 'string' }, [`ActionOutput_gitlab_${name}`]: { type: 'array', items: issueSchema } } },
  });
  const payload = (flowConfigs: unknown[], extra: Record<string, unknown> = {}) => ({
    flowConfigs,
    onEventScriptsByProvider: [],
    nangoYamlBody: '',
    reconcile: true,
    debug: false,
    sdkVersion: '0.71.10-zero',
    source: 'repo',
    ...extra,
  });
  const post = async (path: string, body: unknown) => {
    const res = await fetch(`${server.url}${path}`, {
      method: 'POST',
      headers: { authorization: `Bearer ${server.keys.dev}`, 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
    return { status: res.status, body: (await res.json()) as any };
  };
  const gitlab = async () => (await active()).filter((s) => s.integration === 'gitlab').map((s) => `${s.type}/${s.name}`);

  beforeAll(async () => {
    await server.store.integrations.create(server.env.dev, { uniqueKey: 'gitlab', provider: 'gitlab' });
  });

  test('deploys into the same config as nango.yaml and answers what Nango answers', async () => {
    const res = await post('/sync/deploy', payload([syncFlow('issues'), actionFlow('close')], { deployMode: 'integration' }));
    expect(res.status).toBe(200);
    expect(res.body).toEqual([
      expect.objectContaining({ name: 'issues', providerConfigKey: 'gitlab', type: 'sync', version: '1.0.0', models: ['Issue'], runs: 'every 2h' }),
      expect.objectContaining({ name: 'close', providerConfigKey: 'gitlab', type: 'action', version: '1.0.0', models: ['ActionOutput_gitlab_close'], input: 'ActionInput_gitlab_close' }),
    ]);
    const sync = await server.store.scripts.find(server.env.dev, 'gitlab', 'sync', 'issues');
    expect(sync!.config).toMatchObject({ intervalMs: 7_200_000, output: ['Issue'], description: 'the issues sync', scopes: ['read'], endpoints: [{ method: 'GET', path: '/issues', group: 'Issues' }] });
    const models = new Map(sync!.models.map((m) => [m.name, m]));
    expect([...models.keys()]).toEqual(['Issue', 'SyncMetadata_gitlab_issues']);
    const check = modelChecker(models.get('Issue')!, models);
    expect(check({ id: '1', title: 't', closed_at: null })).toEqual([]);
    expect(check({ id: 1, title: 't' })).toEqual(['id: expected string, got number']);
    const action = await server.store.scripts.find(server.env.dev, 'gitlab', 'action', 'close');
    expect(action!.config).toMatchObject({ endpoint: { method: 'POST', path: '/close' }, input: 'ActionInput_gitlab_close', output: ['ActionOutput_gitlab_close'] });
    // The github scripts deployed above are another integration's: deployMode integration leaves them.
    expect((await active()).some((s) => s.integration === 'github')).toBe(true);
  });

  test('/sync/deploy/confirmation gives the diff against what is deployed and changes nothing', async () => {
    await server.store.connections.upsert(server.env.dev, 'gitlab', { connectionId: 'c1', credentials: { type: 'OAUTH2', access_token: 't' } });
    const before = await active();
    const otherModel = { Ticket: { type: 'object', properties: { id: { type: 'string' } }, required: ['id'] } };
    const res = await post('/sync/deploy/confirmation', payload([syncFlow('issues', otherModel), syncFlow('merge-requests')], { reconcile: false, deployMode: 'integration' }));
    expect(res.status).toBe(200);
    expect(res.body).toEqual({
      newSyncs: [{ name: 'merge-requests', providerConfigKey: 'gitlab', connections: 1, auto_start: true }],
      updatedSyncs: [{ name: 'issues', providerConfigKey: 'gitlab', connections: 1, auto_start: true }],
      deletedSyncs: [],
      newActions: [],
      updatedActions: [],
      deletedActions: [{ name: 'close', providerConfigKey: 'gitlab' }],
      deletedModels: ['Issue'],
      newOnEventScripts: [],
      updatedOnEventScripts: [],
      deletedOnEventScripts: [],
    });
    expect(await active()).toEqual(before);

    // A single-script deploy (`nango deploy --sync`) removes nothing; deployMode all counts every integration.
    const single = await post('/sync/deploy/confirmation', payload([syncFlow('issues')], { deployMode: 'single' }));
    expect(single.body).toMatchObject({ updatedSyncs: [{ name: 'issues' }], deletedSyncs: [], deletedActions: [], deletedModels: [] });
    const all = await post('/sync/deploy/confirmation', payload([syncFlow('issues')]));
    expect(all.body.deletedActions).toEqual([
      { name: 'find-issue', providerConfigKey: 'github' },
      { name: 'label-issues', providerConfigKey: 'github' },
      { name: 'close', providerConfigKey: 'gitlab' },
    ]);
    expect(all.body.deletedSyncs).toEqual([]);
  });

  test('a single-script deploy replaces that script and keeps the others', async () => {
    const res = await post('/sync/deploy', payload([syncFlow('issues', { Issue: issueSchema }, { version: '1.0.1' })], { deployMode: 'single' }));
    expect(res.status).toBe(200);
    expect(await gitlab()).toEqual(['action/close', 'sync/issues']);
    expect((await server.store.scripts.find(server.env.dev, 'gitlab', 'sync', 'issues'))!.version).toBe('1.0.1');
  });

  test.each([
    ['a flow whose models have no schema', payload([syncFlow('issues', { Issue: issueSchema }, { models: ['Issue', 'Missing'] })]), 'flowConfigs.0.models_json_schema', 'no JSON Schema definition for "Missing"'],
    ['a schedule that is not one', payload([syncFlow('issues', { Issue: issueSchema }, { runs: 'sometimes' })]), 'flowConfigs.0.runs', '"sometimes" is not a schedule'],
    ['a schedule under 30 seconds', payload([syncFlow('issues', { Issue: issueSchema }, { runs: 'every 5s' })]), 'flowConfigs.0.runs', 'too frequent'],
    ['the same script twice', payload([syncFlow('issues'), syncFlow('issues')]), 'flowConfigs.1.syncName', 'in the payload twice'],
    ['a flow without code', payload([syncFlow('issues', { Issue: issueSchema }, { fileBody: { js: '' } })]), 'flowConfigs.0.fileBody.js', 'compiled code is empty'],
    ['a bad script name', payload([syncFlow('is sues')]), 'flowConfigs.0.syncName', 'letters, digits'],
    ['an unknown script type', payload([syncFlow('issues', { Issue: issueSchema }, { type: 'webhook' })]), 'flowConfigs.0.type', ''],
  ])('%s is a 400 naming the field, on deploy and confirmation, and changes nothing', async (_what, body, path, message) => {
    const before = await active();
    for (const route of ['/sync/deploy', '/sync/deploy/confirmation']) {
      const res = await post(route, body);
      expect(res.status).toBe(400);
      expect(res.body.error.code).toBe('invalid_body');
      expect(res.body.error.errors).toEqual(expect.arrayContaining([expect.objectContaining({ path, message: expect.stringContaining(message) })]));
    }
    expect(await active()).toEqual(before);
  });

  test('an integration the environment lacks is refused before anything changes', async () => {
    const before = await active();
    const res = await post('/sync/deploy', payload([{ ...syncFlow('issues'), providerConfigKey: 'bitbucket' }]));
    expect(res.status).toBe(400);
    expect(res.body.error.code).toBe('unknown_provider_config');
    expect(await active()).toEqual(before);
  });
});
