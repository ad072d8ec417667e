import { FlowConfigError, flowConfigsToNangoConfig, nangoFlowConfig, type NangoFlowConfig } from '../../src/config/flow-configs';

const flow = (extra: Record<string, unknown>): NangoFlowConfig =>
  nangoFlowConfig.parse({
    type: 'sync',
    syncName: 'issues',
    providerConfigKey: 'github',
    models: ['Issue'],
    runs: 'every hour',
    fileBody: { js: 'module.exports = 1;', ts: '// ts' },
    models_json_schema: { definitions: { Issue: { type: 'object', properties: { id: { type: 'string' } }, required: ['id'], additionalProperties: false } } },
    ...extra,
  });

test('syncs and actions of several integrations become one NangoConfig, each bundle with its own models', () => {
  const { config, bundles } = flowConfigsToNangoConfig([
    flow({}),
    flow({ providerConfigKey: 'gitlab', syncName: undefined, name: 'mrs', runs: 'every half hour', auto_start: false, track_deletes: true }),
    flow({ type: 'action', syncName: 'close', runs: null, models: [], input: 'Id', endpoints: [{ POST: '/close' }], models_json_schema: { definitions: { Id: { type: 'string' } } } }),
  ]);
  expect(config.integrations.map((i) => [i.key, i.syncs.map((s) => s.name), i.actions.map((a) => a.name)])).toEqual([
    ['github', ['issues'], ['close']],
    ['gitlab', ['mrs'], []],
  ]);
  expect(config.integrations[1]!.syncs[0]).toMatchObject({ intervalMs: 1_800_000, autoStart: false, trackDeletes: true, syncType: 'full', output: ['Issue'] });
  // The older `{POST: path}` endpoint form; an action without output has none.
  expect(config.integrations[0]!.actions[0]).toEqual({ type: 'action', integration: 'github', name: 'close', endpoint: { method: 'POST', path: '/close' }, input: 'Id', scopes: [] });
  expect([...config.models.keys()]).toEqual(['Issue', 'Id']);
  expect(bundles.map((b) => [b.name, b.models.map((m) => m.name)])).toEqual([
    ['issues', ['Issue']],
    ['mrs', ['Issue']],
    ['close', ['Id']],
  ]);
  expect(config.models.get('Issue')).toEqual({ name: 'Issue', fields: [{ name: 'id', type: { kind: 'primitive', name: 'string' }, optional: false }] });
});

test("older clients' payload-wide jsonSchema stands in for a flow's models_json_schema", () => {
  const { config } = flowConfigsToNangoConfig([flow({ models_json_schema: undefined })], { definitions: { Issue: { type: 'object', properties: { n: { type: 'integer' } } } } });
  expect(config.models.get('Issue')!.fields).toEqual([{ name: 'n', type: { kind: 'primitive', name: 'number' }, optional: true }]);
});

test('every problem is reported at once, with its path into the payload', () => {
  let error: unknown;
  try {
    flowConfigsToNangoConfig([flow({ runs: 'often' }), flow({ syncName: 'other', models: ['Nope'] }), flow({}), flow({ syncName: 'inc', sync_type: 'incremental', track_deletes: true })]);
  } catch (err) {
    error = err;
  }
  expect(error).toBeInstanceOf(FlowConfigError);
  expect((error as FlowConfigError).issues).toEqual([
    { path: 'flowConfigs.0.runs', message: expect.stringContaining('"often" is not a schedule') },
    { path: 'flowConfigs.1.models_json_schema', message: 'no JSON Schema definition for "Nope"' },
    { path: 'flowConfigs.2.syncName', message: 'sync "issues" of "github" is in the payload twice' },
    { path: 'flowConfigs.3.track_deletes', message: 'track_deletes is not supported for incremental syncs' },
  ]);
});
