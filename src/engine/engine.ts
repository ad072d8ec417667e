import type { Logger } from 'pino';
import { throttledWarn } from '../logger';
import { isDatabaseUnavailable, type Db, type Queryable, type Session } from '../store/db';
import { workflowNotFound } from './errors';
import { EventCache } from './event-cache';
import { Status, type RunState } from './interfaces';
import { Matching, type Poller, type QueueKind, type TaskRef } from './matching';
import type { Obj } from './proto';
import * as sql from './store';
import { TimerHeap } from './timer-heap';
import { Transition, type TimerWrite } from './transition';

/** Serialises work per key (run id, workflow id) inside this process. */
class KeyedLock {
  private readonly tails = new Map<string, Promise<unknown>>();

  run<T>(key: string, fn: () => Promise<T>): Promise<T> {
    const prev = this.tails.get(key) ?? Promise.resolve();
    const next = prev.then(fn, fn);
    const tail = next.catch(() => undefined);
    this.tails.set(key, tail);
    void tail.then(() => {
      if (this.tails.get(key) === tail) this.tails.delete(key);
    });
    return next;
  }
}

/**
 * Group commit: transitions of different runs that are ready at the same moment are written in
 * one transaction (each one whole), so one WAL flush serves many. A failing batch is retried one
 * transition at a time, so only the faulty one fails.
 */
class BatchWriter {
  private queue: { t: Transition; resolve(): void; reject(err: unknown): void }[] = [];
  private flushing = false;

  /** `onTimers` gets the timers each commit inserted, with their ids. */
  constructor(
    private readonly db: Session,
    private readonly onTimers: (rows: sql.TimerRow[]) => void,
  ) {}

  write(t: Transition): Promise<void> {
    if (!t.dirty) return Promise.resolve();
    return new Promise((resolve, reject) => {
      this.queue.push({ t, resolve, reject });
      if (!this.flushing) void this.flush();
    });
  }

  private async flush(): Promise<void> {
    this.flushing = true;
    try {
      while (this.queue.length) {
        const batch = this.queue.splice(0, 256);
        try {
          await this.commit(batch.map((x) => x.t));
          for (const x of batch) x.resolve();
        } catch (err) {
          if (batch.length === 1) {
            batch[0].reject(err);
            continue;
          }
          for (const x of batch) await this.commit([x.t]).then(x.resolve, x.reject);
        }
      }
    } finally {
      this.flushing = false;
    }
  }

  /**
   * Most batches are one statement (one round trip). Those inserting transfers (their ids are
   * needed), too large for one statement, or whose new runs take a workflow id another run of the
   * batch frees (the order of a statement's parts is not defined) use a transaction instead.
   */
  private async commit(ts: Transition[]): Promise<void> {
    const relaxed = ts.every((t) => t.relaxed);
    if (!ts.some((t) => t.needsTransaction)) {
      const rows = emptyBatch();
      for (const t of ts) await t.commit(this.db, rows);
      const timers = reusesWorkflowId(rows) ? undefined : await sql.writeBatchStatement(this.db, rows, relaxed);
      if (timers) return this.onTimers(timers);
    }
    const timers = await this.db.transaction(async (tx) => {
      if (relaxed) await tx.query('SET LOCAL synchronous_commit TO OFF');
      const rows = emptyBatch();
      for (const t of ts) await t.commit(tx, rows);
      return sql.writeBatchInTransaction(tx, rows);
    });
    this.onTimers(timers);
  }
}

const emptyBatch = (): sql.BatchWrite => ({ updates: [], inserts: [], events: [], timers: [], deletedTimers: [], closedRuns: [] });

function reusesWorkflowId(rows: sql.BatchWrite): boolean {
  if (!rows.inserts.length || !rows.updates.length) return false;
  const updated = new Set(rows.updates.map((w) => `${w.state.namespace}:${w.state.workflowId}`));
  return rows.inserts.some((w) => updated.has(`${w.state.namespace}:${w.state.workflowId}`));
}

