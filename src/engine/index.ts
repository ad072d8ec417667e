import * as grpc from '@grpc/grpc-js';
import pino from 'pino';
import { registerActivityHandlers } from './activities';
import { registerChildHandlers } from './children';
import { Engine } from './engine';
import type { EngineOptions, RunningEngine } from './interfaces';
import { Queries } from './queries';
import type { Lease } from '../store/db';
import { throttledWarn } from '../logger';
import { addHealthService } from './health';
import { addServices, handlers, type Handler } from './service';
import { toolingHandlers } from './tooling';
import type { Obj } from './proto';
import { isDatabaseUnavailable } from '../store/db';
import { registerWorkflowTaskHandlers, tasksOfOpenRun, timeoutsOfOpenRun } from './workflow-tasks';
import { registerWorkflowHandlers } from './workflows';
import { startSchedules } from './schedules';

export type { EngineOptions, RunningEngine } from './interfaces';

const ALREADY_RUNNING =
  'Another Syncline engine is already running on this database: only one may (its task queues live in its memory). Stop it, or point TEMPORAL_ADDRESS at it instead of starting another.';

/** Wait between attempts to take the lease again: doubling from half a second to 5 s. */
const RETAKE_FIRST_MS = 500;
const RETAKE_MAX_MS = 5_000;

/** The engine that holds the lease: its state was loaded after the lease was taken. */
interface Owner {
  engine: Engine;
  handlers: Record<string, Handler>;
  lease: Lease;
}

/**
 * Starts the embedded Temporal-compatible engine on `host:port` (port 0: a free one) over a migrated
 * database. Open runs found in the database carry on where they were.
 *
 * When the connection holding the lease dies (Postgres restarted, failed over, the backend
 * terminated), Postgres frees the lock at once, so another engine could take it: this one stops at
 * once (requests answer UNAVAILABLE, task polls wait), drops all it holds in memory, and takes the
 * lease again with back-off; then it loads the state anew (a write in flight when the connection
 * died may or may not have committed) and serves again on the same port.
 *
 * @example
 * const engine = await startEngine({ db, port: 0 });
 * const connection = await Connection.connect({ address: engine.address });
 */
export async function startEngine(options: EngineOptions): Promise<RunningEngine> {
  const log = options.logger ?? pino({ level: 'warn' });
  // Task queues and the run cache live in this process: a second engine on the database would
  // dispatch the same tasks twice and overwrite what the first one writes.
  const lease = await options.db.lease('engine');
  if (!lease) throw new Error(ALREADY_RUNNING);
  let owner: Owner | undefined;
  let closing = false;
  const waiters = new Set<() => void>();
  const wakeWaiters = () => {
    for (const wake of [...waiters]) wake();
  };
  // Channelz (grpc-js's per-call statistics, for a debugging service we do not serve) cost about 1% of
  // the process's CPU in bench/syncs.ts.
  const server = new grpc.Server({ 'grpc.max_receive_message_length': 128 * 1024 * 1024, 'grpc.max_send_message_length': 128 * 1024 * 1024, 'grpc.enable_channelz': 0 });
  const deferred = new DeferredResults(log, () => owner?.handlers);
  addServices(server, {
    log,
    current: () => owner?.handlers,
    defer: (method, request) => deferred.add(method, request),
    waitForOwner: (ms, signal) =>
      new Promise<void>((resolve) => {
        const done = () => {
          clearTimeout(timer);
          signal.removeEventListener('abort', done);
          waiters.delete(done);
          resolve();
        };
        const timer = setTimeout(done, ms);
        signal.addEventListener('abort', done, { once: true });
        waiters.add(done);
      }),
  });
  addHealthService(server, () => owner !== undefined);
  const stopServer = () =>
    new Promise<void>((resolve) => {
      const timer = setTimeout(() => {
        server.forceShutdown();
        resolve();
      }, 2000);
      server.tryShutdown(() => {
        clearTimeout(timer);
        resolve();
      });
    });
  const host = options.host ?? '127.0.0.1';
  let port: number;
  try {
    // Bound before anything starts, so a port in use leaves nothing running behind.
    port = await new Promise<number>((resolve, reject) =>
      server.bindAsync(`${host}:${options.port}`, grpc.ServerCredentials.createInsecure(), (err, bound) => (err ? reject(err) : resolve(bound))),
    );
    owner = await own(options, log, lease, `${host}:${port}`);
  } catch (err) {
    await stopServer();
    await lease.release();
    throw err;
  }

  const warnRetake = throttledWarn(log);
  let pause: { timer: NodeJS.Timeout; resolve(): void } | undefined;
  const sleep = (ms: number) => new Promise<void>((resolve) => (pause = { timer: setTimeout(resolve, ms), resolve }));
  /** Takes the lease again and loads the state; undefined when closed first. */
  const retake = async (): Promise<Owner | undefined> => {
    for (let delay = RETAKE_FIRST_MS; !closing; delay = Math.min(delay * 2, RETAKE_MAX_MS)) {
      try {
        const next = await options.db.lease('engine');
        if (next && closing) await next.release();
        else if (next) return await own(options, log, next, `${host}:${port}`).catch(async (err: unknown) => {
          await next.release();
          throw err;
        });
        else warnRetake(new Error(ALREADY_RUNNING), 'engine: another engine took the lease; waiting for it to end');
      } catch (err) {
        warnRetake(err, 'engine: waiting for the database to take the engine lease again');
      }
      await sleep(delay);
    }
    return undefined;
  };
  let closed!: () => void;
  const whenClosed = new Promise<void>((resolve) => (closed = resolve));
  const supervised = (async () => {
    while (owner) {
      const held = owner;
      await Promise.race([held.lease.lost, whenClosed]);
      if (closing) return;
      owner = undefined;
      log.error('engine: the connection holding the engine lease was lost; stopping until the lease is taken again');
      await held.engine.close();
      const next = await retake();
      if (next && closing) {
        await next.engine.close();
        await next.lease.release();
        return;
      }
      owner = next;
      if (owner) log.warn('engine: lease taken again; open runs reloaded from the database');
      wakeWaiters();
      void deferred.apply();
    }
  })();

  return {
    address: `${host}:${port}`,
    port,
    async close() {
      closing = true;
      closed();
      if (pause) {
        clearTimeout(pause.timer);
        pause.resolve();
      }
      const last = owner;
      owner = undefined;
      deferred.close();
      wakeWaiters();
      if (last) await last.engine.close();
      await stopServer();
      await supervised;
      await last?.lease.release();
    },
  };
}

