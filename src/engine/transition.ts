import { randomUUID } from 'node:crypto';
import type { Queryable } from '../store/db';
import { decodeEvent, encodeEvent, eventAttributes, eventTypeName, newEvent } from './history';
import { Status, type RunState, type WorkflowTaskState } from './interfaces';
import { HISTORY_PAGE_BYTES, SUGGEST_CONTINUE_AS_NEW_BYTES, SUGGEST_CONTINUE_AS_NEW_EVENTS } from './limits';
import type { Poller, TaskRef } from './matching';
import { msDuration, num, type Obj } from './proto';
import * as sql from './store';

export interface TimerWrite {
  fireAt: number;
  kind: string;
  ref: Record<string, unknown>;
}

/** The start-to-close timeout of a run's started workflow task. */
export function wftTimeout(s: RunState): TimerWrite | undefined {
  const w = s.wft;
  if (!w?.startedId) return undefined;
  return { kind: 'wft_timeout', fireAt: w.startedTime! + s.wftTimeoutMs, ref: { scheduledId: w.scheduledId, startedId: w.startedId } };
}

/** Events that need the workflow code to run (they trigger a workflow task). */
const RESULT_LINKED = new Set([
  'EVENT_TYPE_ACTIVITY_TASK_COMPLETED',
  'EVENT_TYPE_ACTIVITY_TASK_FAILED',
  'EVENT_TYPE_ACTIVITY_TASK_TIMED_OUT',
  'EVENT_TYPE_ACTIVITY_TASK_CANCELED',
]);
const CHILD_LINKED = new Set([
  'EVENT_TYPE_CHILD_WORKFLOW_EXECUTION_COMPLETED',
  'EVENT_TYPE_CHILD_WORKFLOW_EXECUTION_FAILED',
  'EVENT_TYPE_CHILD_WORKFLOW_EXECUTION_CANCELED',
  'EVENT_TYPE_CHILD_WORKFLOW_EXECUTION_TIMED_OUT',
  'EVENT_TYPE_CHILD_WORKFLOW_EXECUTION_TERMINATED',
]);

/**
 * One state transition of one run: collects the events, timers, transfers and side effects that
 * are written together in one transaction, then applied after it commits.
 */
export class Transition {
  readonly events: { id: number; data: Buffer }[] = [];
  readonly timers: TimerWrite[] = [];
  /** Timeouts of workflow tasks and activity attempts, kept in memory only (see `attemptTimer`). */
  readonly attemptTimers: TimerWrite[] = [];
  readonly deletedTimers: number[] = [];
  readonly transfers: { kind: string; data: Record<string, unknown> }[] = [];
  readonly dispatch: { queueKind: 'workflow' | 'activity'; queue: string; task: TaskRef }[] = [];
  readonly afterCommit: (() => void)[] = [];
  /** Transitions of runs created by this one (continue-as-new, cron, retry), committed with it. */
  readonly spawned: Transition[] = [];
  runWrite: Omit<sql.RunWrite, 'state' | 'json'> = {};
  /** The state as written by `commit`; the engine parses it for the run's next transition. */
  json?: string;
  dirty = false;
  closed = false;
  /** The run is new: inserted rather than updated. */
  created = false;
  /** Set when the workflow needs a workflow task after this transition. */
  needsWft = false;

  constructor(
    readonly s: RunState,
    readonly now: number,
    /** For reads during the transition (the database; writes go through `commit`). */
    readonly tx: Queryable,
    /** Whether a sticky queue still has a worker behind it. */
    private readonly stickyAlive: (queue: string) => boolean,
  ) {}

  get open(): boolean {
    return this.s.status === Status.Running;
  }

  get wftStarted(): boolean {
    return !!this.s.wft && this.s.wft.startedId > 0;
  }

  /** Appends an event to history now (after a transient workflow task's events: see writeTransientWft); returns its id. */
  append(eventType: string, attrs: Obj): number {
    if (this.s.wft?.transient) this.writeTransientWft();
    const id = this.s.nextEventId++;
    const data = newEvent(id, this.now, eventType, attrs);
    this.s.historyBytes += data.length;
    this.events.push({ id, data });
    this.dirty = true;
    return id;
  }

  /**
   * An event from outside the workflow code (signal, activity result, timer fired...): appended now,
   * or buffered while a workflow task is started. Either way the workflow needs a task.
   * Returns the event id, or -1 when buffered.
   */
  record(eventType: string, attrs: Obj): number {
    this.needsWft = true;
    this.dirty = true;
    if (this.wftStarted) {
      this.s.buffered.push({ e: newEvent(0, this.now, eventType, attrs).toString('base64') });
      return -1;
    }
    return this.append(eventType, attrs);
  }

