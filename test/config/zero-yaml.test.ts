import { indexEntries, ScriptDefinitionError, zeroYamlConfig, type DeclaredScript } from '../../src/config/zero-yaml';

const issue = { type: 'object', properties: { id: { type: 'string' }, title: { type: 'string' } }, required: ['id', 'title'], additionalProperties: false };

const sync = (over: Partial<DeclaredScript> = {}, options: Record<string, unknown> = {}): DeclaredScript => ({
  file: 'github-app/syncs/issues-v2.ts',
  type: 'sync',
  options: { description: 'Issues', frequency: 'every 5 minutes', ...options },
  models: { Issue: issue },
  schemas: {},
  functions: ['exec'],
  ...over,
});

const refusal = (scripts: DeclaredScript[]): string => {
  try {
    zeroYamlConfig(scripts);
  } catch (err) {
    expect(err).toBeInstanceOf(ScriptDefinitionError);
    return (err as Error).message;
  }
  throw new Error('accepted');
};

test('a createSync gives the sync a nango.yaml would, named after its file and folder, its metadata a model named as Nango names it', () => {
  const config = zeroYamlConfig([
    sync(
      { schemas: { metadata: { type: 'object', properties: { repo: { type: 'string' } }, required: ['repo'] } }, functions: ['exec', 'onWebhook'] },
      { autoStart: true, syncType: 'incremental', scopes: ['repo'], webhookSubscriptions: ['issues'], endpoints: [{ method: 'GET', path: '/issues' }], version: '1.2.0' },
    ),
  ]);
  expect(config.integrations).toEqual([
    {
      key: 'github-app',
      actions: [],
      onEvents: {},
      syncs: [
        {
          type: 'sync',
          integration: 'github-app',
          name: 'issues-v2',
          description: 'Issues',
          runs: 'every 5 minutes',
          intervalMs: 300_000,
          output: ['Issue'],
          endpoints: [{ method: 'GET', path: '/issues' }],
          syncType: 'incremental',
          trackDeletes: false,
          autoStart: true,
          scopes: ['repo'],
          input: 'SyncMetadata_github_app_issuesv2',
          version: '1.2.0',
          webhookSubscriptions: ['issues'],
        },
      ],
    },
  ]);
  expect([...config.models.keys()]).toEqual(['Issue', 'SyncMetadata_github_app_issuesv2']);
  expect(config.models.get('Issue')!.fields.map((f) => [f.name, f.optional])).toEqual([
    ['id', false],
    ['title', false],
  ]);
});

test('actions get ActionInput_/ActionOutput_ models, on-event scripts their event; autoStart is off unless set, as Nango reads it', () => {
  const config = zeroYamlConfig([
    { file: 'hub/actions/create-contact.ts', type: 'action', options: { description: 'Create', endpoint: { method: 'POST', path: '/contacts' } }, schemas: { input: issue, output: { type: 'string' } }, functions: ['exec'] },
    { file: 'hub/on-events/setup.ts', type: 'onEvent', options: { description: 'Setup', event: 'post-connection-creation' }, schemas: {}, functions: ['exec'] },
    sync({ file: 'hub/syncs/contacts.ts' }),
  ]);
  const hub = config.integrations[0]!;
  expect(hub.actions[0]).toMatchObject({ name: 'create-contact', input: 'ActionInput_hub_createcontact', output: ['ActionOutput_hub_createcontact'], endpoint: { method: 'POST', path: '/contacts' } });
  expect(config.models.get('ActionOutput_hub_createcontact')).toEqual({ name: 'ActionOutput_hub_createcontact', fields: [], type: { kind: 'primitive', name: 'string' } });
  expect(hub.onEvents).toEqual({ 'post-connection-creation': ['setup'] });
  expect(hub.syncs[0]!.autoStart).toBe(false);
});

