import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startFakeApi, type FakeApi } from '../fixtures/fake-apis';
import { startTestServer, type TestServer } from './server';

const ROOT = path.join(__dirname, '../..');
const CLI = path.join(ROOT, 'src/cli/index.ts');
const TSX = path.join(ROOT, 'node_modules/.bin/tsx');

export interface CliOptions {
  env?: NodeJS.ProcessEnv;
  cwd?: string;
}

/** `syncline <args>` from source, as a child process. */
export function spawnCli(args: string[], options: CliOptions = {}): ChildProcessWithoutNullStreams {
  return spawn(TSX, [CLI, ...args], { env: options.env ?? process.env, cwd: options.cwd ?? ROOT });
}

/** Runs `syncline <args>` to completion. */
export function runCli(args: string[], options: CliOptions = {}): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const child = spawnCli(args, options);
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d) => (stdout += d));
  child.stderr.on('data', (d) => (stderr += d));
  return new Promise((resolve) => child.on('close', (code) => resolve({ code, stdout, stderr })));
}

/** The test process's environment without the CLI's own settings, so a run names its server and key itself. */
export function baseEnv(): NodeJS.ProcessEnv {
  const { SYNCLINE_SECRET_KEY: _key, SYNCLINE_URL: _url, ...base } = process.env;
  return base;
}

/** The environment of a CLI run against `server` with its dev key, plus `extra` (e.g. SYNCLINE_PROVIDERS_FILE). */
export function cliEnv(server: { url: string; keys: { dev: string } }, extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  return { ...baseEnv(), SYNCLINE_URL: server.url, SYNCLINE_SECRET_KEY: server.keys.dev, ...extra };
}

/**
 * A scratch folder for CLI runs (`cwd`), with `fixture` copied into its nango-integrations (`dir`)
 * when given, and `providers` written as its providers.yaml when given (`providersFile`, for
 * SYNCLINE_PROVIDERS_FILE). The caller removes `cwd`.
 */
export function scratchProject(name: string, options: { fixture?: string; providers?: string } = {}): { cwd: string; dir: string; providersFile: string } {
  const cwd = fs.mkdtempSync(path.join(os.tmpdir(), `syncline-${name}-`));
  const dir = path.join(cwd, 'nango-integrations');
  if (options.fixture) fs.cpSync(options.fixture, dir, { recursive: true });
  const providersFile = path.join(cwd, 'providers.yaml');
  if (options.providers !== undefined) fs.writeFileSync(providersFile, options.providers);
  return { cwd, dir, providersFile };
}

/** providers.yaml text: the orchestration tests' fake API as provider `fake` (an API key sent as x-api-key). */
const fakeProviderYaml = (baseUrl: string): string =>
  `fake:\n  display_name: Fake\n  auth_mode: API_KEY\n  proxy:\n    base_url: ${baseUrl}\n    headers:\n      x-api-key: \${apiKey}\n`;

/**
 * A copy of the fixture project `fixture` in a scratch folder (`cwd`), whose CLI runs (`env`) use
 * `t`'s server with its dev key and its fake API as provider `fake`. The caller removes `cwd`.
 */
export function fakeApiProject(t: { url: string; keys: { dev: string }; fake: { url: string } }, name: string, fixture: string): { cwd: string; env: NodeJS.ProcessEnv } {
  const { cwd, providersFile } = scratchProject(name, { fixture, providers: fakeProviderYaml(t.fake.url) });
  return { cwd, env: cliEnv(t, { SYNCLINE_PROVIDERS_FILE: providersFile }) };
}

/**
 * For a test file: a test server and a scratch folder, started before its tests and removed after;
 * `syncline` runs the CLI there against the server with its dev key.
 */
export function useCliServer(name: string): { readonly server: TestServer; readonly cwd: string; syncline(args: string[]): ReturnType<typeof runCli> } {
  let server: TestServer | undefined;
  let cwd: string | undefined;
  beforeAll(async () => {
    server = await startTestServer();
    ({ cwd } = scratchProject(name));
  });
  afterAll(async () => {
    await server?.close();
    if (cwd) fs.rmSync(cwd, { recursive: true, force: true });
  });
  return {
    get server() {
      return server!;
    },
    get cwd() {
      return cwd!;
    },
    syncline: (args) => runCli(args, { cwd, env: cliEnv(server!) }),
  };
}

/** A user's GitHub project against a test server: see githubProject. */
export interface GithubProject {
  server: TestServer;
  github: FakeApi;
  cwd: string;
  dir: string;
  env: NodeJS.ProcessEnv;
  close(): Promise<void>;
}

/**
 * A test server with the github integration and its connection `octo` (token gho_token, metadata
 * owner octo, repo hello), GitHub played by a fake API the catalogue's github is pointed at through
 * providers.yaml (the way users add or replace providers), and a scratch folder to run the CLI in.
 */
export async function githubProject(name: string): Promise<GithubProject> {
  const [server, github] = await Promise.all([startTestServer(), startFakeApi()]);
  const { cwd, dir, providersFile } = scratchProject(name, { providers: `github:\n  extends: github\n  proxy:\n    base_url: ${github.url}\n` });
  await server.store.integrations.create(server.env.dev, { uniqueKey: 'github', provider: 'github' });
  await server.store.connections.upsert(server.env.dev, 'github', {
    connectionId: 'octo',
    credentials: { type: 'OAUTH2', access_token: 'gho_token' },
    metadata: { owner: 'octo', repo: 'hello' },
  });
  github.tokens.add('gho_token');
  return {
    server,
    github,
    cwd,
    dir,
    env: cliEnv(server, { SYNCLINE_PROVIDERS_FILE: providersFile }),
    async close() {
      await Promise.all([server.close(), github.close()]);
      fs.rmSync(cwd, { recursive: true, force: true });
    },
  };
}

/**
 * The first capture of `pattern` in what `child` prints, once it has printed it (e.g. the URL of a
 * banner line); fails with what it printed when the child exits first.
 */
export function stdoutMatch(child: ChildProcessWithoutNullStreams, pattern: RegExp): Promise<string> {
  let stdout = '';
  return new Promise<string>((resolve, reject) => {
    child.stdout.on('data', (d) => {
      stdout += d;
      const m = pattern.exec(stdout);
      if (m) resolve(m[1]!);
    });
    child.once('close', (code) => reject(new Error(`exited ${code}: ${stdout}`)));
  });
}
