import { spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { Client } from '@temporalio/client';
import { DefaultLogger, NativeConnection, Runtime, Worker } from '@temporalio/worker';
import { openDb } from '../src/store/db';
import * as activities from '../test/engine/activities';

/**
 * The embedded engine under load, with the real Temporal SDK set up as Syncline runs it: the
 * client on the worker's native connection, starts asking to run eagerly on that worker, two
 * workflow threads (SYNCLINE_WORKFLOW_THREADS' default; one gives about 10% less: the SDK's thread
 * stalls on its per-call watchdog threads). The engine runs in its own process (so its memory is
 * its own) on DATABASE_URL when set, else PGlite.
 *
 * - engine.throughput: N workflows (ENGINE_BENCH_N, default 2,000) each running one trivial
 *   activity, 200 in flight: completed workflows/s. Then the same with starts that do not ask to
 *   run eagerly (their first task goes through the queue and a poll), N/2 of them.
 * - engine.cpu: CPU time per workflow of the first run, split between the engine, the SDK's worker
 *   and client (this process) and Postgres: what bounds throughput on a small machine.
 * - engine.latency: start-to-completion of one such workflow at a time (low load): p50 / p99.
 * - engine.idle: ENGINE_BENCH_IDLE (default 10,000) workflows each waiting on a 30 s timer: engine
 *   RSS while they wait, and the lag of the timer firings (TimerFired time minus due time) p50 / p99.
 */
const workflowsPath = path.join(__dirname, '../test/engine/workflows/index.ts');

async function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const srv = net.createServer();
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as net.AddressInfo;
      srv.close(() => resolve(port));
    });
  });
}

function spawnEngine(env: NodeJS.ProcessEnv): Promise<ChildProcess> {
  // ENGINE_NODE_ARGS (e.g. --cpu-prof) apply to the engine process only.
  const nodeArgs = (process.env.ENGINE_NODE_ARGS ?? '').split(' ').filter(Boolean);
  // The compiled engine, as `syncline engine` runs it (`npm run bench` builds first).
  const child = spawn(process.execPath, [...nodeArgs, path.join(__dirname, '../dist/engine/main.js')], {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  return new Promise((resolve, reject) => {
    child.stdout!.on('data', (d: Buffer) => {
      if (d.toString().includes('engine listening')) resolve(child);
    });
    child.once('exit', (code) => reject(new Error(`engine exited with ${code}`)));
  });
}

function rssMb(pid: number): number {
  const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0);
  return Math.round(kb / 1024);
}

/** CPU time (user + system) a process has used, in ms. */
function cpuMs(pid: number): number {
  const fields = fs.readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
  return ((Number(fields[11]) + Number(fields[12])) * 1000) / 100; // utime, stime in clock ticks (100/s)
}

/** CPU time of every Postgres server process on this machine, in ms (0 when there is none). */
function postgresCpuMs(): number {
  let total = 0;
  for (const pid of fs.readdirSync('/proc').filter((d) => /^\d+$/.test(d))) {
    try {
      if (fs.readFileSync(`/proc/${pid}/comm`, 'utf8').trim() === 'postgres') total += cpuMs(Number(pid));
    } catch {
      // the process ended
    }
  }
  return total;
}

const pct = (sorted: number[], p: number) => sorted[Math.min(sorted.length - 1, Math.floor((sorted.length * p) / 100))];

async function pool<T>(items: T[], width: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: width }, async () => {
      while (next < items.length) await fn(items[next++]);
    }),
  );
}

