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