  /**
   * Removes from the buffer the TimerFired of `timerId` (the timer fell due while the workflow task
   * ran, so the workflow has not seen it); returns the timer's started event id, or undefined when
   * no such event is buffered.
   */
  takeBufferedTimerFired(timerId: string): number | undefined {
    const i = this.s.buffered.findIndex((b) => firedTimerId(b) === timerId);
    if (i < 0) return undefined;
    const [taken] = this.s.buffered.splice(i, 1);
    this.dirty = true;
    return num(eventAttributes(decodeEvent(Buffer.from(taken!.e, 'base64'))).startedEventId);
  }

  /** Buffered events, less the TimerFired of the timers in `cancelled`. */
  bufferedBut(cancelled: ReadonlySet<string>): number {
    return cancelled.size ? this.s.buffered.filter((b) => !cancelled.has(firedTimerId(b) ?? '')).length : this.s.buffered.length;
  }

  /** Appends the buffered events, fixing ids that point at events that were buffered too. */
  flushBuffered(): void {
    const buffered = this.s.buffered;
    if (!buffered.length) return;
    this.s.buffered = [];
    let previousActivityStarted = 0;
    const childStarted = new Map<number, number>();
    for (const b of buffered) {
      const ev = decodeEvent(Buffer.from(b.e, 'base64'));
      const type = eventTypeName(ev);
      const attrs = eventAttributes(ev);
      const id = this.s.nextEventId++;
      ev.eventId = id;
      if (type === 'EVENT_TYPE_ACTIVITY_TASK_STARTED') previousActivityStarted = id;
      if (RESULT_LINKED.has(type) && num(attrs.startedEventId) === -1) attrs.startedEventId = previousActivityStarted;
      if (type === 'EVENT_TYPE_CHILD_WORKFLOW_EXECUTION_STARTED') {
        const initiated = num(attrs.initiatedEventId);
        childStarted.set(initiated, id);
        const child = this.s.children[initiated];
        if (child) child.startedId = id;
      }
      if (CHILD_LINKED.has(type) && num(attrs.startedEventId) === -1) attrs.startedEventId = childStarted.get(num(attrs.initiatedEventId)) ?? 0;
      const data = encodeEvent(ev);
      this.s.historyBytes += data.length;
      this.events.push({ id, data });
    }
    this.dirty = true;
  }

  timer(kind: string, fireAt: number, ref: Record<string, unknown> = {}): void {
    this.timers.push({ fireAt, kind, ref });
    this.dirty = true;
  }

  /**
   * A timeout of a workflow task or an activity attempt. It is not written: such timeouts are short
   * and frequent, and everything they need is in the run's state, so the engine re-arms them from
   * it at start-up (timeoutsOfOpenRun).
   */
  attemptTimer(timer: TimerWrite): void {
    this.attemptTimers.push(timer);
  }

  transfer(kind: string, data: Record<string, unknown>): void {
    this.transfers.push({ kind, data });
    this.dirty = true;
  }

  /** Writes a transient workflow task's events to history: it completed, or something else is being written after it. */
  writeTransientWft(): void {
    const w = this.s.wft!;
    const events = transientWftEvents(this.s);
    w.transient = undefined;
    for (const event of events) {
      this.s.historyBytes += event.data.length;
      this.events.push(event);
      this.s.nextEventId = event.id + 1;
    }
    this.dirty = true;
  }

  /** Schedules a workflow task if none is outstanding (and the run is open); a transient one writes no event yet. */
  scheduleWft(opts: { attempt?: number; noSticky?: boolean } = {}): void {
    const s = this.s;
    if (!this.open || s.wft) return;
    if (s.wftDelayedUntil && s.wftDelayedUntil > this.now) return;
    const attempt = opts.attempt ?? 1;
    const sticky = s.sticky && !opts.noSticky && this.stickyAlive(s.sticky.queue) ? s.sticky : undefined;
    const queue = sticky ? sticky.queue : s.taskQueue;
    const wft: WorkflowTaskState = { scheduledId: s.nextEventId, startedId: 0, attempt, queue, sticky: !!sticky, scheduledTime: this.now };
    // A retry with nothing written since its failure is transient, as in Temporal; the worker's first
    // page of history must hold its events, so not past one page.
    if (attempt > 1 && s.wftRetryFrom === s.nextEventId && s.historyBytes < HISTORY_PAGE_BYTES) wft.transient = {};
    else wft.scheduledId = this.append('EVENT_TYPE_WORKFLOW_TASK_SCHEDULED', wftScheduledAttrs(s, wft));
    const scheduledId = wft.scheduledId;
    s.wft = wft;
    this.dirty = true;
    this.dispatch.push({ queueKind: 'workflow', queue, task: { kind: 'workflow', runId: s.runId, scheduledId } });
    if (sticky) this.attemptTimer({ kind: 'wft_sticky', fireAt: this.now + sticky.scheduleToStartMs, ref: { scheduledId } });
  }

