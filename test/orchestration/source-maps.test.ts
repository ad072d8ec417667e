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

let t: OrchestrationTest;
let root: string;

beforeAll(async () => {
  t = await startOrchestrationTest();
  root = fs.mkdtempSync(path.join(os.tmpdir(), 'syncline-maps-'));
  fs.writeFileSync(path.join(root, 'models.ts'), generateModelsTs(parseNangoYaml(YAML), HELPER_DECLARATIONS));
  fs.mkdirSync(path.join(root, 'fake/syncs'), { recursive: true });
  for (const name of ['mapped', 'unmapped']) fs.writeFileSync(path.join(root, `fake/syncs/${name}.ts`), SCRIPT);
  const [mapped, unmapped] = await Promise.all(['mapped', 'unmapped'].map((name) => compileScript({ root }, `fake/syncs/${name}.ts`)));
  const res = await t.request('POST', '/sync/deploy', {
    json: {
      nangoYamlBody: YAML,
      flowConfigs: [
        { type: 'sync', providerConfigKey: 'fake', name: 'mapped', fileBody: { js: mapped!.code, ts: SCRIPT, map: mapped!.sourceMap } },
        { type: 'sync', providerConfigKey: 'fake', name: 'unmapped', fileBody: { js: unmapped!.code, ts: SCRIPT } },
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

const stackOf = async (sync: string) => {
  const sdk = new Syncline({ secretKey: t.keys.dev, host: t.url });
  const line = await waitFor(`the ${sync} run's stack`, async () => (await sdk.listLogs({ connectionId: 'c1', sync, level: 'error' })).logs.find((l) => l.message.startsWith('Error: no items today')));
  return line.message.split('\n');
};

test("a failed run's logs end with its stack at the script's TypeScript lines when the deploy sent the source map", async () => {
  const frames = await stackOf('mapped');
  expect(frames[1]).toMatch(/^ {4}at fetchData \(fake\/syncs\/mapped\.ts:5:9\)$/);
});

test('without a source map the stack names the bundle', async () => {
  const frames = await stackOf('unmapped');
  expect(frames[1]).toMatch(/fake\/syncs\/unmapped\.ts:\d+:\d+/);
  expect(frames[1]).not.toMatch(/unmapped\.ts:5:9\)$/);
});
