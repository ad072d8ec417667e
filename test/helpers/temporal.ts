import { spawn } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { Connection } from '@temporalio/client';

/**
 * The real Temporal server for tests that hold cluster mode to the same standard as the embedded
 * engine: `temporal server start-dev` (the Temporal CLI, built from its Go module), in memory, on a
 * free loopback port, one per test file.
 */

/** Set to 1 to leave out the cluster variants where the Temporal CLI is not installed (CI never sets it). */
export const SKIP_CLUSTER_ENV = 'SYNCLINE_SKIP_CLUSTER_TESTS';

const INSTALL_HINT = 'go install github.com/temporalio/cli/cmd/temporal@v1.5.1 (about 8 minutes the first time; it lands in $HOME/go/bin)';

export type OrchestrationMode = 'embedded' | 'cluster';

/** The modes a two-mode test file runs in: both, unless the cluster is opted out of. */
export const MODES: OrchestrationMode[] = process.env[SKIP_CLUSTER_ENV] === '1' ? ['embedded'] : ['embedded', 'cluster'];

/** The `temporal` binary: on PATH, else in $GOBIN or $HOME/go/bin; null when absent. */
export function temporalCli(): string | null {
  const dirs = [...(process.env.PATH ?? '').split(path.delimiter), process.env.GOBIN, path.join(os.homedir(), 'go', 'bin')];
  for (const dir of dirs) {
    if (!dir) continue;
    const file = path.join(dir, 'temporal');
    try {
      fs.accessSync(file, fs.constants.X_OK);
      return file;
    } catch {
      // not here
    }
  }
  return null;
}

export async function freePort(): Promise<number> {
  const server = net.createServer().listen(0, '127.0.0.1');
  await new Promise((r) => server.once('listening', r));
  const { port } = server.address() as net.AddressInfo;
  await new Promise((r) => server.close(r));
  return port;
}

export interface TemporalDevServer {
  /** host:port of its frontend. */
  address: string;
  /** The `temporal` process (for its CPU and memory). */
  pid: number;
  close(): Promise<void>;
}

/**
 * Starts `temporal server start-dev` (in memory, headless) on `port` (a free one by default) and
 * waits until its `default` namespace answers. Fails with how to install the CLI when it is missing.
 */
export async function startTemporalDevServer(port?: number): Promise<TemporalDevServer> {
  const cli = temporalCli();
  if (!cli) throw new Error(`The Temporal CLI (temporal) is not installed, so cluster mode cannot be tested. Install it: ${INSTALL_HINT}; or set ${SKIP_CLUSTER_ENV}=1 to test the embedded engine only.`);
  // On a port of its choosing, a server that exits while starting is started again on another: it
  // also binds ports of its own next to the one given, which a server started at the same time by
  // another test file can take first (CI saw one exit with a Go panic in NewServerFx).
  for (let tries = 1; ; tries++) {
    try {
      return await startDevServer(cli, port ?? (await freePort()));
    } catch (err) {
      if (port !== undefined || tries >= 3 || !(err instanceof ExitedWhileStarting)) throw err;
    }
  }
}

class ExitedWhileStarting extends Error {}

async function startDevServer(cli: string, port: number): Promise<TemporalDevServer> {
  const address = `127.0.0.1:${port}`;
  const child = spawn(cli, ['server', 'start-dev', '--headless', '--ip', '127.0.0.1', '--port', address.split(':')[1]!, '--log-level', 'error'], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (d) => (stderr += d));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const close = async () => {
    if (child.exitCode === null) child.kill('SIGTERM');
    await exited;
  };
  const deadline = Date.now() + 30_000;
  for (;;) {
    if (child.exitCode !== null) throw new ExitedWhileStarting(`temporal server start-dev exited ${child.exitCode}: ${stderr.slice(0, 1000)}\n…\n${stderr.slice(-1000)}`);
    try {
      const connection = await Connection.connect({ address, connectTimeout: 1000 });
      try {
        await connection.workflowService.describeNamespace({ namespace: 'default' });
        return { address, pid: child.pid!, close };
      } finally {
        await connection.close();
      }
    } catch (err) {
      if (Date.now() > deadline) {
        await close();
        throw new Error(`temporal server start-dev did not answer on ${address} within 30 s: ${String(err)}\n${stderr.slice(-2000)}`);
      }
      await new Promise((r) => setTimeout(r, 200));
    }
  }
}