  /**
   * Starts the scheduled workflow task for a worker polling `queue`, or for the worker that asked to
   * run a new workflow eagerly. A task scheduled by this same transition then never reaches a queue.
   */
  startWft(queue: string, identity: string, buildId?: string): void {
    const s = this.s;
    const w = s.wft!;
    w.requestId = randomUUID();
    w.startedTime = this.now;
    const started = {
      identity,
      historySizeBytes: s.historyBytes,
      suggestContinueAsNew: s.nextEventId > SUGGEST_CONTINUE_AS_NEW_EVENTS || s.historyBytes > SUGGEST_CONTINUE_AS_NEW_BYTES,
      workerVersion: buildId ? { buildId } : undefined,
    };
    // Written in every case: a transient task's start adds no event, but a start not kept in the run
    // state is lost (its timeout no longer matches it and its completion is refused as not found).
    this.dirty = true;
    if (w.transient) {
      w.transient = started;
      w.startedId = w.scheduledId + 1;
    } else {
      w.startedId = this.append('EVENT_TYPE_WORKFLOW_TASK_STARTED', wftStartedAttrs(w, started));
    }
    w.queue = queue;
    w.sticky = queue !== s.taskQueue;
    const queued = this.dispatch.findIndex((d) => d.task.kind === 'workflow' && d.task.scheduledId === w.scheduledId);
    if (queued >= 0) this.dispatch.splice(queued, 1);
    const stickyTimeout = this.attemptTimers.findIndex((x) => x.kind === 'wft_sticky' && x.ref.scheduledId === w.scheduledId);
    if (stickyTimeout >= 0) this.attemptTimers.splice(stickyTimeout, 1);
    this.attemptTimer(wftTimeout(s)!);
  }

  /** Whether committing needs an open transaction (transfers are inserted for their ids). */
  get needsTransaction(): boolean {
    return this.dirty && (this.transfers.length > 0 || this.spawned.some((sp) => sp.needsTransaction));
  }

  /**
   * Adds this transition's rows (and those of the runs it created) to `rows`, which the caller
   * writes for a whole batch at once; transfers are inserted here, their ids are needed after.
   */
  async commit(q: Queryable, rows: sql.BatchWrite): Promise<void> {
    if (!this.dirty) return;
    const runId = this.s.runId;
    this.json = JSON.stringify(this.s);
    (this.created ? rows.inserts : rows.updates).push({ state: this.s, json: this.json, ...this.runWrite });
    for (const e of this.events) rows.events.push({ runId, id: e.id, data: e.data });
    if (this.closed) rows.closedRuns.push(runId);
    else for (const tm of this.timers) rows.timers.push({ runId, ...tm });
    rows.deletedTimers.push(...this.deletedTimers);
    if (this.transfers.length) this.transferIds = await sql.insertTransfers(q, runId, this.transfers);
    for (const sp of this.spawned) await sp.commit(q, rows);
  }

  /**
   * Losing this transition to a database crash is harmless (a task marked started goes back to
   * its queue), so its commit need not wait for the WAL flush.
   */
  relaxed = false;

  transferIds: number[] = [];

  /** A worker that waited for the workflow task this transition started for it (see Engine.matchWaitingWorker). */
  handoff?: { queue: string; poller: Poller; task: TaskRef };
}

/** The timer id of a buffered TimerFired event, else undefined. */
function firedTimerId(b: { e: string }): string | undefined {
  const ev = decodeEvent(Buffer.from(b.e, 'base64'));
  return eventTypeName(ev) === 'EVENT_TYPE_TIMER_FIRED' ? String(eventAttributes(ev).timerId) : undefined;
}

/** The events of a run's transient workflow task, as its worker sees them (scheduled, and started once it is). */
export function transientWftEvents(s: RunState): { id: number; data: Buffer }[] {
  const w = s.wft;
  if (!w?.transient) return [];
  const events = [{ id: w.scheduledId, data: newEvent(w.scheduledId, w.scheduledTime, 'EVENT_TYPE_WORKFLOW_TASK_SCHEDULED', wftScheduledAttrs(s, w)) }];
  if (w.startedId) events.push({ id: w.startedId, data: newEvent(w.startedId, w.startedTime!, 'EVENT_TYPE_WORKFLOW_TASK_STARTED', wftStartedAttrs(w, w.transient)) });
  return events;
}

function wftScheduledAttrs(s: RunState, w: WorkflowTaskState): Obj {
  return {
    taskQueue: w.sticky ? { name: w.queue, kind: 'TASK_QUEUE_KIND_STICKY', normalName: s.taskQueue } : { name: s.taskQueue, kind: 'TASK_QUEUE_KIND_NORMAL' },
    startToCloseTimeout: msDuration(s.wftTimeoutMs),
    attempt: w.attempt,
  };
}

function wftStartedAttrs(w: WorkflowTaskState, started: NonNullable<WorkflowTaskState['transient']>): Obj {
  return { scheduledEventId: w.scheduledId, requestId: w.requestId, ...started };
}
