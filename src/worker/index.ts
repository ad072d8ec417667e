import { createHash } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import v8 from 'node:v8';
import { Client } from '@temporalio/client';
import {
  bundleWorkflowCode,
  NativeConnection,
  Runtime,
  Worker,
  type CompiledWorkerOptions,
  type LogLevel,
  type LogMetadata,
  type Logger as SdkLogger,
  type WorkflowBundleWithSourceMap,
} from '@temporalio/worker';
import { globalHandlers as sdkWorkflowHooks } from '@temporalio/worker/lib/workflow/vm-shared';
import type { Logger } from 'pino';
import { createActivities, DEFAULT_RUN_LIMITS, queuedRuns, type RunLimits } from '../activities';
import { startEngine, type RunningEngine } from '../engine';
import type { Store } from '../store';
import { TASK_QUEUE } from '../workflows/types';
import { Orchestrator } from './orchestrator';

export { Orchestrator, type SyncSelector, type SyncStatus, type SyncTarget } from './orchestrator';

let bundle: Promise<WorkflowBundleWithSourceMap> | undefined;

/**
 * The workflow bundle, built once per process and shared by every worker. Webpack takes seconds,
 * so the bundle is also kept in the OS temp folder under a hash of the workflow sources and the
 * SDK version: later starts with the same code reuse it.
 */
export function workflowBundle(): Promise<WorkflowBundleWithSourceMap> {
  bundle ??= (async () => {
    const workflowsPath = require.resolve('../workflows');
    const dir = path.dirname(workflowsPath);
    const hash = createHash('sha256').update(require('@temporalio/workflow/package.json').version as string);
    for (const file of fs.readdirSync(dir).sort()) hash.update(file).update(fs.readFileSync(path.join(dir, file)));
    const cached = path.join(os.tmpdir(), `syncline-workflows-${hash.digest('hex').slice(0, 16)}.json`);
    try {
      return JSON.parse(fs.readFileSync(cached, 'utf8')) as WorkflowBundleWithSourceMap;
    } catch {
      // not built yet
    }
    const built = await bundleWorkflowCode({ workflowsPath, logger: { trace() {}, debug() {}, info() {}, warn() {}, error() {}, log() {} } });
    const partial = `${cached}.${process.pid}`;
    fs.writeFileSync(partial, JSON.stringify({ code: built.code, sourceMap: built.sourceMap }));
    fs.renameSync(partial, cached);
    return built;
  })();
  const current = bundle;
  current.catch(() => (bundle = undefined));
  return current;
}

export interface SyncWorkerOptions {
  connection: NativeConnection;
  store: Store;
  /** Serves `nango.triggerAction` inside scripts. */
  orchestrator?: Orchestrator;
  namespace?: string;
  taskQueue?: string;
  identity?: string;
  /**
   * Threads running workflow code (default 2). The SDK starts a watchdog thread for every call into
   * a workflow sandbox and waits for it to be scheduled; on a busy machine a second workflow thread
   * keeps activations flowing meanwhile: about +10% workflow throughput on 2 cores and -40% p99 sync
   * lag with 1,000 syncs, for about 50 MB (a V8 isolate of its own).
   */
  workflowThreads?: number;
  /** Activities run at once (default WORKER_ACTIVITY_SLOTS). */
  activitySlots?: number;
  /** Workflows kept in memory between their tasks (default WORKFLOW_CACHE_SIZE). */
  cachedWorkflows?: number;
  /** Caps on the runs of one environment and one connection at once (default DEFAULT_RUN_LIMITS). */
  runLimits?: RunLimits;
}

/** Activities a worker runs at once: sync runs, action attempts, webhook deliveries. */
export const WORKER_ACTIVITY_SLOTS = 200;

/**
 * Workflows a worker keeps in memory between their tasks. A workflow not kept is replayed from its
 * whole history at its next task: for a sync, up to 200 runs of events. Every sync of every connection
 * is a workflow, and they are taken in turn, so a cache smaller than their number misses on every task
 * (least recently used goes first): the SDK's default, sized from the heap (about 2,300 with a 4 GB
 * heap), made each run of 3,000 syncs a replay.
 */
export const WORKFLOW_CACHE_SIZE = 10_000;

