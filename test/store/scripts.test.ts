import { parseNangoYaml } from '../../src/config/nango-yaml';
import type { Store } from '../../src/store';
import { statementsSent } from '../../src/store/db';
import { testStore } from '../helpers/db';

let store: Store & { drop(): Promise<void> };
let environmentId: number;

const YAML = `integrations:
  github:
    syncs:
      pulls:
        runs: every 30min
        output: PullRequest
        endpoint: GET /pulls
models:
  PullRequest:
    id: string
`;

beforeAll(async () => {
  store = await testStore();
  await store.environments.ensureDefaults();
  environmentId = (await store.environments.byName('dev'))!.id;
});

afterAll(() => store.drop());

async function deploy(js: string, map: string): Promise<void> {
  await store.scripts.deploy(environmentId, YAML, parseNangoYaml(YAML, 'nango.yaml'), [{ integration: 'github', type: 'sync', name: 'pulls', js, map }]);
}

/** `find` of the deployed sync, and the statements it sent. */
async function find() {
  const before = statementsSent();
  const script = await store.scripts.find(environmentId, 'github', 'sync', 'pulls');
  return { script, statements: statementsSent() - before };
}

test("a run's script: its body is read once, then only which row is active; a new deploy's body is read afresh", async () => {
  await deploy('module.exports = async () => 1;', '{"version":3,"mappings":"A"}');
  const first = await find();
  expect(first.script).toMatchObject({ code: 'module.exports = async () => 1;', sourceMap: '{"version":3,"mappings":"A"}', config: { name: 'pulls' }, models: [{ name: 'PullRequest' }] });
  expect(first.statements).toBe(2);

  const again = await find();
  expect(again.statements).toBe(1);
  expect(again.script).toEqual(first.script);

  await deploy('module.exports = async () => 2;', '{"version":3,"mappings":"B"}');
  const redeployed = await find();
  expect(redeployed.script).toMatchObject({ code: 'module.exports = async () => 2;', sourceMap: '{"version":3,"mappings":"B"}' });
  expect(redeployed.script!.id).not.toBe(first.script!.id);
  expect(redeployed.statements).toBe(2);
  expect((await find()).statements).toBe(1);
});

test('a script no longer deployed is not found, whatever is in memory', async () => {
  expect((await find()).script).not.toBeNull();
  await store.scripts.deploy(environmentId, 'integrations: {}\n', parseNangoYaml('integrations: {}\n', 'nango.yaml'), [], true);
  expect((await find()).script).toBeNull();
});
