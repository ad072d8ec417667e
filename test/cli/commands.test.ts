import fs from 'node:fs';
import path from 'node:path';
import { baseEnv, runCli, useCliServer } from '../helpers/cli';

const t = useCliServer('cmd');

/** The CLI without a server or key unless `env` gives them. */
function syncline(args: string[], env: Record<string, string> = {}) {
  return runCli(args, { cwd: t.cwd, env: { ...baseEnv(), ...env } });
}

test('init scaffolds a working example once and refuses to overwrite it', async () => {
  const first = await syncline(['init']);
  expect(first.code).toBe(0);
  const dir = path.join(t.cwd, 'nango-integrations');
  for (const file of ['nango.yaml', 'github/syncs/issues.ts', 'github/actions/create-issue.ts', '.env', '.gitignore']) {
    expect(fs.existsSync(path.join(dir, file))).toBe(true);
  }
  expect(fs.readFileSync(path.join(dir, '.gitignore'), 'utf8')).toContain('.env');
  fs.writeFileSync(path.join(dir, 'nango.yaml'), '# mine\n');
  const again = await syncline(['init']);
  expect(again.code).toBe(1);
  expect(again.stderr).toBe(`syncline: ${path.join('nango-integrations')} already has a nango.yaml; nothing was changed\n`);
  expect(fs.readFileSync(path.join(dir, 'nango.yaml'), 'utf8')).toBe('# mine\n');
}, 60_000);

test('env set / list / delete manage the environment variables through the API', async () => {
  const env = { SYNCLINE_URL: t.server.url, SYNCLINE_SECRET_KEY: t.server.keys.dev };
  expect((await syncline(['env', 'set', 'GITHUB_ORG', 'octo'], env)).code).toBe(0);
  expect(await t.server.store.environmentVariables.list(t.server.env.dev)).toEqual([{ name: 'GITHUB_ORG', value: 'octo' }]);
  expect((await syncline(['env', 'list'], env)).stdout).toBe('GITHUB_ORG=octo\n');
  expect((await syncline(['env', 'delete', 'GITHUB_ORG'], env)).code).toBe(0);
  expect(await t.server.store.environmentVariables.list(t.server.env.dev)).toEqual([]);
}, 60_000);

test('the key can come from the folder .env; server errors and a missing key are one line', async () => {
  const dir = path.join(t.cwd, 'nango-integrations');
  fs.writeFileSync(path.join(dir, '.env'), `SYNCLINE_URL=${t.server.url}\nSYNCLINE_SECRET_KEY=${t.server.keys.prod}\n`);
  expect((await syncline(['env', 'set', 'A', '1'])).code).toBe(0);
  expect(await t.server.store.environmentVariables.list(t.server.env.prod)).toEqual([{ name: 'A', value: '1' }]);

  const bad = await syncline(['env', 'set', '1BAD', 'x']);
  expect(bad.code).toBe(1);
  expect(bad.stderr).toMatch(/^syncline: the server answered 400 invalid_body: .*name must be letters/);

  fs.rmSync(path.join(dir, '.env'));
  const missing = await syncline(['env', 'list']);
  expect(missing.code).toBe(1);
  expect(missing.stderr).toMatch(/^syncline: Set SYNCLINE_SECRET_KEY/);

  const down = await syncline(['env', 'list'], { SYNCLINE_URL: 'http://127.0.0.1:1', SYNCLINE_SECRET_KEY: 'sk_x' });
  expect(down.stderr).toMatch(/^syncline: cannot reach the Syncline server/);
}, 60_000);
