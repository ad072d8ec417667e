import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import pg from 'pg';
import { startTemporalDevServer, type OrchestrationMode, type TemporalDevServer } from '../helpers/temporal';

// `syncline start` as a child process that a test can SIGKILL and start again on the same data.

const ROOT = path.join(__dirname, '../..');
const CHILD = path.join(__dirname, 'fixtures/server-child.ts');

/** A database of its own on the Postgres of DATABASE_URL (the child processes connect to it by URL); none on PGlite. */
export async function createDatabase(prefix: string): Promise<{ url: string; drop(): Promise<void> } | undefined> {
  if (!process.env.DATABASE_URL) return undefined;
  const name = `${prefix}_${Date.now().toString(36)}`;
  const admin = async (sql: string) => {
    const client = new pg.Client({ connectionString: process.env.DATABASE_URL });
    await client.connect();
    await client.query(sql);
    await client.end();
  };
  await admin(`CREATE DATABASE ${name}`);
  const url = new URL(process.env.DATABASE_URL);
  url.pathname = `/${name}`;
  return { url: url.toString(), drop: () => admin(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`) };
}

/**
 * For the tests of one mode (a describe block): a database of their own (createDatabase) and, in
 * cluster mode, a Temporal dev server, made before the tests and removed after them.
 */
export function useModeBackends(mode: OrchestrationMode, prefix: string): { readonly temporal?: TemporalDevServer; readonly database?: { url: string } } {
  const backends: { temporal?: TemporalDevServer; database?: Awaited<ReturnType<typeof createDatabase>> } = {};
  beforeAll(async () => {
    if (mode === 'cluster') backends.temporal = await startTemporalDevServer();
    backends.database = await createDatabase(prefix);
  });
  afterAll(async () => {
    await backends.temporal?.close();
    await backends.database?.drop();
  });
  return backends;
}

export interface Child {
  process: ChildProcess;
  url: string;
  exited: Promise<unknown>;
}

/** Where a child keeps its data, and the Temporal server it uses (the embedded engine when absent). */
export interface Place {
  dataDir: string;
  databaseUrl?: string;
  temporalAddress?: string;
  providersFile: string;
  secretKey: string;
}

/** `syncline start` on the data of `place`, on the embedded engine unless `temporalAddress`. */
export async function startChild(ports: { api: number; engine: number }, place: Place): Promise<Child> {
  const child = spawnChild(ports, place, 'error');
  return { process: child.process, url: await child.ready, exited: child.exited };
}

/** startChild without waiting: `output()` is its stdout (its log at `logLevel`) so far; `ready` resolves with its URL. */
export function spawnChild(ports: { api: number; engine: number }, place: Place, logLevel: string) {
  const { DATABASE_URL: _ignored, ...env } = process.env;
  // node --import tsx (not the tsx binary, which forks): SIGKILL must hit the process itself.
  const child = spawn(process.execPath, ['--import', 'tsx', CHILD], {
    cwd: ROOT,
    env: {
      ...env,
      ...(place.databaseUrl ? { DATABASE_URL: place.databaseUrl, SYNCLINE_ENCRYPTION_KEY: Buffer.alloc(32, 7).toString('base64') } : {}),
      ...(place.temporalAddress ? { TEMPORAL_ADDRESS: place.temporalAddress } : {}),
      SYNCLINE_DATA_DIR: place.dataDir,
      SYNCLINE_PROVIDERS_FILE: place.providersFile,
      SYNCLINE_SECRET_KEY: place.secretKey,
      PORT: String(ports.api),
      ENGINE_PORT: String(ports.engine),
      LOG_LEVEL: logLevel,
    },
  });
  let stdout = '';
  let stderr = '';
  child.stderr!.on('data', (d) => (stderr += d));
  const exited = new Promise((resolve) => child.once('exit', resolve));
  const ready = new Promise<string>((resolve, reject) => {
    child.stdout!.on('data', (d) => {
      stdout += d;
      const m = /READY (\S+)/.exec(stdout);
      if (m) resolve(m[1]!);
    });
    child.once('exit', (code) => reject(new Error(`child exited ${code}: ${stderr.slice(-2000)}`)));
  });
  return { process: child, ready, exited, output: () => stdout };
}

/** One JSON request to a child with the secret key and `headers`; the body parsed. */
export async function childRequest(child: Child, secretKey: string, method: string, p: string, body?: unknown, headers: Record<string, string> = {}): Promise<{ status: number; body: any }> {
  const res = await fetch(child.url + p, {
    method,
    headers: { authorization: `Bearer ${secretKey}`, ...(body ? { 'content-type': 'application/json' } : {}), ...headers },
    body: body ? JSON.stringify(body) : undefined,
  });
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) : undefined };
}

/** Stops a child (SIGTERM) and waits for it to exit. */
export async function stopChild(child: Child): Promise<void> {
  child.process.kill('SIGTERM');
  await child.exited;
}
