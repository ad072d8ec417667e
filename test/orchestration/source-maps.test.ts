import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { generateModelsTs } from '../../src/config/generate-models';
import { parseNangoYaml } from '../../src/config/nango-yaml';
import { compileScript, HELPER_DECLARATIONS } from '../../src/runtime';
import { Syncline } from '../../src/sdk';
import { startOrchestrationTest, waitFor, type OrchestrationTest } from './helpers';

jest.setTimeout(90_000);

// A deployed script that throws: its run's logs end with the stack, at the TypeScript lines when the
// deploy sent the bundle's source map (as `syncline deploy` does), at the bundle's without one.
const YAML = `integrations:
  fake:
    syncs:
      mapped:
        runs: every day
        output: Item
        endpoint: GET /mapped
      unmapped:
        runs: every day
        output: Item
        endpoint: GET /unmapped
    actions:
      explode:
        output: Item
        endpoint: POST /explode
models:
  Item:
    id: string
`;
const SCRIPT = `import type { NangoSync } from '../../models';

export default async function fetchData(nango: NangoSync) {
  await nango.log('about to fail');
  throw new Error('no items today');
}
`;

const ACTION = `import type { NangoAction } from '../../models';

export default async function runAction(nango: NangoAction) {
  await nango.log('about to fail');
  throw new Error('no action today');
}
`;

let t: OrchestrationTest;
let root: string;

beforeAll(async () => {
  t = await startOrchestrationTest();
  root = fs.mkdtempSync(path.join(os.tmpdir(), 'syncline-maps-'));
  fs.writeFileSync(path.join(root, 'models.ts'), generateModelsTs(parseNangoYaml(YAML), HELPER_DECLARATIONS));
  fs.mkdirSync(path.join(root, 'fake/syncs'), { recursive: true });
  for (const name of ['mapped', 'unmapped']) fs.writeFileSync(path.join(root, `fake/syncs/${name}.ts`), SCRIPT);
  fs.mkdirSync(path.join(root, 'fake/actions'), { recursive: true });
  fs.writeFileSync(path.join(root, 'fake/actions/explode.ts'), ACTION);
  const [mapped, unmapped, explode] = await Promise.all(['syncs/mapped', 'syncs/unmapped', 'actions/explode'].map((name) => compileScript({ root }, `fake/${name}.ts`)));
  const res = await t.request('POST', '/sync/deploy', {
    json: {
      nangoYamlBody: YAML,
      flowConfigs: [
        { type: 'sync', providerConfigKey: 'fake', name: 'mapped', fileBody: { js: mapped!.code, ts: SCRIPT, map: mapped!.sourceMap } },
        { type: 'sync', providerConfigKey: 'fake', name: 'unmapped', fileBody: { js: unmapped!.code, ts: SCRIPT } },
        { type: 'action', providerConfigKey: 'fake', name: 'explode', fileBody: { js: explode!.code, ts: ACTION, map: explode!.sourceMap } },
      ],
    },
  });
  expect(res.status).toBe(200);
  await t.connect('c1');
});
afterAll(async () => {
  await t?.close();
  if (root) fs.rmSync(root, { recursive: true, force: true });
});

const stackOf = async (script: { sync: string } | { action: string }, error = 'Error: no items today') => {
  const sdk = new Syncline({ secretKey: t.keys.dev, host: t.url });
  const line = await waitFor(`the ${Object.values(script)[0]} run's stack`, async () => (await sdk.listLogs({ connectionId: 'c1', ...script, level: 'error' })).logs.find((l) => l.message.startsWith(error)));
  return line.message.split('\n');
};

test("a failed run's logs end with its stack at the script's TypeScript lines when the deploy sent the source map", async () => {
  const frames = await stackOf({ sync: 'mapped' });
  expect(frames[1]).toMatch(/^ {4}at fetchData \(fake\/syncs\/mapped\.ts:5:9\)$/);
});

test('without a source map the stack names the bundle', async () => {
  const frames = await stackOf({ sync: 'unmapped' });
  expect(frames[1]).toMatch(/fake\/syncs\/unmapped\.ts:\d+:\d+/);
  expect(frames[1]).not.toMatch(/unmapped\.ts:5:9\)$/);
});

test("a failed action's logs end with its stack at the script's TypeScript lines too", async () => {
  const res = await t.request('POST', '/action/trigger', { json: { action_name: 'explode', input: {} }, headers: { 'Connection-Id': 'c1', 'Provider-Config-Key': 'fake' } });
  // The caller gets Nango's fixed answer to a script that threw; the stack is for the logs.
  expect(res).toMatchObject({ status: 500, body: { error: { message: 'An internal error occurred during the script execution' } } });
  const frames = await stackOf({ action: 'explode' }, 'Error: no action today');
  expect(frames[1]).toMatch(/^ {4}at runAction \(fake\/actions\/explode\.ts:5:9\)$/);
});
