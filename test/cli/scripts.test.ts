import fs from 'node:fs';
import path from 'node:path';
import { SCRIPT_PROCESS_IDLE_MS } from '../../src/runtime/processes';
import { githubProject, runCli, type GithubProject } from '../helpers/cli';

// The script workflow as a user runs it: init → generate/compile → deploy → dryrun, as child
// processes against the real API, with GitHub played by a local fake.
let project: GithubProject;
let { server, github, cwd, dir, env } = {} as GithubProject;

beforeAll(async () => {
  project = await githubProject('scripts');
  ({ server, github, cwd, dir, env } = project);
  expect((await runCli(['init'], { cwd, env })).code).toBe(0);
}, 60_000);

afterAll(() => project?.close());

const syncline = (args: string[]) => runCli(args, { cwd, env });

test('generate writes the models and the helper typings the scripts import', async () => {
  const result = await syncline(['generate']);
  expect(result.code).toBe(0);
  const models = fs.readFileSync(path.join(dir, 'models.ts'), 'utf8');
  expect(models).toContain('export interface GithubIssueDemo {\n  id: number;\n  title: string;\n  url: string;\n}');
  expect(models).toMatch(/export interface NangoSync extends NangoAction/);
}, 60_000);

test('compile type-checks and bundles every script into dist/', async () => {
  const result = await syncline(['compile']);
  expect(result.stderr).not.toContain('problem');
  expect(result.code).toBe(0);
  expect(result.stdout).toBe('compiled github/syncs/issues.ts\ncompiled github/actions/create-issue.ts\n');
  expect(fs.readFileSync(path.join(dir, 'dist/github/syncs/issues.js'), 'utf8')).toContain('batchSave');
}, 60_000);

test('deploy uploads the whole config; a broken script deploys nothing and names file and line', async () => {
  const ok = await syncline(['deploy']);
  expect(ok.code).toBe(0);
  expect(ok.stdout).toContain('deployed sync github/issues\ndeployed action github/create-issue\n');
  const before = await server.store.scripts.active(server.env.dev);
  expect(before.map((s) => s.name)).toEqual(['create-issue', 'issues']);
  // Each bundle goes with its source map, whose sources are the project's TypeScript files.
  for (const script of before) expect(JSON.parse(script.sourceMap!).sources).toContain(`github/${script.type}s/${script.name}.ts`);

  const action = path.join(dir, 'github/actions/create-issue.ts');
  const source = fs.readFileSync(action, 'utf8');
  fs.writeFileSync(action, source.replace('title: res.data.title', 'title: res.data.title, nope: 1'));
  try {
    const broken = await syncline(['deploy']);
    expect(broken.code).toBe(1);
    expect(broken.stderr).toMatch(/^compiling…\nsyncline: 1 problem; nothing was changed\ngithub\/actions\/create-issue\.ts:\d+:\d+ .*nope/);
    expect(await server.store.scripts.active(server.env.dev)).toEqual(before);
  } finally {
    fs.writeFileSync(action, source);
  }
}, 90_000);

test('a nango.yaml mistake is reported with file and line before anything runs', async () => {
  const yamlFile = path.join(dir, 'nango.yaml');
  const yaml = fs.readFileSync(yamlFile, 'utf8');
  fs.writeFileSync(yamlFile, yaml.replace('runs: every hour', 'runs: every 10s'));
  try {
    const result = await syncline(['compile']);
    expect(result.code).toBe(1);
    expect(result.stderr).toBe(
      'syncline: 1 problem; nothing was changed\nnango-integrations/nango.yaml:6 integrations.github.syncs.issues.runs: "every 10s" is too frequent; the minimum is every 30 seconds\n',
    );
  } finally {
    fs.writeFileSync(yamlFile, yaml);
  }
}, 60_000);

test('dryrun of the sync fetches through the fake GitHub with the connection token and saves nothing', async () => {
  const startedAt = Date.now();
  const result = await syncline(['dryrun', 'issues', 'octo']);
  // It exits when the run ends: its idle script process does not hold the CLI until the process's idle timeout.
  expect(Date.now() - startedAt).toBeLessThan(SCRIPT_PROCESS_IDLE_MS);
  expect(result.stderr).toContain('nothing was saved');
  expect(result.code).toBe(0);
  const [, count, json] = /^save (\d+) GithubIssueDemo\n([\s\S]*?)\n(?=save|$)/.exec(result.stdout) ?? [];
  expect(Number(count)).toBe(github.issues.length);
  expect(JSON.parse(json!)[0]).toEqual({ id: github.issues[0]!.id, title: github.issues[0]!.title, url: github.issues[0]!.html_url });
  expect(github.requests.every((r) => r.headers.authorization === 'Bearer gho_token')).toBe(true);
  expect(github.requestsTo('/repos/octo/hello/issues').length).toBeGreaterThan(0);
  const { rows } = await server.store.db.query<{ n: number }>('SELECT count(*)::int AS n FROM records');
  expect(rows[0]!.n).toBe(0);
}, 60_000);

test('dryrun --validation fails on an input off its model before the script runs; without it, warnings and the run goes on', async () => {
  const input = '{"owner":"octo","repo":"hello","title":7}';
  const posts = () => github.requestsTo('/repos/octo/hello/issues').filter((r) => r.method === 'POST').length;
  const before = posts();
  const strict = await syncline(['dryrun', 'create-issue', 'octo', '--input', input, '--validation']);
  expect(strict.code).toBe(1);
  expect(strict.stderr).toMatch(/^syncline: invalid_action_input: The input does not match model "GithubCreateIssueInput": .*title/);
  expect(posts()).toBe(before);

  const loose = await syncline(['dryrun', 'create-issue', 'octo', '--input', input]);
  expect(loose.code).toBe(0);
  expect(loose.stderr).toMatch(/\[warn\] The input does not match model "GithubCreateIssueInput": .*title.*\(use --validation to fail on it\)/);
  expect(JSON.parse(loose.stdout)).toMatchObject({ url: expect.stringContaining('/issues/') });
  expect(posts()).toBe(before + 1);
}, 60_000);

test('dryrun of the action takes --input and prints its output; bad options are one line', async () => {
  const result = await syncline(['dryrun', 'create-issue', 'octo', '--input', '{"owner":"octo","repo":"hello","title":"From dryrun"}']);
  expect(result.code).toBe(0);
  const output = JSON.parse(result.stdout);
  expect(output).toMatchObject({ title: 'From dryrun', url: expect.stringContaining('/issues/') });

  const badJson = await syncline(['dryrun', 'create-issue', 'octo', '--input', '{nope']);
  expect(badJson.stderr).toBe('syncline: --input is not valid JSON\n');
  const unknown = await syncline(['dryrun', 'missing', 'octo']);
  expect(unknown.stderr).toBe('syncline: No sync or action "missing" in nango.yaml (there are: github/issues, github/create-issue)\n');
  const noConnection = await syncline(['dryrun', 'issues', 'nobody']);
  expect(noConnection.stderr).toMatch(/^syncline: the server answered 404 unknown_connection/);
}, 60_000);