export type TimerHandler = (t: Transition, timer: sql.TimerRow) => void | Promise<void>;
export type TransferHandler = (engine: Engine, transfer: sql.TransferRow) => Promise<void>;

/** Memory for recent runs' history and how many closed run states to keep. */
const EVENT_CACHE_BYTES = 16 * 1024 * 1024;
const CLOSED_RUNS_KEPT = 1000;

/** A stored timer whose firing failed is tried again this much later. */
const TIMER_RETRY_MS = 5000;
/** Stored timers being fired at once, at most (a group commit writes up to 256 transitions). */
const TIMERS_FIRING_MAX = 256;

/** Sticky queues not polled for this long are treated as gone. */
const STICKY_ALIVE_MS = 10_000;

/**
 * The engine's core: run state cache, per-run transitions (one transaction each), task dispatch,
 * durable timers and transfers. The RPC semantics live in the modules that call `mutate`.
 */
export class Engine {
  readonly matching = new Matching();
  /**
   * Open runs' state; the engine is its database's only writer, so this is the truth. A committed
   * state is never changed in place (a transition works on a copy), so readers may keep it.
   */
  private readonly cache = new Map<string, RunState>();
  /**
   * Open runs' state as last written (JSON): a transition starts from a parse of it, cheaper than
   * cloning the cached object (the state must be copied: a failed transition leaves no trace).
   */
  private readonly written = new Map<string, string>();
  /** The newest open run of each workflow id (namespace + id), for requests without a run id. */
  private readonly openByWorkflowId = new Map<string, string>();
  /** Recently closed runs' state, so result() and late requests need not read the row back. */
  private readonly closed = new Map<string, RunState>();
  /** Recent runs' history (see EventCache). */
  readonly events = new EventCache(EVENT_CACHE_BYTES);
  private readonly locks = new KeyedLock();
  private readonly historyWaiters = new Map<string, Set<() => void>>();
  private readonly timerHandlers = new Map<string, TimerHandler>();
  private readonly transferHandlers = new Map<string, TransferHandler>();
  /** Called after a run's transition commits (queries use it). */
  readonly onCommitted: ((s: RunState, t: Transition) => void)[] = [];
  /** Called when the engine closes (the scheduler stops its timer). */
  readonly onClose: (() => void)[] = [];
  /**
   * Every stored timer not fired yet, by due time: loaded at start-up, then added as commits insert
   * them, so each fires at its time without a query (the table keeps them across restarts).
   */
  private readonly timers = new TimerHeap();
  private timerWake?: NodeJS.Timeout;
  private timerWakeAt = Infinity;
  private readonly timersInFlight = new Set<number>();
  /** Armed attempt timeouts (Transition.attemptTimer) of each open run. */
  private readonly attemptTimers = new Map<string, Set<NodeJS.Timeout>>();
  private readonly transfersInFlight = new Set<number>();
  private closing = false;
  private readonly background = new Set<Promise<unknown>>();
  private readonly writer: BatchWriter;

  /**
   * `db` serves reads; `writes` (the connection holding the engine's lease) every write of run state,
   * timers, transfers and schedules, so none can commit once the lease is lost.
   */
  constructor(
    readonly db: Db,
    readonly log: Logger,
    readonly writes: Session = db,
  ) {
    this.writer = new BatchWriter(writes, (rows) => this.addTimers(rows));
    this.warnThrottled = throttledWarn(log);
  }

  private readonly warnThrottled: (err: unknown, message: string) => void;

  /** Logs a failure of background work: one throttled line while the database is away, else the error. */
  private failed(err: unknown, message: string, fields: object = {}): void {
    if (isDatabaseUnavailable(err)) this.warnThrottled(err, `${message} (database unavailable)`);
    else this.log.error({ err, ...fields }, message);
  }

  onTimer(kind: string, handler: TimerHandler): void {
    this.timerHandlers.set(kind, handler);
  }