test.each([
  ['a frequency out of range', sync({}, { frequency: 'every 10 seconds' }), 'createSync.frequency: "every 10 seconds" is not a frequency'],
  ['endpoints not one per model', sync({}, { endpoints: [] }), 'createSync.endpoints: one endpoint per model: 0 for 1 models'],
  ['track deletes on an incremental sync', sync({}, { syncType: 'incremental', trackDeletes: true }), 'createSync.trackDeletes: an incremental sync cannot track deletes'],
  ['a model name Nango refuses', sync({ models: { issue } }), 'createSync.models.issue: a model name starts with a capital letter'],
  ['a nested checkpoint', sync({ schemas: { checkpoint: { type: 'object', properties: { page: { type: 'object' } } } } }), 'createSync.checkpoint: should be z.object({...}) of strings, numbers and booleans'],
  ['a missing exec', sync({ functions: [] }), 'createSync.exec: is required'],
  ['a script outside an integration folder', sync({ file: 'issues.ts' }), 'issues.ts createSync: a script must be inside an integration folder'],
  ['an unknown on-event', { file: 'a/on-events/x.ts', type: 'onEvent', options: { description: 'x', event: 'post-sync' }, schemas: {}, functions: ['exec'] } as DeclaredScript, 'createOnEvent.event: should be one of post-connection-creation'],
])('refuses %s, naming the file and the field', (_name, script, message) => {
  expect(refusal([script])).toContain(message);
});

test('one model name declared by two scripts with different schemas is refused; with the same schema it is shared', () => {
  const other = sync({ file: 'github-app/syncs/other.ts', models: { Issue: { ...issue, required: ['id'] } } });
  expect(refusal([sync(), other])).toContain('github-app/syncs/other.ts createSync.models.Issue: model "Issue" is declared elsewhere with another schema');
  expect(zeroYamlConfig([sync(), sync({ file: 'github-app/syncs/other.ts' })]).integrations[0]!.syncs.map((s) => s.name)).toEqual(['issues-v2', 'other']);
});

test('indexEntries lists the scripts index.ts imports, as .ts paths', () => {
  expect(indexEntries("// -- Integration: github\nimport './github/syncs/issues.js';\nimport \"./github/actions/create-issue\";\nimport type { X } from './x.js';\n")).toEqual([
    'github/syncs/issues.ts',
    'github/actions/create-issue.ts',
  ]);
});

test('a checkpoint of strings, numbers (integers too) and booleans is accepted', () => {
  const checkpoint = { type: 'object', properties: { since: { type: 'string' }, id: { type: 'integer' }, done: { type: 'boolean' } }, required: ['since'] };
  expect(zeroYamlConfig([sync({ schemas: { checkpoint } })]).integrations[0]!.syncs).toHaveLength(1);
});

test('a field Nango does not read is ignored with a warning naming it, as Nango ignores it', () => {
  const config = zeroYamlConfig([sync({}, { endpoint: { method: 'GET', path: '/issues' } })]);
  expect(config.integrations[0]!.syncs[0]!.endpoints).toEqual([]);
  expect(config.warnings).toEqual([{ file: 'github-app/syncs/issues-v2.ts', path: 'createSync.endpoint', line: 1, message: expect.stringMatching(/^unknown field, ignored; createSync reads version, description, endpoints/) }]);
});

test('a sync and an action may share a name, as in Nango; two syncs of one integration may not', () => {
  const action: DeclaredScript = { file: 'github-app/actions/issues-v2.ts', type: 'action', options: { description: 'x' }, schemas: { input: issue, output: issue }, functions: ['exec'] };
  const config = zeroYamlConfig([sync(), action]);
  expect([config.integrations[0]!.syncs[0]!.name, config.integrations[0]!.actions[0]!.name]).toEqual(['issues-v2', 'issues-v2']);
  expect(refusal([sync(), sync({ file: 'github-app/other/issues-v2.ts' })])).toContain('github-app/other/issues-v2.ts createSync: another sync of github-app is also named "issues-v2"');
});
