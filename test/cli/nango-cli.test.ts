import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Nango } from '@nangohq/node';
import { findProvider, useUserProviders, type ProviderDefinition } from '../../src/providers';
import { startOrchestrationTest, waitFor, type OrchestrationTest } from '../orchestration/helpers';

// Nango's own CLI (npm package `nango`, a devDependency) against Syncline, as a team keeps its
// tooling: `nango init` makes its example project (zod models, createSync/createAction), `nango
// deploy dev` and `nango dryrun` talk to our API, with GitHub played by the local fake.
const NANGO_DIR = path.resolve(__dirname, '../../node_modules/nango');
const NANGO_BIN = path.join(NANGO_DIR, 'dist/index.js');
// The project's zod must be the CLI's own (it pins one, which npm nests when ours differs).
const NANGO_ZOD = [path.join(NANGO_DIR, 'node_modules/zod'), path.resolve(__dirname, '../../node_modules/zod')].find((dir) => fs.existsSync(dir))!;

let t: OrchestrationTest;
let project: string;
let env: NodeJS.ProcessEnv;

function nango(args: string[], timeoutMs = 240_000): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [NANGO_BIN, ...args, '--no-interactive', '--no-telemetry', '--no-dependency-update'], { cwd: project, env, timeout: timeoutMs, maxBuffer: 16 << 20 }, (err, stdout, stderr) => {
      const code = err ? (typeof err.code === 'number' ? err.code : 1) : 0;
      resolve({ code, stdout, stderr });
    });
  });
}

const LIST_ISSUES = `import { createSync } from 'nango';
import * as z from 'zod';

const issue = z.object({ id: z.string(), number: z.number(), title: z.string(), author: z.string(), closed_at: z.string().nullable() });

export default createSync({
    description: 'Issues of acme/demo, two a page',
    version: '0.1.0',
    endpoints: [{ method: 'GET', path: '/issues' }],
    frequency: 'every day',
    autoStart: false,
    syncType: 'full',
    models: { Issue: issue },
    exec: async (nango) => {
        for await (const page of nango.paginate<any>({ endpoint: '/repos/acme/demo/issues', paginate: { limit: 2 } })) {
            const issues: z.infer<typeof issue>[] = page
                .filter((i) => !i.pull_request)
                .map((i) => ({ id: String(i.id), number: i.number, title: i.title, author: i.user.login, closed_at: null }));
            await nango.batchSave(issues, 'Issue');
        }
    }
});
`;

const githubIssue = (n: number, extra: Record<string, unknown> = {}) => ({
  id: 5000 + n,
  number: n,
  title: `Issue ${n}`,
  state: 'open',
  body: `Body ${n}`,
  user: { login: 'octocat', id: 583231 },
  created_at: '2026-01-0' + n + 'T10:00:00Z',
  updated_at: '2026-02-0' + n + 'T10:00:00Z',
  html_url: `https://github.example/issues/${n}`,
  labels: [],
  ...extra,
});

beforeAll(async () => {
  t = await startOrchestrationTest();
  // The catalogue's github, served by the fake.
  const github = findProvider('github')!;
  useUserProviders({
    fake: { display_name: 'Fake', auth_mode: 'API_KEY', proxy: { base_url: t.fake.url, headers: { 'x-api-key': '${apiKey}' } } },
    github: { ...github, proxy: { ...github.proxy!, base_url: t.fake.url } },
  } as Record<string, ProviderDefinition>);
  await t.store.integrations.create(t.dev.id, { uniqueKey: 'github', provider: 'github' });
  const imported = await t.request('POST', '/connections', {
    json: { provider_config_key: 'github', connection_id: 'octocat', credentials: { type: 'OAUTH2', access_token: 'gho_token' } },
  });
  expect(imported.status).toBeLessThan(300);
  t.fake.tokens.add('gho_token');
  // Three issues and a pull request, which the example sync leaves out.
  t.fake.issues = [githubIssue(1), githubIssue(2), githubIssue(3, { pull_request: { url: 'x' } }), githubIssue(4)] as never;

  project = fs.mkdtempSync(path.join(os.tmpdir(), 'syncline-nango-cli-'));
  const { NANGO_SECRET_KEY: _a, NANGO_SECRET_KEY_PROD: _b, NANGO_HOSTPORT: _c, ...base } = process.env;
  env = {
    ...base,
    NANGO_HOSTPORT: t.url,
    NANGO_SECRET_KEY_DEV: t.keys.dev,
    // Nothing from the network: no upgrade check, no telemetry, no npm install.
    NANGO_CLI_UPGRADE_MODE: 'ignore',
    NANGO_CLI_TELEMETRY: 'false',
    NANGO_CLI_DEPENDENCY_UPDATE: 'false',
  };
  // --copy: the example project without `npm install`; its two dependencies are linked from ours.
  const init = await nango(['init', '--copy', '.']);
  expect(init.stdout).toContain('Nango integrations initialized');
  expect(init.code).toBe(0);
  fs.mkdirSync(path.join(project, 'node_modules'));
  fs.symlinkSync(NANGO_DIR, path.join(project, 'node_modules', 'nango'), 'dir');
  fs.symlinkSync(NANGO_ZOD, path.join(project, 'node_modules', 'zod'), 'dir');
  // A sync of our own beside the example's, written as a user adds one (paginating through Link headers).
  fs.writeFileSync(path.join(project, 'github/syncs/listIssues.ts'), LIST_ISSUES);
  fs.appendFileSync(path.join(project, 'index.ts'), "import './github/syncs/listIssues.js';\n");
}, 120_000);

afterAll(async () => {
  await t?.close();
  if (project) fs.rmSync(project, { recursive: true, force: true });
});