  onTransfer(kind: string, handler: TransferHandler): void {
    this.transferHandlers.set(kind, handler);
  }

  stickyAlive = (namespace: string, queue: string): boolean => this.matching.stickyAlive(namespace, queue, STICKY_ALIVE_MS);

  /**
   * Long-polls a task queue until `start` turns a task into a response (stale tasks give
   * undefined and are skipped); `{}` ("no task") when the wait ends or the caller goes away.
   */
  async poll(namespace: string, kind: QueueKind, queue: string, worker: Pick<Poller, 'identity' | 'buildId'>, signal: AbortSignal, waitMs: number, start: (ref: TaskRef) => Promise<Obj | undefined>): Promise<Obj> {
    const until = Date.now() + waitMs;
    for (;;) {
      const ref = await this.matching.take(namespace, kind, queue, Math.max(0, until - Date.now()), signal, worker.identity, worker.buildId);
      if (!ref) return {};
      if (signal.aborted) {
        this.matching.putBack(namespace, kind, queue, ref);
        return {};
      }
      const task = await start(ref).catch((err: { code?: number }) => {
        if (err.code === 5) return undefined;
        throw err;
      });
      if (task) return task;
    }
  }

  /** Serialises `fn` with every other lock holder of `key` (e.g. starts of one workflow id). */
  withLock<T>(key: string, fn: () => Promise<T>): Promise<T> {
    return this.locks.run(key, fn);
  }

  /** The state of a run, from the cache or the database (a copy the caller may not change). */
  async peek(runId: string, q: Queryable = this.db): Promise<RunState | undefined> {
    const cached = this.cached(runId);
    if (cached) return cached;
    const row = await sql.getRun(q, runId);
    return row?.state;
  }

  private cached(runId: string): RunState | undefined {
    return this.cache.get(runId) ?? this.closed.get(runId);
  }

  /** The run a request addresses when this process knows it without a read: by run id, else the open run of the workflow id. */
  known(namespace: string, workflowId: string, runId?: string): RunState | undefined {
    const s = this.cached(runId || (this.openByWorkflowId.get(`${namespace}\0${workflowId}`) ?? ''));
    return s && s.namespace === namespace && s.workflowId === workflowId ? s : undefined;
  }

  /** Events fromId.. of a run (at most `limit`), from memory when cached. */
  async readEvents(runId: string, fromId: number, limit: number): Promise<{ event_id: number; data: Uint8Array }[]> {
    return this.events.read(runId, fromId, limit) ?? sql.readEvents(this.db, runId, fromId, limit);
  }

  async readEvent(runId: string, eventId: number): Promise<Uint8Array | undefined> {
    return (await this.readEvents(runId, eventId, 1)).find((e) => e.event_id === eventId)?.data;
  }

  /**
   * Runs one transition of a run: `fn` changes a copy of the state through `t`; everything it
   * wrote is committed in one transaction, then tasks are dispatched and waiters woken.
   * Throws NOT_FOUND when the run does not exist.
   */
  mutate<R>(runId: string, fn: (t: Transition) => R | Promise<R>): Promise<R> {
    return this.locks.run(`run:${runId}`, async () => {
      const json = this.written.get(runId);
      const cached = json === undefined && this.cached(runId);
      const state: RunState | undefined = json !== undefined ? JSON.parse(json) : cached ? structuredClone(cached) : (await sql.getRun(this.db, runId))?.state;
      if (!state) throw workflowNotFound();
      const t = this.newTransition(state, Date.now(), this.db);
      const result = await fn(t);
      await this.commit(t);
      return result;
    });
  }

  /** Commits new runs (start, signal-with-start), then applies their effects. */
  async commitNew(t: Transition): Promise<void> {
    await this.commit(t);
  }

