import fs from 'node:fs';
import path from 'node:path';
import { githubProject, runCli, type GithubProject } from '../helpers/cli';

// A project in Nango's current format (scripts declare themselves, no nango.yaml), as a user runs
// it: init --zero-yaml → generate/compile → dryrun, as child processes against the real API, with
// GitHub played by a local fake.
let project: GithubProject;
let { github, cwd, dir, env } = {} as GithubProject;

beforeAll(async () => {
  project = await githubProject('zero-yaml');
  ({ github, cwd, dir, env } = project);
  const init = await runCli(['init', '--zero-yaml'], { cwd, env });
  expect(init.code).toBe(0);
  expect(fs.existsSync(path.join(dir, 'nango.yaml'))).toBe(false);
}, 60_000);

afterAll(() => project?.close());

const syncline = (args: string[]) => runCli(args, { cwd, env });

test('generate reads the definitions from the scripts and writes .nango/ as for a nango.yaml, without models.ts', async () => {
  const result = await syncline(['generate']);
  expect(result.stderr).toBe('');
  expect(result.code).toBe(0);
  expect(fs.existsSync(path.join(dir, 'models.ts'))).toBe(false);
  const [integration] = JSON.parse(fs.readFileSync(path.join(dir, '.nango/nango.json'), 'utf8'));
  expect(integration.providerConfigKey).toBe('github');
  expect(integration.syncs[0]).toMatchObject({ name: 'issues', runs: 'every hour', output: ['GithubIssueDemo'], input: 'SyncMetadata_github_issues', auto_start: true, track_deletes: true });
  expect(integration.actions[0]).toMatchObject({ name: 'create-issue', input: 'ActionInput_github_createissue', output: ['ActionOutput_github_createissue'] });
  const schema = JSON.parse(fs.readFileSync(path.join(dir, '.nango/schema.json'), 'utf8'));
  expect(schema.definitions.GithubIssueDemo).toMatchObject({ type: 'object', required: ['id', 'title', 'url'] });
  expect(fs.readFileSync(path.join(dir, '.nango/schema.ts'), 'utf8')).toContain('export interface ActionInput_github_createissue {');
}, 60_000);

test('compile type-checks and bundles the scripts index.ts imports', async () => {
  const result = await syncline(['compile']);
  expect(result.code).toBe(0);
  expect(result.stdout).toBe('compiled github/syncs/issues.ts\ncompiled github/actions/create-issue.ts\n');
}, 60_000);

test('dryrun runs the definition: the sync saves records checked against its zod model, the action returns its output', async () => {
  const sync = await syncline(['dryrun', 'issues', 'octo']);
  expect(sync.code).toBe(0);
  const [, count, json] = /^save (\d+) GithubIssueDemo\n([\s\S]*?)\n(?=save|$)/.exec(sync.stdout) ?? [];
  expect(Number(count)).toBe(github.issues.length);
  expect(JSON.parse(json!)[0]).toEqual({ id: String(github.issues[0]!.id), title: github.issues[0]!.title, url: github.issues[0]!.html_url });
  expect(sync.stderr).not.toContain('does not match');

  const action = await syncline(['dryrun', 'create-issue', 'octo', '--input', '{"owner":"octo","repo":"hello","title":"From zero yaml"}']);
  expect(action.code).toBe(0);
  expect(JSON.parse(action.stdout)).toMatchObject({ title: 'From zero yaml', url: expect.stringContaining('/issues/') });
  const strict = await syncline(['dryrun', 'create-issue', 'octo', '--input', '{"owner":"octo"}', '--validation']);
  expect(strict.stderr).toMatch(/^syncline: invalid_action_input: The input does not match model "ActionInput_github_createissue"/);
}, 90_000);

test('a definition Nango would refuse is reported with its file and field; a field Nango ignores is a warning', async () => {
  const file = path.join(dir, 'github/syncs/issues.ts');
  const source = fs.readFileSync(file, 'utf8');
  try {
    fs.writeFileSync(file, source.replace("frequency: 'every hour'", "frequency: 'every 5 seconds'"));
    const refused = await syncline(['generate']);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toBe('syncline: 1 problem; nothing was changed\ngithub/syncs/issues.ts definition: createSync.frequency: "every 5 seconds" is not a frequency from "every 30 seconds" to "every 31 days" (e.g. "every hour", "every 5 minutes")\n');
    fs.writeFileSync(file, source.replace('autoStart: true', 'autoStart: true,\n    // @ts-expect-error not a createSync field\n    runs: 1'));
    const warned = await syncline(['generate']);
    expect(warned.code).toBe(0);
    expect(warned.stderr).toMatch(/^warning: github\/syncs\/issues\.ts:1 createSync\.runs: unknown field, ignored; createSync reads version, description/);
  } finally {
    fs.writeFileSync(file, source);
  }
}, 60_000);

test('one project may not mix the two formats', async () => {
  fs.writeFileSync(path.join(dir, 'nango.yaml'), 'integrations: {}\nmodels: {}\n');
  try {
    const result = await syncline(['compile']);
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/mixes the two project formats: a nango\.yaml, and an index\.ts/);
  } finally {
    fs.rmSync(path.join(dir, 'nango.yaml'));
  }
}, 60_000);