export async function run(): Promise<void> {
  const n = Number(process.env.ENGINE_BENCH_N ?? 2000);
  const idle = Number(process.env.ENGINE_BENCH_IDLE ?? 10_000);
  const port = await freePort();
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'engine-bench-'));
  const schema = `bench_${randomUUID().replace(/-/g, '').slice(0, 10)}`;
  const engine = await spawnEngine({ ENGINE_PORT: String(port), ENGINE_DATA_DIR: dataDir, DATABASE_SCHEMA: schema });
  const address = `127.0.0.1:${port}`;
  Runtime.install({ logger: new DefaultLogger('ERROR') });
  // Loopback: gzip would only cost CPU on both sides.
  const connection = await NativeConnection.connect({ address, grpcCompression: { codec: 'none' } });
  const client = new Client({ connection });
  const taskQueue = 'bench';
  const worker = await Worker.create({
    connection,
    taskQueue,
    workflowsPath,
    activities,
    maxConcurrentWorkflowTaskExecutions: 100,
    maxConcurrentActivityTaskExecutions: 200,
    maxCachedWorkflows: Math.max(1000, idle + 100),
    workflowThreadPoolSize: 2,
  });
  const running = worker.run();
  const backend = process.env.DATABASE_URL ? 'postgres' : 'pglite';
  try {
    const one = async (i: string, requestEagerStart = true) => {
      const t0 = performance.now();
      const h = await client.workflow.start('greet', { taskQueue, workflowId: `bench-${i}`, args: ['x'], requestEagerStart });
      await h.result();
      return performance.now() - t0;
    };
    const throughput = async (count: number, eager: boolean, label: string) => {
      const t0 = performance.now();
      await pool(
        Array.from({ length: count }, (_, i) => i),
        200,
        async (i) => void (await one(`${label}-${i}`, eager)),
      );
      return (performance.now() - t0) / 1000;
    };
    const report = (label: string, count: number, seconds: number) =>
      console.log(`${label} (${backend}): ${count} workflows with one activity in ${seconds.toFixed(1)} s = ${Math.round(count / seconds)} workflows/s`);
    // Warm-up, unmeasured: both kinds of start under load, so the JIT has compiled what the runs use.
    await throughput(300, true, 'warm-eager');
    await throughput(300, false, 'warm-polled');
    const cpu0 = { engine: cpuMs(engine.pid!), sdk: cpuMs(process.pid), postgres: postgresCpuMs() };
    report('engine.throughput', n, await throughput(n, true, 'engine.throughput'));
    const perWorkflow = (ms: number) => (ms / n).toFixed(2);
    console.log(
      `engine.cpu (${backend}): per workflow engine ${perWorkflow(cpuMs(engine.pid!) - cpu0.engine)} ms, ` +
        `SDK worker + client ${perWorkflow(cpuMs(process.pid) - cpu0.sdk)} ms, Postgres ${perWorkflow(postgresCpuMs() - cpu0.postgres)} ms (${os.cpus().length} cores)`,
    );
    report('engine.throughput.polled', Math.ceil(n / 2), await throughput(Math.ceil(n / 2), false, 'engine.throughput.polled'));

    const lat: number[] = [];
    for (let i = 0; i < 200; i++) lat.push(await one(`lat-${i}`));
    lat.sort((a, b) => a - b);
    console.log(`engine.latency (${backend}, one at a time): p50 ${pct(lat, 50).toFixed(1)} ms, p99 ${pct(lat, 99).toFixed(1)} ms`);

    if (idle > 0) {
      const sleepMs = 30_000;
      const ids = Array.from({ length: idle }, (_, i) => `idle-${i}`);
      const s0 = performance.now();
      await pool(ids, 100, async (id) => void (await client.workflow.start('sleeper', { taskQueue, workflowId: id, args: [sleepMs] })));
      const startSeconds = (performance.now() - s0) / 1000;
      await new Promise((r) => setTimeout(r, 3000));
      const rss = rssMb(engine.pid!);
      console.log(`engine.idle (${backend}): ${idle} workflows waiting on timers (started in ${startSeconds.toFixed(1)} s): engine RSS ${rss} MB`);
      const handles = ids.map((id) => client.workflow.getHandle(id));
      await pool(handles, 200, async (h) => void (await h.result()));
      const lags: number[] = [];
      const sample = ids.filter((_, i) => i % Math.max(1, Math.floor(idle / 1000)) === 0);
      await pool(sample, 50, async (id) => {
        const history = await client.workflow.getHandle(id).fetchHistory();
        const started = history.events!.find((e) => e.timerStartedEventAttributes)!;
        const fired = history.events!.find((e) => e.timerFiredEventAttributes)!;
        const due = Number(started.eventTime!.seconds) * 1000 + started.eventTime!.nanos! / 1e6 + sleepMs;
        const at = Number(fired.eventTime!.seconds) * 1000 + fired.eventTime!.nanos! / 1e6;
        lags.push(at - due);
      });
      lags.sort((a, b) => a - b);
      console.log(`engine.timers (${backend}): firing lag over ${lags.length} sampled timers p50 ${pct(lags, 50).toFixed(0)} ms, p99 ${pct(lags, 99).toFixed(0)} ms; peak RSS ${rssMb(engine.pid!)} MB`);
    }
  } finally {
    worker.shutdown();
    await running;
    await connection.close();
    engine.kill('SIGTERM');
    await new Promise((r) => engine.once('exit', r));
    if (process.env.DATABASE_URL) {
      const db = await openDb({ url: process.env.DATABASE_URL });
      await db.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
      await db.close();
    }
    fs.rmSync(dataDir, { recursive: true, force: true });
  }
}