/**
 * Threads running workflow code; 0 (the default): none, workflow code runs on this process's main
 * thread. The SDK otherwise runs it on worker threads, each with a heap, a JIT and an event loop of
 * its own, and every activation goes there and back as messages (two activations a sync run). There
 * the SDK also keeps a stack trace for every promise the workflow creates, for the `__stack_trace`
 * query (the Web UI's "Stack Trace" tab): a third of the thread's CPU. On the main thread that hook
 * would see every promise of the process, so it is removed: the query answers with an empty trace.
 * Side by side (500 + 500 connections each every minute, twice) a run cost 2.4-2.5 ms less CPU on
 * the main thread than on one worker thread (26.3 against 28.7 and 28.7 against 31.2 ms), with 90-100
 * MB less memory. An activation then holds the main thread while it runs (about a millisecond; a
 * replay from history, rare with WORKFLOW_CACHE_SIZE, longer). With 1, 2... threads (and their stack
 * traces) the SDK's threaded executor is used; of those, one cost about 3 ms a run less than two.
 */
export const DEFAULT_WORKFLOW_THREADS = 0;

/**
 * The SDK's worker, running workflow code without a deadline per call into its sandbox, and with no
 * workflow threads (workflowThreadPoolSize 0, see DEFAULT_WORKFLOW_THREADS) on the main thread.
 *
 * The deadline: the SDK enforces its `isolateExecutionTimeout` (5 s) through Node's `vm` timeout,
 * which starts a watchdog thread (an event loop of its own) and joins it on every call: four to six
 * calls an activation, two activations a sync run. That cost 2.0-2.8 ms of CPU a run (34.1-34.4
 * against 36.4-36.9 ms, 500 + 500 connections side by side) and most of the p99 lag on a busy machine
 * (510-527 against 778-952 ms), each activation waiting for its watchdogs to be scheduled. The deadline
 * guards against a workflow that never yields; every workflow this worker runs is Syncline's own
 * (users' scripts run in activities, in script processes with limits of their own), and their loops
 * always await.
 *
 * The main thread: the SDK's in-process executor (its `debugMode` one; nothing else of debug mode
 * comes with it here), after which the process-wide hooks it installs for stack traces (a promise
 * hook, Error.prepareStackTrace) are removed again.
 */
export class TrustedWorkflowsWorker extends Worker {
  protected static override async createWorkflowCreator(bundle: Parameters<typeof Worker.createWorkflowCreator>[0], options: CompiledWorkerOptions, logger: SdkLogger) {
    // Undefined is what `vm` reads as "no timeout"; the SDK hands the value through to it untouched.
    const trusted = { ...options, isolateExecutionTimeoutMs: undefined as unknown as number };
    if (options.workflowThreadPoolSize > 0) return super.createWorkflowCreator(bundle, trusted, logger);
    const creator = await super.createWorkflowCreator(bundle, { ...trusted, debugMode: true }, logger);
    sdkWorkflowHooks.uninstall();
    return creator;
  }
}

/**
 * A worker running the sync and action workflows and their activities.
 *
 * @example
 * const worker = await createSyncWorker({ connection: await NativeConnection.connect({ address }), store, orchestrator });
 * await worker.run();
 */
export async function createSyncWorker(options: SyncWorkerOptions): Promise<Worker> {
  const orchestrator = options.orchestrator;
  const activitySlots = options.activitySlots ?? WORKER_ACTIVITY_SLOTS;
  const runLimits = options.runLimits ?? DEFAULT_RUN_LIMITS;
  return TrustedWorkflowsWorker.create({
    connection: options.connection,
    namespace: options.namespace ?? 'default',
    taskQueue: options.taskQueue ?? TASK_QUEUE,
    workflowBundle: await workflowBundle(),
    activities: createActivities({ store: options.store, actions: orchestrator && ((env) => orchestrator.scriptTrigger(env)) }, { queued: queuedRuns(activitySlots, runLimits.perEnvironment), ...runLimits }),
    maxConcurrentActivityTaskExecutions: activitySlots,
    workflowThreadPoolSize: options.workflowThreads ?? DEFAULT_WORKFLOW_THREADS,
    maxCachedWorkflows: options.cachedWorkflows ?? WORKFLOW_CACHE_SIZE,
    // Heartbeats bring back cancellation (a terminated workflow's running script is stopped): at most 5 s late.
    maxHeartbeatThrottleInterval: '5s',
    shutdownGraceTime: '5s',
    ...(options.identity ? { identity: options.identity } : {}),
  });
}