  private async commit(t: Transition): Promise<void> {
    this.matchWaitingWorker(t);
    try {
      await this.writer.write(t);
    } catch (err) {
      if (t.handoff) this.matching.release(t.s.namespace, 'workflow', t.handoff.queue, t.handoff.poller);
      throw err;
    }
    this.applyCommitted(t);
  }

  /**
   * When a transition leaves a new workflow task and a worker is waiting on its queue, the task is
   * started for that worker in the same write, and handed to it after the commit: one transition
   * (and write) less than dispatching it and starting it when the worker takes it.
   */
  private matchWaitingWorker(t: Transition): void {
    const w = t.s.wft;
    if (!t.open || !w || w.startedId) return;
    const d = t.dispatch.find((x) => x.task.kind === 'workflow' && x.task.scheduledId === w.scheduledId);
    if (!d) return;
    const poller = this.matching.claim(t.s.namespace, 'workflow', d.queue);
    if (!poller) return;
    t.startWft(d.queue, poller.identity, poller.buildId);
    t.handoff = { queue: d.queue, poller, task: { kind: 'workflow', runId: t.s.runId, scheduledId: w.scheduledId, started: true } };
  }

  newTransition(state: RunState, now: number, reads: Queryable = this.db): Transition {
    return new Transition(state, now, reads, (queue) => this.stickyAlive(state.namespace, queue));
  }

  applyCommitted(t: Transition): void {
    for (const timer of t.attemptTimers) this.armAttemptTimer(t.s.runId, timer);
    if (!t.dirty) return;
    const s = t.s;
    this.remember(s, t.json);
    this.events.append(s.runId, t.events);
    for (const d of t.dispatch) this.matching.add(s.namespace, d.queueKind, d.queue, d.task);
    if (t.handoff) this.matching.handoff(s.namespace, 'workflow', t.handoff.queue, t.handoff.poller, t.handoff.task);
    if (t.events.length) this.notifyHistory(s.runId);
    for (const fn of this.onCommitted) fn(s, t);
    for (const fn of t.afterCommit) fn();
    for (const id of t.transferIds) this.runTransferById(id);
    for (const sp of t.spawned) this.applyCommitted(sp);
  }

  private remember(s: RunState, json?: string): void {
    const key = `${s.namespace}\0${s.workflowId}`;
    if (s.status === Status.Running) {
      this.cache.set(s.runId, s);
      if (json === undefined) this.written.delete(s.runId);
      else this.written.set(s.runId, json);
      this.openByWorkflowId.set(key, s.runId);
      return;
    }
    this.cache.delete(s.runId);
    this.written.delete(s.runId);
    this.disarmAttemptTimers(s.runId);
    if (this.openByWorkflowId.get(key) === s.runId) this.openByWorkflowId.delete(key);
    this.closed.delete(s.runId);
    this.closed.set(s.runId, s);
    if (this.closed.size > CLOSED_RUNS_KEPT) this.closed.delete(this.closed.keys().next().value!);
  }

  /** Waits until the run has events beyond `afterEventId` or is closed, or `timeoutMs` passes. */
  waitForHistory(runId: string, signal: AbortSignal, timeoutMs: number): Promise<void> {
    return new Promise((resolve) => {
      let set = this.historyWaiters.get(runId);
      if (!set) {
        set = new Set();
        this.historyWaiters.set(runId, set);
      }
      const done = () => {
        clearTimeout(timer);
        signal.removeEventListener('abort', done);
        set!.delete(done);
        if (!set!.size) this.historyWaiters.delete(runId);
        resolve();
      };
      const timer = setTimeout(done, timeoutMs);
      signal.addEventListener('abort', done, { once: true });
      set.add(done);
    });
  }

  private notifyHistory(runId: string): void {
    const set = this.historyWaiters.get(runId);
    if (set) for (const fn of [...set]) fn();
  }

  // ---- start-up and shutdown ----

