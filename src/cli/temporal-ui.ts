import { spawn } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';

/**
 * The Temporal Web UI next to Syncline: its server (`temporal-ui-server`, the Go module
 * github.com/temporalio/ui-server/v2, command cmd/server) pointed at the embedded engine or the
 * Temporal frontend Syncline uses. The UI server reads its settings from `<root>/config/<env>.yaml`;
 * a throwaway folder holds the one written here.
 */

export const UI_BINARY = 'temporal-ui-server';

/**
 * The UI server binary per `setting` (SYNCLINE_TEMPORAL_UI): its path, or `auto` for
 * `temporal-ui-server` on PATH or in ~/go/bin; null when unset, `off`, or not found by `auto`.
 */
export function findTemporalUi(setting: string | undefined = process.env.SYNCLINE_TEMPORAL_UI): string | null {
  if (!setting || setting === 'off') return null;
  if (setting !== 'auto') {
    if (!isExecutable(setting)) throw new Error(`SYNCLINE_TEMPORAL_UI=${setting}: no executable file there (give the path of ${UI_BINARY}, auto, or off)`);
    return setting;
  }
  const dirs = [...(process.env.PATH ?? '').split(path.delimiter), path.join(os.homedir(), 'go', 'bin')];
  for (const dir of dirs) {
    const file = dir && path.join(dir, UI_BINARY);
    if (file && isExecutable(file)) return file;
  }
  return null;
}

function isExecutable(file: string): boolean {
  try {
    fs.accessSync(file, fs.constants.X_OK);
    return fs.statSync(file).isFile();
  } catch {
    return false;
  }
}

export interface TemporalUiOptions {
  binary: string;
  /** host:port of the Temporal frontend (the embedded engine). */
  temporalAddress: string;
  port: number;
  /** Interface to listen on, default 127.0.0.1. */
  host?: string;
}

export interface TemporalUi {
  url: string;
  close(): Promise<void>;
}

/** The UI server's config file. Origins must be listed for its CSRF check of write actions (signal, cancel...). */
function configYaml(o: Required<TemporalUiOptions>): string {
  const origins = [`http://${o.host}:${o.port}`, `http://localhost:${o.port}`, `http://127.0.0.1:${o.port}`];
  return [
    `temporalGrpcAddress: ${JSON.stringify(o.temporalAddress)}`,
    `host: ${JSON.stringify(o.host)}`,
    `port: ${o.port}`,
    'enableUi: true',
    'defaultNamespace: default',
    // The UI fetches news and version notices from temporal.io unless told not to.
    'disableNewsFetch: true',
    'notifyOnNewVersion: false',
    'hideLogs: true',
    'cors:',
    '  cookieInsecure: true',
    `  allowOrigins: ${JSON.stringify([...new Set(origins)])}`,
    '',
  ].join('\n');
}

/** Starts the UI server and waits until it answers; fails with its output if it exits first. */
export async function startTemporalUi(options: TemporalUiOptions): Promise<TemporalUi> {
  const o = { host: '127.0.0.1', ...options };
  const browseHost = o.host === '0.0.0.0' ? '127.0.0.1' : o.host;
  // Something already answering there would be taken for the UI.
  if (await listening(browseHost, o.port)) throw new Error(`port ${o.port} of ${o.host} is in use: set SYNCLINE_TEMPORAL_UI_PORT to a free one`);
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'syncline-temporal-ui-'));
  fs.mkdirSync(path.join(root, 'config'));
  fs.writeFileSync(path.join(root, 'config', 'syncline.yaml'), configYaml(o));
  const child = spawn(o.binary, ['--root', root, '--config', 'config', '--env', 'syncline', 'start'], { stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout.on('data', (d) => (output = (output + d).slice(-4000)));
  child.stderr.on('data', (d) => (output = (output + d).slice(-4000)));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const close = async () => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
    await exited;
    fs.rmSync(root, { recursive: true, force: true });
  };
  const deadline = Date.now() + 20_000;
  while (!(await listening(browseHost, o.port))) {
    if (child.exitCode !== null || Date.now() > deadline) {
      await close();
      throw new Error(`${o.binary} did not start on ${o.host}:${o.port}: ${output.trim()}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  return { url: `http://${browseHost}:${o.port}`, close };
}

function listening(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ host, port });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

/** Default port of the UI next to `syncline start`: the one `temporal server start-dev` serves its UI on. */
export const DEFAULT_UI_PORT = 8233;

/**
 * For `syncline start`: the UI server SYNCLINE_TEMPORAL_UI names (see findTemporalUi), on SYNCLINE_TEMPORAL_UI_PORT
 * (default 8233) of SYNCLINE_TEMPORAL_UI_HOST (default 127.0.0.1); undefined when there is none.
 */
export async function temporalUiFromEnv(temporalAddress: string, env: NodeJS.ProcessEnv = process.env): Promise<TemporalUi | undefined> {
  const binary = findTemporalUi(env.SYNCLINE_TEMPORAL_UI);
  if (!binary && env.SYNCLINE_TEMPORAL_UI === 'auto') throw new Error(`SYNCLINE_TEMPORAL_UI=auto: no ${UI_BINARY} on PATH or in ~/go/bin`);
  if (!binary) return undefined;
  const portText = env.SYNCLINE_TEMPORAL_UI_PORT ?? String(DEFAULT_UI_PORT);
  const port = Number(portText);
  if (!/^\d+$/.test(portText) || port < 1 || port > 65535) throw new Error(`SYNCLINE_TEMPORAL_UI_PORT=${portText}: expected a port number (1-65535)`);
  const host = env.SYNCLINE_TEMPORAL_UI_HOST ?? '127.0.0.1';
  if (!/^[\w.:-]+$/.test(host)) throw new Error(`SYNCLINE_TEMPORAL_UI_HOST=${host}: expected an address to listen on, e.g. 127.0.0.1 or 0.0.0.0`);
  return startTemporalUi({ binary, temporalAddress, port, host });
}
