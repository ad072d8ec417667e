import { spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { Client } from '@temporalio/client';
import { defineSearchAttributeKey, SearchAttributeType } from '@temporalio/common';
import { bundleWorkflowCode, DefaultLogger, NativeConnection, type WorkflowBundle } from '@temporalio/worker';
import { openDb } from '../src/store/db';
import { createLogger } from '../src/logger';
import { DEFAULT_WORKFLOW_THREADS, installSdkRuntime, TrustedWorkflowsWorker } from '../src/worker';
import * as activities from '../test/engine/activities';
import { freePort, startTemporalDevServer, temporalCli } from '../test/helpers/temporal';
import { postgresCpuMs, processCpuMs } from './lib/cpu';

/**
 * The embedded engine under load, with the real Temporal SDK set up as Syncline runs it: the
 * client on the worker's native connection, starts asking to run eagerly on that worker, its
 * worker (TrustedWorkflowsWorker) with its default workflow threads (DEFAULT_WORKFLOW_THREADS). The engine runs in its own process (so its
 * memory is its own) on DATABASE_URL when set, else PGlite. Then the same workload, with the same worker and
 * client, against the real Temporal server (`temporal server start-dev`, in memory), and each
 * figure side by side with the ratio ours / theirs (ENGINE_BENCH_TEMPORAL=0 leaves it out).
 *
 * - engine.throughput: N workflows (ENGINE_BENCH_N, default 2,000) each running one trivial
 *   activity, 200 in flight: completed workflows/s. Then the same with starts that do not ask to
 *   run eagerly (their first task goes through the queue and a poll), N/2 of them.
 * - engine.cpu: CPU time per workflow of the first run, split between the server (the engine and
 *   Postgres, or the `temporal` process), the SDK's worker and client (this process).
 * - engine.latency: start-to-completion of one such workflow at a time (low load): p50 / p99.
 * - engine.updates: ENGINE_BENCH_UPDATES (default 500) executeUpdate calls on running workflows,
 *   one at a time on one workflow, then 100 in flight over 20 workflows (5 each: Temporal allows
 *   10 in flight per workflow): updates/s.
 * - engine.schedule: a schedule firing every second for ENGINE_BENCH_SCHEDULE_S (default 15)
 *   seconds: lag of each workflow's start time behind its nominal time (TemporalScheduledStartTime,
 *   else the time its workflow id ends with) p50 / max.
 * - engine.idle: ENGINE_BENCH_IDLE (default 10,000) workflows each waiting on a timer due 30 s after
 *   the last has started, started ENGINE_BENCH_IDLE_RATE (default 200) a second on both servers (so
 *   the timers fall due at the same rate): server RSS while they all wait, and
 *   the lag of the timer firings (TimerFired time minus due time) p50 / p99.
 */
const workflowsPath = path.join(__dirname, '../test/engine/workflows/index.ts');
const taskQueue = 'bench';
const backend = process.env.DATABASE_URL ? 'postgres' : 'pglite';

/** A server the workload runs against. */
interface Target {
  /** How its figures are labelled, e.g. `ours, postgres`. */
  label: string;
  address: string;
  /** The server process, for its RSS. */
  pid: number;
  /** CPU time (ms) so far of each kind of process serving this target, e.g. engine and Postgres. */
  serverCpuMs(): Record<string, number>;
  close(): Promise<void>;
}

/** One measured figure of one target; `better` says which direction wins when compared. */
interface Figure {
  name: string;
  unit: string;
  better: 'higher' | 'lower';
  value: number;
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

/** The embedded engine in a process of its own, on a fresh schema (Postgres) or data dir (PGlite). */
async function startOurs(): Promise<Target> {
  const port = await freePort();
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'engine-bench-'));
  const schema = `bench_${randomUUID().replace(/-/g, '').slice(0, 10)}`;
  const engine = await spawnEngine({ ENGINE_PORT: String(port), ENGINE_DATA_DIR: dataDir, DATABASE_SCHEMA: schema });
  return {
    label: `ours, ${backend}`,
    address: `127.0.0.1:${port}`,
    pid: engine.pid!,
    serverCpuMs: () => ({ engine: processCpuMs(engine.pid!), Postgres: postgresCpuMs() }),
    close: async () => {
      engine.kill('SIGTERM');
      await new Promise((r) => engine.once('exit', r));
      if (process.env.DATABASE_URL) {
        const db = await openDb({ url: process.env.DATABASE_URL });
        await db.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
        await db.close();
      }
      fs.rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

/** The real Temporal dev server (in memory), as the cluster-mode tests start it. */
async function startTheirs(): Promise<Target> {
  const server = await startTemporalDevServer();
  return { label: 'Temporal dev server', address: server.address, pid: server.pid, serverCpuMs: () => ({ temporal: processCpuMs(server.pid) }), close: server.close };
}

/** A /proc file of a process, '' when the process has ended. */
function readProc(pid: number, file: string): string {
  try {
    return fs.readFileSync(`/proc/${pid}/${file}`, 'utf8');
  } catch {
    return '';
  }
}

function rssMb(pid: number): number {
  const kb = Number(/VmRSS:\s+(\d+)/.exec(readProc(pid, 'status'))?.[1] ?? 0);
  return Math.round(kb / 1024);
}

const pct = (sorted: number[], p: number) => sorted[Math.min(sorted.length - 1, Math.floor((sorted.length * p) / 100))]!;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const millis = (t: { seconds?: unknown; nanos?: number | null }) => Number(t.seconds) * 1000 + (t.nanos ?? 0) / 1e6;

async function pool<T>(items: T[], width: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: width }, async () => {
      while (next < items.length) await fn(items[next++]!);
    }),
  );
}