  /** Refills task queues from the open runs, then starts the timer and transfer loops. */
  async recover(
    dispatchOpen: (s: RunState) => { queueKind: 'workflow' | 'activity'; queue: string; task: TaskRef }[],
    timeoutsOfOpen: (s: RunState) => TimerWrite[],
  ): Promise<void> {
    const states = await sql.openRunStates(this.db);
    for (const s of states) {
      this.remember(s);
      for (const d of dispatchOpen(s)) this.matching.add(s.namespace, d.queueKind, d.queue, d.task);
      for (const timer of timeoutsOfOpen(s)) this.armAttemptTimer(s.runId, timer);
    }
    // Before anything commits: timers inserted from now on are added as they are written.
    this.addTimers(await sql.allTimers(this.db));
    for (const tr of await sql.pendingTransfers(this.db)) this.runTransfer(tr);
  }

  /** Deletes runs closed longer ago than their namespace's retention, now and every `everyMs`. */
  startRetention(everyMs: number): void {
    const sweep = async () => {
      let deleted: number;
      do {
        deleted = await sql.deleteExpiredRuns(this.writes, Date.now(), 500);
        if (deleted) this.forgetClosed();
      } while (!this.closing && deleted === 500);
    };
    this.track(sweep());
    this.retention = setInterval(() => this.track(sweep()), everyMs);
    this.retention.unref();
  }

  private retention?: NodeJS.Timeout;

  /** Drops what is cached of closed runs (retention deleted some of them). */
  private forgetClosed(): void {
    this.closed.clear();
    this.events.clear();
  }

  async close(): Promise<void> {
    this.closing = true;
    for (const fn of this.onClose) fn();
    clearInterval(this.retention);
    clearTimeout(this.timerWake);
    this.timers.clear();
    for (const runId of [...this.attemptTimers.keys()]) this.disarmAttemptTimers(runId);
    this.matching.close();
    for (const set of this.historyWaiters.values()) for (const fn of [...set]) fn();
    while (this.background.size) await Promise.allSettled([...this.background]);
  }

  track<T>(p: Promise<T>): void {
    const q = p.catch((err: unknown) => this.failed(err, 'engine background work failed'));
    this.background.add(q);
    void q.finally(() => this.background.delete(q));
  }

  // ---- durable timers ----

  private addTimers(rows: sql.TimerRow[]): void {
    if (this.closing || !rows.length) return;
    for (const row of rows) this.timers.push(row);
    this.armTimerWake();
  }

  /** Wakes up when the earliest timer is due (at least every minute: setTimeout caps at ~24.8 days). */
  private armTimerWake(): void {
    const next = this.timers.peek()?.fire_at ?? Infinity;
    if (this.closing || next >= this.timerWakeAt) return;
    clearTimeout(this.timerWake);
    this.timerWakeAt = next;
    if (next === Infinity) return;
    this.timerWake = setTimeout(
      () => {
        this.timerWakeAt = Infinity;
        this.fireDueTimers();
      },
      Math.min(Math.max(0, next - Date.now()), 60_000),
    );
  }

  /**
   * Starts firing every due timer, up to TIMERS_FIRING_MAX at once (each one ending starts more).
   * Only called from a timeout, never in the middle of a commit: a new run's timers are added
   * before its state is cached (applyCommitted), and must not fire before.
   */
  private fireDueTimers(): void {
    if (this.closing) return;
    const now = Date.now();
    while (this.timersInFlight.size < TIMERS_FIRING_MAX) {
      const row = this.timers.peek();
      if (!row || row.fire_at > now) break;
      this.timers.pop();
      // A closed run's timers were deleted with it.
      if (this.closed.has(row.run_id) || this.timersInFlight.has(row.id)) continue;
      this.timersInFlight.add(row.id);
      this.track(
        this.fireTimer(row).finally(() => {
          this.timersInFlight.delete(row.id);
          this.armTimerWake();
        }),
      );
    }
    if (this.timersInFlight.size < TIMERS_FIRING_MAX) this.armTimerWake();
  }