test('nango deploy dev compiles the example project and deploys its sync and action through /sync/deploy/confirmation and /sync/deploy', async () => {
  const deploy = await nango(['deploy', 'dev', '--auto-confirm']);
  expect(deploy.stderr).not.toMatch(/error/i);
  expect(deploy.code).toBe(0);
  // The plan comes from our diff: both new, the sync touching the one github connection.
  expect(deploy.stdout).toMatch(/\+ github → fetchIssues\s+\(1 impacted connections\)/);
  // autoStart: false, so no connection is touched yet.
  expect(deploy.stdout).toMatch(/\+ github → listIssues\s+\(0 impacted connections\)/);
  expect(deploy.stdout).toContain('+ github → createIssue');
  expect(deploy.stdout).toContain('Successfully deployed the functions:');
  for (const deployed of ['fetchIssues@v1.0.0', 'listIssues@v0.1.0', 'createIssue@v1.0.0']) expect(deploy.stdout).toContain(`- ${deployed}`);

  const sync = await t.store.scripts.find(t.dev.id, 'github', 'sync', 'fetchIssues');
  expect(sync!.config).toMatchObject({ runs: 'every hour', intervalMs: 3_600_000, output: ['GithubIssue'], syncType: 'full', autoStart: true, version: '1.0.0' });
  expect(sync!.code).toContain('fetchIssues');
  // The zod model arrived as JSON Schema and is a model like a nango.yaml one.
  const issue = sync!.models.find((m) => m.name === 'GithubIssue')!;
  expect(issue.fields.find((f) => f.name === 'issue_number')).toEqual({ name: 'issue_number', type: { kind: 'primitive', name: 'number' }, optional: false });
  const action = await t.store.scripts.find(t.dev.id, 'github', 'action', 'createIssue');
  expect(action!.config).toMatchObject({ endpoint: { method: 'POST', path: '/example/github/issues', group: 'Issues' }, input: 'ActionInput_github_createIssue' });

  const config = await t.request('GET', '/scripts/config');
  const github = (config.body as any[]).find((c) => c.providerConfigKey === 'github');
  expect(github.syncs[0].json_schema.definitions.GithubIssue.required).toContain('author_id');

  // Deploying the same project again: nothing new, nothing removed.
  const again = await nango(['deploy', 'dev', '--auto-confirm']);
  expect(again.code).toBe(0);
  expect(again.stdout).toContain('Only updates');
}, 300_000);

test('nango dryrun runs the sync locally against the connection, its requests going through our proxy to the provider', async () => {
  t.fake.requests.length = 0;
  const dryrun = await nango(['dryrun', 'fetchIssues', 'octocat', '-e', 'dev', '--auto-confirm']);
  expect(dryrun.code).toBe(0);
  expect(dryrun.stdout).toMatch(/"added": 3/);
  expect(dryrun.stdout).toContain('Sent 3 issues from acme/demo');
  const issues = t.fake.requestsTo('/repos/acme/demo/issues');
  expect(issues.length).toBeGreaterThan(0);
  expect(issues[0]!.headers.authorization).toBe('Bearer gho_token');
  expect(issues[0]!.query.per_page).toBe('100');
}, 300_000);

test('a sync deployed by nango deploy runs in Syncline when started through @nangohq/node, and its records are read back', async () => {
  const client = new Nango({ secretKey: t.keys.dev, host: t.url });
  t.fake.requests.length = 0;
  await client.startSync('github', ['listIssues'], 'octocat');
  const records = await waitFor(
    'the sync to save the issues',
    async () => {
      const page = await client.listRecords<Record<string, unknown>>({ providerConfigKey: 'github', connectionId: 'octocat', model: 'Issue' });
      return page.records.length === 3 ? page.records : undefined;
    },
    60_000,
  );
  expect(records.map((r) => r.title).sort()).toEqual(['Issue 1', 'Issue 2', 'Issue 4']);
  expect(records.find((r) => r.title === 'Issue 4')).toMatchObject({ id: '5004', number: 4, author: 'octocat', closed_at: null });
  // Two a page through the provider's Link header: pages 1 and 2 (the example sync asks 100 a page).
  expect(t.fake.requestsTo('/repos/acme/demo/issues').filter((r) => r.query.per_page === '2').map((r) => r.query.page ?? '1')).toEqual(['1', '2']);
  const status = await waitFor('the run to finish', async () => {
    const { syncs } = await client.syncStatus('github', ['listIssues'], 'octocat');
    return syncs[0]?.status === 'SUCCESS' ? syncs[0] : undefined;
  });
  expect(status).toMatchObject({ name: 'listIssues', recordCount: { Issue: 3 } });
}, 120_000);

test("the example's own sync (trackDeletesStart/End around its saves) runs in Syncline, and its records are read back", async () => {
  const client = new Nango({ secretKey: t.keys.dev, host: t.url });
  await client.triggerSync('github', ['fetchIssues'], 'octocat');
  const records = await waitFor(
    'the example sync to save the issues',
    async () => {
      const { syncs } = await client.syncStatus('github', ['fetchIssues'], 'octocat');
      if (syncs[0]?.status !== 'SUCCESS') return undefined;
      const page = await client.listRecords<Record<string, unknown>>({ providerConfigKey: 'github', connectionId: 'octocat', model: 'GithubIssue' });
      return page.records.length === 3 ? page.records : undefined;
    },
    60_000,
  );
  expect(records.map((r) => r.title).sort()).toEqual(['Issue 1', 'Issue 2', 'Issue 4']);
  expect(records.every((r) => r.owner === 'acme' && r.repo === 'demo' && (r._nango_metadata as { deleted_at: unknown }).deleted_at === null)).toBe(true);
}, 120_000);