const scheduledStartTime = defineSearchAttributeKey('TemporalScheduledStartTime', SearchAttributeType.DATETIME);

/** Runs the whole workload against `target` with a worker and client of this process; prints each figure as measured. */
async function measure(target: Target, workflowBundle: WorkflowBundle): Promise<Figure[]> {
  const n = Number(process.env.ENGINE_BENCH_N ?? 2000);
  const idle = Number(process.env.ENGINE_BENCH_IDLE ?? 10_000);
  const idleRate = Number(process.env.ENGINE_BENCH_IDLE_RATE ?? 200);
  const updates = Number(process.env.ENGINE_BENCH_UPDATES ?? 500);
  const scheduleSeconds = Number(process.env.ENGINE_BENCH_SCHEDULE_S ?? 15);
  const figures: Figure[] = [];
  const figure = (name: string, unit: string, better: Figure['better'], value: number) => figures.push({ name, unit, better, value });
  const print = (key: string, text: string) => console.log(`${key} (${target.label}): ${text}`);
  // Loopback: gzip would only cost CPU on both sides.
  const connection = await NativeConnection.connect({ address: target.address, grpcCompression: { codec: 'none' } });
  const client = new Client({ connection });
  const worker = await TrustedWorkflowsWorker.create({
    connection,
    taskQueue,
    workflowBundle,
    activities,
    maxConcurrentWorkflowTaskExecutions: 100,
    maxConcurrentActivityTaskExecutions: 200,
    maxCachedWorkflows: Math.max(1000, idle + 100),
    workflowThreadPoolSize: DEFAULT_WORKFLOW_THREADS,
  });
  const running = worker.run();
  try {
    const { capabilities } = await connection.workflowService.getSystemInfo({});
    print('engine.server', `eager workflow start ${capabilities?.eagerWorkflowStart ? 'supported' : 'not supported'}`);
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
      const seconds = (performance.now() - t0) / 1000;
      if (!label.startsWith('warm')) print(label, `${count} workflows with one activity in ${seconds.toFixed(1)} s = ${Math.round(count / seconds)} workflows/s`);
      return count / seconds;
    };
    // Warm-up, unmeasured: both kinds of start under load, so the JIT has compiled what the runs use.
    await throughput(300, true, 'warm-eager');
    await throughput(300, false, 'warm-polled');
    const cpu0 = { server: target.serverCpuMs(), sdk: processCpuMs(process.pid) };
    figure('throughput, eager starts', 'workflows/s', 'higher', await throughput(n, true, 'engine.throughput'));
    const serverParts = Object.entries(target.serverCpuMs()).map(([name, ms]) => ({ name, ms: (ms - cpu0.server[name]!) / n }));
    const server = serverParts.reduce((total, part) => total + part.ms, 0);
    const sdk = (processCpuMs(process.pid) - cpu0.sdk) / n;
    const parts = serverParts.map((part) => `${part.name} ${part.ms.toFixed(2)} ms`).join(', ');
    print('engine.cpu', `per workflow server ${server.toFixed(2)} ms (${parts}), SDK worker + client ${sdk.toFixed(2)} ms (${os.cpus().length} cores)`);
    figure('server CPU per workflow', 'ms', 'lower', server);
    figure('throughput, polled starts', 'workflows/s', 'higher', await throughput(Math.ceil(n / 2), false, 'engine.throughput.polled'));

    const lat: number[] = [];
    for (let i = 0; i < 200; i++) lat.push(await one(`lat-${i}`));
    lat.sort((a, b) => a - b);
    print('engine.latency', `one at a time: p50 ${pct(lat, 50).toFixed(1)} ms, p99 ${pct(lat, 99).toFixed(1)} ms`);
    figure('latency p50', 'ms', 'lower', pct(lat, 50));
    figure('latency p99', 'ms', 'lower', pct(lat, 99));

    if (updates > 0) {
      const updated = async (label: string, workflows: number, perWorkflow: number) => {
        const handles = await Promise.all(
          Array.from({ length: workflows }, (_, i) => client.workflow.start('updatable', { taskQueue, workflowId: `bench-${label}-${i}` })),
        );
        const count = Math.ceil(updates / workflows) * workflows;
        const t0 = performance.now();
        await Promise.all(
          handles.map((h) =>
            pool(
              Array.from({ length: count / workflows }, (_, i) => `v${i}`),
              perWorkflow,
              async (value) => void (await h.executeUpdate('setValue', { args: [value] })),
            ),
          ),
        );
        const perSecond = count / ((performance.now() - t0) / 1000);
        await Promise.all(handles.map((h) => h.executeUpdate('finish')));
        const inFlight = Math.min(count, workflows * perWorkflow);
        print('engine.updates', `${count} updates on ${workflows} workflow(s), ${inFlight} in flight: ${Math.round(perSecond)} updates/s`);
        return perSecond;
      };
      // Temporal allows 2,000 updates per run, the closing one included.
      figure('updates, one at a time', 'updates/s', 'higher', await updated('updates-seq', Math.ceil(updates / 1999), 1));
      figure('updates, 100 in flight', 'updates/s', 'higher', await updated('updates-par', 20, 5));
    }

    if (scheduleSeconds > 0) {
      const prefix = `bench-scheduled-${randomUUID().slice(0, 8)}`;
      const schedule = await client.schedule.create({
        scheduleId: prefix,
        spec: { intervals: [{ every: '1s' }] },
        action: { type: 'startWorkflow', workflowType: 'greet', args: ['x'], taskQueue, workflowId: prefix },
      });
      await sleep(scheduleSeconds * 1000);
      await schedule.delete();
      await sleep(1000); // the last start reaches the visibility store
      const lags: number[] = [];
      let withAttribute = 0;
      for await (const wf of client.workflow.list({ query: `WorkflowId STARTS_WITH '${prefix}-'` })) {
        // Temporal names the workflow after its nominal time, to the second: a 1 s interval is on whole seconds.
        const attribute = wf.typedSearchAttributes.get(scheduledStartTime);
        if (attribute) withAttribute++;
        const nominal = attribute ?? new Date(wf.workflowId.slice(prefix.length + 1));
        lags.push(wf.startTime.getTime() - nominal.getTime());
      }
      if (lags.length === 0) throw new Error(`the schedule ${prefix} started no workflow that a list finds`);
      lags.sort((a, b) => a - b);
      print(
        'engine.schedule',
        `${lags.length} workflows started every second (${withAttribute} with TemporalScheduledStartTime): ` +
          `lag behind nominal time p50 ${pct(lags, 50).toFixed(0)} ms, max ${lags.at(-1)?.toFixed(0)} ms`,
      );
      figure('schedule firing lag p50', 'ms', 'lower', pct(lags, 50));
      figure('schedule firing lag max', 'ms', 'lower', lags.at(-1)!);
    }

    if (idle > 0) {
      // Every workflow still waits when the last one has started (and RSS is read).
      const sleepMs = 30_000 + (idle * 1000) / idleRate;
      const ids = Array.from({ length: idle }, (_, i) => `idle-${i}`);
      const s0 = performance.now();
      // Started at one pace on both servers, so their timers fall due at the same rate: the lag
      // compares like with like (unpaced, ours started them, and so fired them, 5 times as fast).
      await pool(
        ids.map((id, i) => ({ id, due: s0 + (i * 1000) / idleRate })),
        100,
        async ({ id, due }) => {
          await sleep(due - performance.now());
          await client.workflow.start('sleeper', { taskQueue, workflowId: id, args: [sleepMs] });
        },
      );
      const startSeconds = (performance.now() - s0) / 1000;
      await sleep(3000);
      const rss = rssMb(target.pid);
      print('engine.idle', `${idle} workflows waiting on timers (started in ${startSeconds.toFixed(1)} s): server RSS ${rss} MB`);
      figure(`idle RSS, ${idle} timers waiting`, 'MB', 'lower', rss);
      const handles = ids.map((id) => client.workflow.getHandle(id));
      await pool(handles, 200, async (h) => void (await h.result()));
      const lags: number[] = [];
      const sample = ids.filter((_, i) => i % Math.max(1, Math.floor(idle / 1000)) === 0);
      await pool(sample, 50, async (id) => {
        const history = await client.workflow.getHandle(id).fetchHistory();
        const started = history.events!.find((e) => e.timerStartedEventAttributes)!;
        const fired = history.events!.find((e) => e.timerFiredEventAttributes)!;
        lags.push(millis(fired.eventTime!) - (millis(started.eventTime!) + sleepMs));
      });
      lags.sort((a, b) => a - b);
      print('engine.timers', `firing lag over ${lags.length} sampled timers p50 ${pct(lags, 50).toFixed(0)} ms, p99 ${pct(lags, 99).toFixed(0)} ms; peak RSS ${rssMb(target.pid)} MB`);
      figure('timer lag p50', 'ms', 'lower', pct(lags, 50));
      figure('timer lag p99', 'ms', 'lower', pct(lags, 99));
    }
  } finally {
    worker.shutdown();
    await running;
    await connection.close();
  }
  return figures;
}