  private armAttemptTimer(runId: string, timer: TimerWrite): void {
    if (this.closing) return;
    let armed = this.attemptTimers.get(runId);
    if (!armed) this.attemptTimers.set(runId, (armed = new Set()));
    const set = armed;
    // setTimeout holds at most ~24.8 days: a later timeout is re-armed when that much has passed.
    const handle = setTimeout(() => {
      set.delete(handle);
      if (!set.size && this.attemptTimers.get(runId) === set) this.attemptTimers.delete(runId);
      if (timer.fireAt > Date.now() + 5) this.armAttemptTimer(runId, timer);
      else if (this.cache.has(runId)) this.track(this.fireTimer({ id: 0, run_id: runId, fire_at: timer.fireAt, kind: timer.kind, ref: timer.ref }, false));
    }, Math.min(Math.max(0, timer.fireAt - Date.now()), 2 ** 31 - 1));
    set.add(handle);
  }

  private disarmAttemptTimers(runId: string): void {
    const armed = this.attemptTimers.get(runId);
    if (!armed) return;
    for (const handle of armed) clearTimeout(handle);
    this.attemptTimers.delete(runId);
  }

  /** Fires a timer of the database (`stored`, deleted by the same transition) or an attempt timer. */
  private async fireTimer(row: sql.TimerRow, stored = true): Promise<void> {
    const handler = this.timerHandlers.get(row.kind);
    try {
      await this.mutate(row.run_id, async (t) => {
        if (stored) {
          t.deletedTimers.push(row.id);
          t.dirty = true;
        }
        if (t.open && handler) await handler(t, row);
      });
    } catch (err) {
      if (!stored) {
        this.failed(err, 'engine timeout failed; retrying in 5 s', { timer: row });
        this.armAttemptTimer(row.run_id, { kind: row.kind, fireAt: Date.now() + 5000, ref: row.ref });
      } else if ((err as { code?: number }).code === 5) {
        await sql.deleteTimer(this.writes, row.id);
      } else {
        // Try again later rather than spinning on it.
        this.failed(err, 'engine timer failed; retrying in 5 s', { timer: row });
        const fireAt = Date.now() + TIMER_RETRY_MS;
        this.addTimers([{ ...row, fire_at: fireAt }]);
        await sql.postponeTimer(this.writes, row.id, fireAt);
      }
    }
  }

  // ---- transfers ----

  private runTransferById(id: number): void {
    if (this.transfersInFlight.has(id)) return;
    this.transfersInFlight.add(id);
    this.track(
      (async () => {
        try {
          const row = await sql.getTransfer(this.db, id);
          if (row) await this.executeTransfer(row);
        } catch (err) {
          // Its read failed (the database away while the lease held): tried again, as a failed transfer is.
          if (this.closing) return;
          this.failed(err, 'engine transfer failed; retrying', { transfer: { id } });
          this.soon(() => this.runTransferById(id));
        } finally {
          this.transfersInFlight.delete(id);
        }
      })(),
    );
  }

  private runTransfer(row: sql.TransferRow): void {
    if (this.transfersInFlight.has(row.id)) return;
    this.transfersInFlight.add(row.id);
    this.track(this.executeTransfer(row).finally(() => this.transfersInFlight.delete(row.id)));
  }

  private async executeTransfer(row: sql.TransferRow): Promise<void> {
    if (this.closing) return;
    const handler = this.transferHandlers.get(row.kind);
    try {
      if (handler) await handler(this, row);
      await sql.deleteTransfer(this.writes, row.id);
    } catch (err) {
      if (this.closing) return;
      this.failed(err, 'engine transfer failed; retrying', { transfer: row });
      this.soon(() => this.runTransfer(row));
    }
  }

  /** Runs `retry` in a second, unless the engine is closing by then. */
  private soon(retry: () => void): void {
    setTimeout(() => {
      if (!this.closing) retry();
    }, 1000).unref();
  }
}