export interface OrchestrationOptions {
  store: Store;
  logger: Logger;
  /** A Temporal frontend; absent: the embedded engine is started on `enginePort`. */
  temporalAddress?: string;
  enginePort?: number;
  /** Address the embedded engine listens on (default 127.0.0.1). */
  engineHost?: string;
  /** When `enginePort` is taken, use a free port instead of failing (the port was not chosen explicitly). */
  enginePortFallback?: boolean;
  /** Run a worker in this process (default true). */
  worker?: boolean;
  /** Heartbeat timeout of sync runs and action attempts (tests). */
  heartbeatTimeoutMs?: number;
  /** How long an action run is RUNNING before its workflow is asked whether it ended (tests). */
  unfinishedActionCheckMs?: number;
  /** Runs per sync workflow execution before continue-as-new (tests). */
  runsPerExecution?: number;
  /** How often the outboxes are looked at when nothing announces new rows (tests; default LIFECYCLE_POLL_MS). */
  lifecyclePollMs?: number;
  /** Threads running workflow code (SyncWorkerOptions.workflowThreads). */
  workflowThreads?: number;
  /** The worker's activity slots, workflow cache and per-environment / per-connection caps (SyncWorkerOptions). */
  activitySlots?: number;
  cachedWorkflows?: number;
  runLimits?: RunLimits;
}

export interface Orchestration {
  orchestrator: Orchestrator;
  /** host:port of the Temporal frontend in use. */
  address: string;
  engine?: RunningEngine;
  worker?: Worker;
  close(): Promise<void>;
}

/** Old generation growth between full collections: each may grow to twice what the last one left alive. */
export const HEAP_GROWING_PERCENT = 100;

/**
 * V8's collector, tuned for a process that orchestrates (called before its heaps grow):
 * - No memory reducer, in the isolates this process starts from now on: the SDK's workflow threads,
 *   when SYNCLINE_WORKFLOW_THREADS asks for any (V8 reads the flag when it sets up a heap; the main
 *   isolate, where workflow code runs by default, keeps its own). It starts full
 *   collections whenever an isolate's allocation rate drops, and workflow threads holding hundreds
 *   of cached workflows each keep dropping to a low rate between activations: with 1,000 syncs
 *   waiting it took about 25 of the 45 ms of CPU a second the process spent doing nothing. Their
 *   heaps still shrink at the collections their own allocations bring.
 * - A fixed growing factor of the old generation (HEAP_GROWING_PERCENT), in every isolate, the main
 *   one included (V8 reads this flag at every full collection). V8 picks one from how fast its
 *   collector is against the main thread, and its marking runs mostly on helper threads, so it
 *   judged full collections cheap: with 1,000 syncs it let the heap grow by a fifth (102 to 122 MB)
 *   between them, one every 5 s, each marking the whole heap again. Growing to twice the live heap,
 *   a run cost about 1.3 ms less CPU (28.5 against 29.9 ms, 500 connections in two processes at
 *   once, and 28.3 against 29.6 with the sides swapped) for about 70 MB more memory.
 */
export function tuneGarbageCollection(): void {
  v8.setFlagsFromString('--no-memory-reducer');
  v8.setFlagsFromString(`--heap-growing-percent=${HEAP_GROWING_PERCENT}`);
}

/**
 * Everything a process needs to orchestrate: the embedded engine (unless `temporalAddress`), a
 * client, a worker, and the drain of the lifecycle and auth outboxes.
 */
