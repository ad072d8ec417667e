import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { generateModelsTs } from '../../src/config/generate-models';
import { loadNangoYaml } from '../../src/config/nango-yaml';
import { compileScript, compileScripts, HELPER_DECLARATIONS } from '../../src/runtime';
import { harness, outputOf, TOKEN, type Harness } from './harness';

// The seed documents' example sync and action, compiled from a nango-integrations/ folder and run
// against the fake GitHub, with records going to the real store.
const ROOT = path.join(__dirname, '../fixtures/nango-integrations');
const config = loadNangoYaml(path.join(ROOT, 'nango.yaml'));
const sync = (name: string) => config.integrations[0]!.syncs.find((s) => s.name === name)!;
const outputs = (name: string) => sync(name).output.map((m) => config.models.get(m)!);

let h: Harness;
beforeAll(async () => {
  h = await harness();
}, 60_000); // a loaded machine can take long to start the database and the fake API
afterAll(() => h.close());
beforeEach(() => {
  h.api.reset();
  h.api.tokens.add(TOKEN);
});

test('GithubIssueDemo: fetchData saves the demo issues', async () => {
  const { code } = await compileScript({ root: ROOT }, 'github/syncs/issues.ts');
  const result = await h.run(code, {
    kind: 'sync',
    scriptName: 'github/syncs/issues.ts',
    sync: { name: 'github-issue-example', models: outputs('github-issue-example'), allModels: config.models, validation: 'fail' },
  });
  expect(outputOf(result)).toBeNull();
  expect(result.counts).toEqual({ GithubIssueDemo: { added: 7, updated: 0, deleted: 0 } });
  expect(h.api.requests[0]).toMatchObject({ path: '/repos/NangoHQ/interactive-demo/issues', query: { labels: 'demo', sort: 'created', direction: 'asc' } });
  const { records } = await h.store.records.list(h.connectionPk, { model: 'GithubIssueDemo' });
  expect(records.map(({ _nango_metadata, ...r }) => r)[0]).toEqual({ id: 1001, title: 'Issue 1', url: 'https://github.example/issues/1' });

  const again = await h.run(code, { kind: 'sync', sync: { name: 'github-issue-example', models: outputs('github-issue-example') } });
  expect(again.counts).toEqual({ GithubIssueDemo: { added: 0, updated: 0, deleted: 0 } });
});

test('a sync importing a relative mapper pages through every issue', async () => {
  h.api.issues.push(...Array.from({ length: 150 }, (_, i) => ({ id: 5000 + i, number: 100 + i, title: `Bulk ${i}`, html_url: `https://github.example/issues/b${i}`, labels: ['demo'] })));
  const { code } = await compileScript({ root: ROOT }, 'github/syncs/issues-mapped.ts');
  const result = await h.run(code, { kind: 'sync', sync: { name: 'github-issues-mapped', models: outputs('github-issues-mapped'), validation: 'fail' } });
  expect(result.success).toBe(true);
  expect(h.api.requests.map((r) => r.query.page ?? '1')).toEqual(['1', '2']);
  expect((await h.store.records.countByModel(h.connectionPk)).GithubIssueDemo).toBe(157);
});

test('GithubCreateIssue: runAction creates the issue and returns its url and status', async () => {
  const { code } = await compileScript({ root: ROOT }, 'github/actions/create-issue.ts');
  const result = await h.run(code, { scriptName: 'github/actions/create-issue.ts', input: { title: 'Hello' } });
  expect(outputOf(result)).toEqual({ url: 'https://github.example/issues/8', status: 201 });
  expect(h.api.requests[0]).toMatchObject({ method: 'POST', body: { title: '[demo] Hello', body: 'The body of the issue.', labels: ['automatic'] } });
  expect(h.api.requests[0]!.headers.authorization).toBe(`Bearer ${TOKEN}`);
});

test('an ActionError imported from models.ts reaches the caller with its payload', async () => {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'syncline-seeds-'));
  try {
    fs.copyFileSync(path.join(ROOT, 'nango.yaml'), path.join(root, 'nango.yaml'));
    fs.writeFileSync(path.join(root, 'models.ts'), generateModelsTs(config, HELPER_DECLARATIONS));
    fs.mkdirSync(path.join(root, 'github/actions'), { recursive: true });
    fs.writeFileSync(
      path.join(root, 'github/actions/create-issue.ts'),
      `import { ActionError } from '../../models';
import type { NangoAction, GithubCreateIssueInput, GithubCreateIssueResult } from '../../models';

export default async function runAction(nango: NangoAction, input: GithubCreateIssueInput): Promise<GithubCreateIssueResult> {
    if (!input.title) {
        throw new ActionError({ message: 'title is required' });
    }
    const res = await nango.post({ endpoint: '/repos/NangoHQ/interactive-demo/issues', data: { title: input.title } });
    return { url: res.data.html_url, status: res.status };
}
`,
    );
    const { scripts, errors } = await compileScripts({ root }, ['github/actions/create-issue.ts']);
    expect(errors).toEqual([]);
    const result = await h.run(scripts[0]!.code, { input: { title: '' } });
    expect(!result.success && result.error.toResponse()).toEqual({ error: { type: 'action_script_runtime_error', payload: { message: 'title is required' } } });
    expect(h.api.requests).toHaveLength(0);
  } finally {
    fs.rmSync(root, { recursive: true, force: true });
  }
});

test("a failing script's stack points at its TypeScript lines, in imported files too", async () => {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'syncline-stack-'));
  try {
    fs.writeFileSync(path.join(root, 'models.ts'), generateModelsTs(config, HELPER_DECLARATIONS));
    fs.mkdirSync(path.join(root, 'github/syncs'), { recursive: true });
    fs.mkdirSync(path.join(root, 'github/helpers'), { recursive: true });
    fs.writeFileSync(
      path.join(root, 'github/helpers/check.ts'),
      `interface Issue {\n  id: number;\n}\n\nexport function check(issue: Issue): void {\n  if (issue.id < 0) {\n    throw new Error('negative id ' + issue.id);\n  }\n}\n`,
    );
    fs.writeFileSync(
      path.join(root, 'github/syncs/issues.ts'),
      `import type { NangoSync } from '../../models';\nimport { check } from '../helpers/check';\n\nexport default async function fetchData(nango: NangoSync) {\n  await nango.log('checking');\n  check({ id: -1 });\n}\n`,
    );
    const compiled = await compileScript({ root }, 'github/syncs/issues.ts');
    expect(JSON.parse(compiled.sourceMap!).sources.sort()).toEqual(['github/helpers/check.ts', 'github/syncs/issues.ts']);
    const result = await h.run(compiled.code, { kind: 'sync', scriptName: 'github/syncs/issues.ts', sourceMap: compiled.sourceMap, sync: { name: 'stack', models: outputs('github-issue-example') } });
    expect(result.success).toBe(false);
    if (result.success) return;
    const frames = result.error.stack!.split('\n');
    expect(frames[0]).toBe('Error: negative id -1');
    expect(frames[1]).toMatch(/^ {4}at check \(github\/helpers\/check\.ts:7:11\)$/);
    expect(frames[2]).toMatch(/^ {4}at fetchData \(github\/syncs\/issues\.ts:6:3\)$/);
  } finally {
    fs.rmSync(root, { recursive: true, force: true });
  }
});
