import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Connection } from '@temporalio/client';
import { spawnCli, stdoutMatch } from '../helpers/cli';
import { freePort } from '../helpers/temporal';

// ENGINE_HOST=0.0.0.0 makes `syncline start` serve its embedded engine on every interface, so a
// Temporal UI in another container can reach it; Syncline itself still reaches it on loopback.
const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'syncline-engine-host-'));
afterAll(() => fs.rmSync(dataDir, { recursive: true, force: true }));

/** An address of this machine other than loopback: reaching the engine there proves it does not listen on loopback only. */
function externalIPv4(): string {
  const address = Object.values(os.networkInterfaces())
    .flat()
    .find((a) => a && a.family === 'IPv4' && !a.internal)?.address;
  if (!address) throw new Error('this machine has no IPv4 address besides loopback, so listening on every interface cannot be checked');
  return address;
}

test('ENGINE_HOST=0.0.0.0: the embedded engine of `syncline start` answers on a non-loopback address, and Syncline runs on it', async () => {
  const enginePort = await freePort();
  const { DATABASE_URL: _ignored, ...env } = process.env;
  const child = spawnCli(['start'], { env: { ...env, SYNCLINE_DATA_DIR: dataDir, PORT: String(await freePort()), ENGINE_PORT: String(enginePort), ENGINE_HOST: '0.0.0.0', LOG_LEVEL: 'error' } });
  const exited = new Promise((resolve) => child.once('close', resolve));
  try {
    const url = await stdoutMatch(child, /running at (http:\/\/\S+)/);
    const connection = await Connection.connect({ address: `${externalIPv4()}:${enginePort}` });
    try {
      const { namespaces } = await connection.workflowService.listNamespaces({});
      expect(namespaces.map((n) => n.namespaceInfo?.name)).toContain('default');
    } finally {
      await connection.close();
    }
    expect((await fetch(`${url}/health`)).status).toBe(200);
  } finally {
    child.kill('SIGTERM');
    expect(await exited).toBe(0);
  }
}, 90_000);
