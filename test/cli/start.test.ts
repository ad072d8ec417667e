import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { runCli, spawnCli } from '../helpers/cli';

// `syncline start` / `syncline keys` as a user runs them: a child process on a fresh data directory,
// embedded database (no DATABASE_URL), talking to it over HTTP.
const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'syncline-cli-'));

function baseEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const { DATABASE_URL: _ignored, ...env } = process.env;
  return { ...env, SYNCLINE_DATA_DIR: dataDir, LOG_LEVEL: 'info', ...extra };
}

const run = (args: string[], env: NodeJS.ProcessEnv) => runCli(args, { env });

async function freePort(): Promise<number> {
  const server = net.createServer().listen(0, '127.0.0.1');
  await new Promise((r) => server.once('listening', r));
  const { port } = server.address() as net.AddressInfo;
  await new Promise((r) => server.close(r));
  return port;
}

/** Starts the server and waits for its banner; `stop()` sends SIGTERM and resolves with the exit code. */
async function start(env: NodeJS.ProcessEnv) {
  const child = spawnCli(['start'], { env });
  let stdout = '';
  let stderr = '';
  child.stderr.on('data', (d) => (stderr += d));
  await new Promise<void>((resolve, reject) => {
    child.stdout.on('data', (d) => {
      stdout += d;
      // The banner ends with an empty line.
      if (/running at http:\/\/\S+\n([\s\S]*\n)?\n/.test(stdout)) resolve();
    });
    child.once('close', (code) => reject(new Error(`exited ${code}: ${stderr}`)));
  });
  const exited = new Promise<number | null>((resolve) => child.once('close', resolve));
  return {
    stdout,
    stderr: () => stderr,
    url: /running at (http:\/\/\S+)/.exec(stdout)![1]!,
    keys: Object.fromEntries([...stdout.matchAll(/(\w+) secret key: (\S+)/g)].map((m) => [m[1]!, m[2]!])),
    async stop() {
      child.kill('SIGTERM');
      return exited;
    },
  };
}

const integrations = (url: string, key: string) => fetch(`${url}/integrations`, { headers: { authorization: `Bearer ${key}` } });

afterAll(() => fs.rmSync(dataDir, { recursive: true, force: true }));

test('first start creates the database, prints the URL and keys once; a second start reuses the data', async () => {
  const port = await freePort();
  const first = await start(baseEnv({ PORT: String(port) }));
  expect(first.url).toBe(`http://localhost:${port}`);
  expect(Object.keys(first.keys).sort()).toEqual(['dev', 'prod']);
  expect(await (await fetch(`${first.url}/health`)).json()).toMatchObject({ result: 'ok', database: 'ok' });
  const created = await fetch(`${first.url}/integrations`, {
    method: 'POST',
    headers: { authorization: `Bearer ${first.keys.dev}`, 'content-type': 'application/json' },
    body: JSON.stringify({ unique_key: 'github', provider: 'github' }),
  });
  expect(created.status).toBe(201);
  // The generated encryption key is announced, kept private, and never logged itself.
  const keyFile = path.join(dataDir, 'encryption.key');
  expect(fs.statSync(keyFile).mode & 0o777).toBe(0o600);
  expect(first.stderr() + first.stdout).toContain('generated an encryption key');
  expect(first.stderr() + first.stdout).not.toContain(fs.readFileSync(keyFile, 'utf8').trim());
  expect(await first.stop()).toBe(0);
  expect(fs.existsSync(path.join(dataDir, 'syncline.pid'))).toBe(false);

  const second = await start(baseEnv({ PORT: String(port) }));
  expect(second.keys).toEqual({});
  const res = await integrations(second.url, first.keys.dev!);
  expect(((await res.json()) as { data: Array<{ unique_key: string }> }).data.map((i) => i.unique_key)).toEqual(['github']);
  expect((await integrations(second.url, first.keys.prod!)).status).toBe(200);

  // The embedded database is single-process: a concurrent command is refused with a clear line.
  const concurrent = await run(['keys'], baseEnv());
  expect(concurrent.code).toBe(1);
  expect(concurrent.stderr).toMatch(/^syncline: Another Syncline process \(pid \d+\) is using /);
  expect(await second.stop()).toBe(0);

  const keys = await run(['keys'], baseEnv());
  expect(keys.code).toBe(0);
  expect(keys.stdout).toBe(`dev\t${first.keys.dev}\nprod\t${first.keys.prod}\n`);
}, 60_000);

test('SYNCLINE_SECRET_KEY sets the dev key', async () => {
  const devKey = 'sk_dev_chosen_for_scripts_123';
  const server = await start(baseEnv({ PORT: String(await freePort()), SYNCLINE_SECRET_KEY: devKey }));
  try {
    expect((await integrations(server.url, devKey)).status).toBe(200);
  } finally {
    await server.stop();
  }
}, 60_000);

test('a wrong encryption key stops start-up with one clear line and leaves the data readable', async () => {
  const wrong = Buffer.alloc(32, 1).toString('base64');
  const result = await run(['start'], baseEnv({ SYNCLINE_ENCRYPTION_KEY: wrong }));
  expect(result.code).toBe(1);
  expect(result.stderr.trim()).toBe(
    'syncline: SYNCLINE_ENCRYPTION_KEY does not match the key this database was encrypted with; set the original key (see README, "Encryption")',
  );
  const keys = await run(['keys'], baseEnv());
  expect(keys.code).toBe(0);
  expect(keys.stdout).toContain('sk_dev_chosen_for_scripts_123');
}, 60_000);

test('a bad configuration value stops start-up with one line naming the variable', async () => {
  const result = await run(['start'], baseEnv({ PORT: 'eighty' }));
  expect(result.code).toBe(1);
  expect(result.stderr).toBe('syncline: Invalid PORT: expected an integer between 1 and 65535 (got "eighty")\n');
}, 60_000);

test('`syncline engine` serves the Temporal API alone on ENGINE_PORT', async () => {
  const { Connection } = await import('@temporalio/client');
  const port = await freePort();
  const child = spawnCli(['engine'], { env: baseEnv({ ENGINE_PORT: String(port) }) });
  let stdout = '';
  await new Promise<void>((resolve, reject) => {
    child.stdout.on('data', (d) => {
      stdout += d;
      if (stdout.includes('engine listening on')) resolve();
    });
    child.once('close', (code) => reject(new Error(`exited ${code}`)));
  });
  expect(stdout).toBe(`engine listening on 127.0.0.1:${port}\n`);
  const connection = await Connection.connect({ address: `127.0.0.1:${port}` });
  try {
    const { namespaces } = await connection.workflowService.listNamespaces({});
    expect(namespaces.map((n) => n.namespaceInfo?.name)).toContain('default');
  } finally {
    await connection.close();
    const exited = new Promise((resolve) => child.once('close', resolve));
    child.kill('SIGTERM');
    expect(await exited).toBe(0);
  }
}, 60_000);