/** An engine over a freshly taken lease: the open runs loaded from the database, timers and transfers running. */
async function own(options: EngineOptions, log: pino.Logger, lease: Lease, address: string): Promise<Owner> {
  const engine = new Engine(options.db, log, lease.session);
  registerWorkflowHandlers(engine);
  registerWorkflowTaskHandlers(engine);
  registerActivityHandlers(engine);
  registerChildHandlers(engine);
  const queries = new Queries(engine);
  try {
    await engine.recover(tasksOfOpenRun, timeoutsOfOpenRun);
    await startSchedules(engine);
  } catch (err) {
    await engine.close();
    throw err;
  }
  engine.startRetention(10 * 60_000);
  return { engine, handlers: { ...handlers(engine, queries), ...toolingHandlers(engine, address) }, lease };
}

/** Results kept at most this long, and this many: a run's task has timed out and been retried by then. */
const DEFERRED_MAX_AGE_MS = 10 * 60_000;
const DEFERRED_MAX = 10_000;
const DEFERRED_RETRY_MS = 1000;

/**
 * Task results of workers that arrived while the database was away (Dispatch.defer), applied in
 * arrival order once an engine can write them. Kept in memory only: if the process ends first,
 * the tasks time out and are retried, as when a worker dies before reporting.
 */
class DeferredResults {
  private items: { method: string; request: Obj; at: number }[] = [];
  private timer?: NodeJS.Timeout;
  private applying = false;

  constructor(
    private readonly log: pino.Logger,
    private readonly current: () => Record<string, Handler> | undefined,
  ) {}

  add(method: string, request: Obj): void {
    if (this.items.length >= DEFERRED_MAX) this.items.shift();
    this.items.push({ method, request, at: Date.now() });
    this.later();
  }

  async apply(): Promise<void> {
    const handlers = this.current();
    if (this.applying || !handlers) return this.later();
    this.applying = true;
    try {
      for (const item of this.items.splice(0)) {
        if (Date.now() - item.at > DEFERRED_MAX_AGE_MS) continue;
        try {
          await handlers[item.method]!(item.request, { signal: new AbortController().signal, waitMs: 0 });
        } catch (err) {
          if (isDatabaseUnavailable(err)) this.items.push(item);
          else this.log.warn({ err, method: item.method }, 'engine: a task result kept during the outage no longer applies');
        }
      }
    } finally {
      this.applying = false;
    }
    if (this.items.length) this.later();
  }

  close(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    this.items = [];
  }

  private later(): void {
    if (this.timer || !this.items.length) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      void this.apply();
    }, DEFERRED_RETRY_MS);
  }
}
