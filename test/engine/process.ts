import { spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import type pg from 'pg';
import { openDb } from '../../src/store/db';

/** The advisory-lock key of the engine lease in schema $1, as src/store/db.ts takes it. */
const LEASE_KEY = `hashtext('syncline:engine' || $1)::bigint`;

/** The backend holding the engine's lease in `schema` (the connection it writes through), if any. */
export async function leaseHolder(admin: pg.Client, schema: string): Promise<number | undefined> {
  const { rows } = await admin.query<{ pid: number }>(`SELECT pid FROM pg_locks WHERE locktype = 'advisory' AND granted AND ((classid::bigint << 32) | objid::bigint) = ${LEASE_KEY}`, [schema]);
  return rows[0]?.pid;
}

/** A TCP port free on loopback now. */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as net.AddressInfo;
      srv.close(() => resolve(port));
    });
    srv.on('error', reject);
  });
}

/** The engine in a process of its own (src/engine/main.ts), resolved once it listens. */
export function spawnEngine(env: NodeJS.ProcessEnv): Promise<ChildProcess> {
  // One process (no tsx launcher in between) so that SIGKILL really kills the engine.
  const child = spawn(process.execPath, ['--import', 'tsx', path.join(__dirname, '../../src/engine/main.ts')], {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  return new Promise((resolve, reject) => {
    let out = '';
    child.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      if (out.includes('engine listening')) resolve(child);
    });
    child.stderr!.on('data', (d: Buffer) => {
      out += d.toString();
    });
    child.once('exit', (code) => reject(new Error(`engine exited (${code}): ${out}`)));
  });
}

export interface EngineProcess {
  address: string;
  /** The Postgres schema holding its tables (with DATABASE_URL; PGlite files otherwise). */
  schema: string;
  /** SIGKILL: nothing is flushed or closed. */
  kill(): Promise<void>;
  /** Starts the engine again on the same port and database. */
  restart(): Promise<void>;
  /** Stops it and drops its database. */
  close(): Promise<void>;
}

/** The engine in its own process, on a free port and a database of its own (a Postgres schema, else PGlite files). */
export async function engineProcess(): Promise<EngineProcess> {
  const port = await freePort();
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'engine-process-'));
  const schema = `t_${randomUUID().replace(/-/g, '').slice(0, 12)}`;
  const env = { ENGINE_PORT: String(port), ENGINE_DATA_DIR: dataDir, DATABASE_SCHEMA: schema };
  let child: ChildProcess | undefined = await spawnEngine(env);
  const stop = async (signal: NodeJS.Signals) => {
    const c = child;
    child = undefined;
    if (!c || c.exitCode !== null) return;
    const exited = new Promise((r) => c.once('exit', r));
    c.kill(signal);
    await exited;
  };
  return {
    address: `127.0.0.1:${port}`,
    schema,
    kill: () => stop('SIGKILL'),
    async restart() {
      child = await spawnEngine(env);
    },
    async close() {
      await stop('SIGTERM');
      if (process.env.DATABASE_URL) {
        const db = await openDb({ url: process.env.DATABASE_URL });
        await db.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
        await db.close();
      }
      fs.rmSync(dataDir, { recursive: true, force: true });
    },
  };
}