/** Runs the workload against `start()`'s server, closing it afterwards whatever happens. */
async function against(start: () => Promise<Target>, workflowBundle: WorkflowBundle): Promise<Figure[]> {
  const target = await start();
  try {
    return await measure(target, workflowBundle);
  } finally {
    await target.close();
  }
}

const shown = (f: Figure) => `${f.value.toFixed(f.value < 10 ? 1 : 0)} ${f.unit}`;

/** One line per figure: ours, theirs, ours / theirs and whether that ratio is good. */
function compare(ours: Figure[], theirs: Figure[]): void {
  const width = Math.max(...ours.map((f) => f.name.length));
  for (const f of ours) {
    const t = theirs.find((x) => x.name === f.name);
    if (!t) continue;
    const ratio = t.value === 0 ? '-' : (f.value / t.value).toFixed(2);
    const oursBetter = f.better === 'higher' ? f.value > t.value : f.value < t.value;
    const verdict = f.value === t.value ? 'even' : oursBetter ? 'ours better' : 'Temporal better';
    console.log(
      `engine.vs-temporal: ${f.name.padEnd(width)}  ours ${shown(f).padStart(12)}  Temporal ${shown(t).padStart(12)}  ours/theirs ${ratio.padStart(5)} (${f.better} is better: ${verdict})`,
    );
  }
}

export async function run(): Promise<void> {
  // The product's runtime (its thread count), as the embedded engine's users get it.
  installSdkRuntime(createLogger('silent'));
  const workflowBundle = await bundleWorkflowCode({ workflowsPath, logger: new DefaultLogger('ERROR') });
  const ours = await against(startOurs, workflowBundle);
  if (process.env.ENGINE_BENCH_TEMPORAL === '0') return;
  if (!temporalCli()) {
    console.log('engine.vs-temporal: skipped, the Temporal CLI (temporal) is not installed (see README, "Development")');
    return;
  }
  compare(ours, await against(startTheirs, workflowBundle));
}