export async function startOrchestration(options: OrchestrationOptions): Promise<Orchestration> {
  tuneGarbageCollection();
  const closers: Array<() => Promise<unknown>> = [];
  const close = async () => {
    for (const fn of closers.reverse()) await fn().catch((err: unknown) => options.logger.warn({ err }, 'orchestration: close failed'));
  };
  try {
    let engine: RunningEngine | undefined;
    let address = options.temporalAddress;
    if (!address) {
      const start = (port: number) => startEngine({ db: options.store.db, host: options.engineHost, port, logger: options.logger.child({ component: 'engine' }) });
      try {
        engine = await start(options.enginePort ?? 0);
      } catch (err) {
        if (!options.enginePortFallback || !/EADDRINUSE/.test(String((err as Error).message))) throw err;
        options.logger.warn({ port: options.enginePort }, 'the embedded engine port is taken (a local Temporal server?); using a free port instead');
        engine = await start(0);
      }
      closers.push(() => engine!.close());
      // Listening on every interface: this process reaches it on loopback.
      address = options.engineHost === '0.0.0.0' ? `127.0.0.1:${engine.port}` : engine.address;
    }
    // One connection, the SDK's native one, for the client and the worker: starts can then ask to run
    // eagerly on the worker of this process (one round trip less), and nothing goes through grpc-js.
    // Loopback to the embedded engine: gzip only costs CPU (it was the engine's largest item).
    installSdkRuntime(options.logger);
    // A cluster may not be ready yet (starting, its namespace not created yet): wait for it. The
    // embedded engine is started above, so a failure there is final.
    const ready = <T>(what: string, attempt: () => Promise<T>) => (engine ? attempt() : retryUntilReady(options.logger, what, attempt));
    const connection = await ready(`the Temporal server at ${address}`, () => NativeConnection.connect({ address: address!, ...(engine ? { grpcCompression: { codec: 'none' as const } } : {}) }));
    closers.push(() => connection.close());
    const orchestrator = new Orchestrator({ store: options.store, client: new Client({ connection, workflow: { queryRejectCondition: 'NOT_OPEN' } }), logger: options.logger, heartbeatTimeoutMs: options.heartbeatTimeoutMs, runsPerExecution: options.runsPerExecution, unfinishedActionCheckMs: options.unfinishedActionCheckMs });
    await ready("the namespace and Syncline's search attributes", () => orchestrator.registerSearchAttributes());
    let worker: Worker | undefined;
    if (options.worker !== false) {
      const w = await createSyncWorker({ connection, store: options.store, orchestrator, workflowThreads: options.workflowThreads, activitySlots: options.activitySlots, cachedWorkflows: options.cachedWorkflows, runLimits: options.runLimits });
      const running = w.run();
      running.catch((err: unknown) => options.logger.error({ err }, 'the Temporal worker stopped'));
      closers.push(async () => {
        if (w.getState() === 'RUNNING') w.shutdown();
        await running.catch(() => undefined);
      });
      worker = w;
    }
    // The outboxes: connection lifecycle (syncs started and stopped) and auth events (`auth` webhooks),
    // whichever process wrote them.
    orchestrator.startLifecycle(options.lifecyclePollMs);
    closers.push(() => orchestrator.stopLifecycle());
    const migration = orchestrator.migrateLongWorkflowIds().then(
      (moved) => moved > 0 && options.logger.info({ moved }, 'sync workflows with over-long ids moved to shortened ids'),
      (err: unknown) => options.logger.warn({ err }, 'moving sync workflows with over-long ids failed; retried at the next start'),
    );
    closers.push(() => migration);
    return { orchestrator, address, engine, worker, close };
  } catch (err) {
    await close();
    throw err;
  }
}

/**
 * `attempt` until it succeeds, after 0.5 s, then doubling to at most 15 s between attempts; each
 * failure is logged with what is awaited and why.
 */
async function retryUntilReady<T>(logger: Logger, what: string, attempt: () => Promise<T>): Promise<T> {
  for (let failures = 0; ; failures++) {
    try {
      return await attempt();
    } catch (err) {
      const retryInMs = Math.min(15_000, 500 * 2 ** failures);
      logger.warn({ reason: (err as Error).message, retryInMs }, `waiting for ${what}`);
      await new Promise((resolve) => setTimeout(resolve, retryInMs));
    }
  }
}

let runtimeInstalled = false;

/**
 * Threads of the SDK's native runtime (tokio's workers: its gRPC calls, pollers and task handling),
 * unless TOKIO_WORKER_THREADS says otherwise. Tokio starts one per core; on two cores the second
 * mostly passed work back and forth (36 of a run's 116 context switches were tokio's): one cost
 * 0.9-1.3 ms less CPU a run (28.5-29.8 against 29.8-30.7 ms, 500 + 500 connections side by side).
 */
export const SDK_RUNTIME_THREADS = 1;

/**
 * Installs the Temporal SDK's runtime for this process (once): its own logs (worker state changes,
 * retries) go to our logger at warn and above, on SDK_RUNTIME_THREADS threads.
 */
export function installSdkRuntime(logger: Logger): void {
  if (runtimeInstalled) return;
  runtimeInstalled = true;
  // Read by tokio when the runtime is built, below.
  process.env.TOKIO_WORKER_THREADS ??= String(SDK_RUNTIME_THREADS);
  const levels: Record<LogLevel, number> = { TRACE: 0, DEBUG: 1, INFO: 2, WARN: 3, ERROR: 4 };
  const log = (level: LogLevel, message: string, meta?: LogMetadata) => {
    if (levels[level] < levels.WARN) return;
    (level === 'ERROR' ? logger.error : logger.warn).call(logger, { ...meta, component: 'temporal' }, message);
  };
  try {
    Runtime.install({
      logger: {
        log,
        trace: (m, meta) => log('TRACE', m, meta),
        debug: (m, meta) => log('DEBUG', m, meta),
        info: (m, meta) => log('INFO', m, meta),
        warn: (m, meta) => log('WARN', m, meta),
        error: (m, meta) => log('ERROR', m, meta),
      },
    });
  } catch {
    // Already installed (a test harness, an embedding application): keep theirs.
  }
}
