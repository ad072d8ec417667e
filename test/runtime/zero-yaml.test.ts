import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { compileScripts, describeScripts, ScriptCompileError, type CompiledScript } from '../../src/runtime';
import { harness, outputOf, type Harness } from './harness';

// Scripts that declare themselves with createSync / createAction from 'nango', zod 4 models.
const SYNC = `import { createSync } from 'nango';
import { z } from 'zod';

const Issue = z.object({ id: z.string(), title: z.string(), closed_at: z.string().nullable().optional() });
const Checkpoint = z.object({ since: z.string() });

export default createSync({
  description: 'Issues',
  frequency: 'every hour',
  models: { Issue },
  metadata: z.object({ repo: z.string() }),
  checkpoint: Checkpoint,
  webhookSubscriptions: ['issues'],
  exec: async (nango) => {
    const { repo } = await nango.getMetadata();
    const since = (await nango.getCheckpoint())?.since ?? '';
    await nango.batchSave([{ id: repo + since, title: 't' }], 'Issue');
    await nango.saveCheckpoint({ since: 'now' });
  },
  onWebhook: async (nango, payload: { id: string }) => {
    await nango.batchDelete([{ id: payload.id }], 'Issue');
  },
});
`;

const ACTION = `import { createAction, ActionError } from 'nango';
import { z } from 'zod';

export default createAction({
  description: 'Doubles',
  input: z.object({ n: z.number() }),
  output: z.object({ doubled: z.number() }),
  exec: async (_nango, input) => {
    if (input.n < 0) throw new ActionError({ message: 'negative', n: input.n });
    return { doubled: input.n * 2 };
  },
});
`;

const dirs: string[] = [];
let h: Harness;
beforeAll(async () => {
  h = await harness();
});
afterAll(async () => {
  await h.close();
  dirs.forEach((d) => fs.rmSync(d, { recursive: true, force: true }));
});

function project(files: Record<string, string>): string {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'syncline-zero-yaml-'));
  dirs.push(root);
  for (const [name, text] of Object.entries(files)) {
    fs.mkdirSync(path.dirname(path.join(root, name)), { recursive: true });
    fs.writeFileSync(path.join(root, name), text);
  }
  return root;
}

async function compile(files: Record<string, string>): Promise<{ scripts: CompiledScript[]; errors: ScriptCompileError[] }> {
  return compileScripts({ root: project(files), zod: 4 }, Object.keys(files));
}

test('scripts importing createSync and createAction from nango type-check, typed from their zod schemas', async () => {
  const { scripts, errors } = await compile({ 'demo/syncs/issues.ts': SYNC, 'demo/actions/double.ts': ACTION });
  expect(errors).toEqual([]);
  expect(scripts.map((s) => s.entry)).toEqual(['demo/syncs/issues.ts', 'demo/actions/double.ts']);
  expect(scripts[0]!.code).toContain('require("nango")');
});

test("params follow Nango's current typing: a list is a repeated key", async () => {
  const { errors } = await compile({ 'demo/syncs/issues.ts': SYNC.replace("const { repo } = await nango.getMetadata();", "const { repo } = await nango.getMetadata();\n    await nango.get({ endpoint: '/x', params: { ids: [1, 2], q: 'a' } });") });
  expect(errors).toEqual([]);
});

test.each([
  ['a model the sync does not declare', SYNC.replace("'Issue');", "'Issues');"), /"Issues"' is not assignable to parameter of type '"Issue"'/],
  ['a checkpoint off its schema', SYNC.replace("{ since: 'now' }", '{ since: 1 }'), /number' is not assignable to type 'string'/],
  ['metadata read as another shape', SYNC.replace('const { repo }', 'const { owner }'), /Property 'owner' does not exist/],
])('the type-check refuses %s', async (_name, source, message) => {
  const { errors } = await compile({ 'demo/syncs/issues.ts': source });
  expect(errors[0]!.message).toMatch(message);
});

test('describeScripts reads each definition in the sandbox: options, zod schemas as JSON Schema, functions; a failing module fails alone', async () => {
  const { scripts } = await compile({
    'demo/syncs/issues.ts': SYNC,
    'demo/actions/double.ts': ACTION,
    'demo/actions/broken.ts': `import { createAction } from 'nango';\nthrow new Error('top-level failure');\nexport default createAction({} as never);\n`,
    'demo/actions/legacy.ts': `export default async function runAction() { return 1; }\n`,
  });
  const outcomes = await describeScripts(scripts);
  const [sync, action, broken, legacy] = outcomes as any[];
  expect(sync.description).toMatchObject({
    type: 'sync',
    options: { description: 'Issues', frequency: 'every hour', webhookSubscriptions: ['issues'] },
    functions: ['exec', 'onWebhook'],
    schemas: { checkpoint: { type: 'object', properties: { since: { type: 'string' } } }, metadata: { type: 'object', required: ['repo'] } },
  });
  expect(sync.description.models.Issue).toMatchObject({ type: 'object', required: ['id', 'title'], properties: { closed_at: { type: ['string', 'null'] } } });
  expect(action.description).toMatchObject({ type: 'action', schemas: { input: { properties: { n: { type: 'number' } } }, output: { required: ['doubled'] } }, functions: ['exec'] });
  expect(broken.error).toBe('top-level failure');
  expect(legacy.error).toMatch(/export default createSync\(\{\.\.\.\}\), createAction\(\{\.\.\.\}\) or createOnEvent/);
});

test('a module that never finishes loading fails its own description, not the others', async () => {
  const { scripts } = await compile({ 'demo/actions/double.ts': ACTION, 'demo/actions/spin.ts': `import { createAction } from 'nango';\nwhile (Date.now() > 0) {}\nexport default createAction({} as never);\n` });
  const outcomes = await describeScripts(scripts);
  expect('description' in outcomes[0]!).toBe(true);
  expect(outcomes[1]).toMatchObject({ entry: 'demo/actions/spin.ts', error: expect.stringMatching(/ran longer than 10000 ms/) });
}, 60_000);

test("a deployed createAction runs its exec with the input; an ActionError imported from 'nango' reaches the caller with its payload", async () => {
  const { scripts } = await compile({ 'demo/actions/double.ts': ACTION });
  expect(outputOf(await h.run(scripts[0]!.code, { input: { n: 21 } }))).toEqual({ doubled: 42 });
  const failed = await h.run(scripts[0]!.code, { input: { n: -1 } });
  expect(failed.success).toBe(false);
  if (!failed.success) expect({ type: failed.error.type, payload: failed.error.details.payload }).toEqual({ type: 'action_script_runtime_error', payload: { message: 'negative', n: -1 } });
});
