import { status } from '@grpc/grpc-js';
import type { Engine } from './engine';
import { EngineError, invalidArgument, notFound } from './errors';
import { Status } from './interfaces';
import { checkRequestPayloads } from './limits';
import { durationMs, enumValue, msDuration, num, pack, timestamp, type, unpack, type Obj } from './proto';
import { compileSpec, type CompiledSpec } from './schedule-spec';
import * as sql from './store';
import { searchAttributePayload } from './visibility-keys';
import { ensureNamespace, requestCancelRun, startWorkflow, terminateRun } from './workflows';

/**
 * Schedules (CreateSchedule ... ListScheduleMatchingTimes). Temporal runs each schedule as a
 * workflow; here each is a row (engine_schedules) that the scheduler looks at when it is due
 * (next_wake_at), when it is changed, and when a workflow it started closes. A look takes the
 * actions due since the last one (those older than the catch-up window are counted as missed),
 * applies the overlap policy to them against the workflows it still runs, starts what may start
 * and writes the row back. Starts carry a request id made of the schedule and the nominal time, so
 * a look repeated after a crash finds the workflow it already started instead of starting another.
 */

const Schedule = type('temporal.api.schedule.v1.Schedule');
const Memo = type('temporal.api.common.v1.Memo');
const SearchAttributes = type('temporal.api.common.v1.SearchAttributes');

const OVERLAP = 'temporal.api.enums.v1.ScheduleOverlapPolicy';
const Overlap = { Skip: 1, BufferOne: 2, BufferAll: 3, CancelOther: 4, TerminateOther: 5, AllowAll: 6 } as const;

/** Temporal's defaults: catch-up window one year (at least 10 s), at most 1000 buffered actions, 10 recent ones shown. */
const DEFAULT_CATCHUP_MS = 365 * 86_400_000;
const MIN_CATCHUP_MS = 10_000;
const MAX_BUFFERED = 1000;
const RECENT_KEPT = 10;
const FUTURE_SHOWN = 10;
/** Nominal times one look goes through at most (a long outage with a short interval); the rest count as missed. */
const MAX_TIMES_PER_LOOK = 1000;
const MATCHING_TIMES_LIMIT = 1000;
const LIST_PAGE = 100;
/** When looking at due schedules failed, the loop looks again this much later. */
const RETRY_MS = 1000;

interface PendingAction {
  nominal: number;
  /** 0: the schedule's policy. */
  overlap: number;
  /** Trigger or backfill: not counted against limited actions. */
  manual?: boolean;
}

interface ScheduleRecord {
  /** Packed temporal.api.schedule.v1.Schedule as created or updated (state included). */
  schedule: string;
  memo?: string;
  searchAttributes?: string;
  createTime: number;
  updateTime?: number;
  conflictToken: number;
  /** Nominal times up to this one have been taken, skipped or missed. */
  processedUntil: number;
  actionCount: number;
  missedCatchupWindow: number;
  overlapSkipped: number;
  bufferDropped: number;
  buffered: PendingAction[];
  running: { workflowId: string; runId: string }[];
  recent: { scheduleTime: number; actualTime: number; workflowId: string; runId: string }[];
}

const scheduleNotFound = () => notFound('schedule not found');
/** The identity a schedule's starts, cancels and terminations carry, as in Temporal. */
const schedulerIdentity = (namespace: string, scheduleId: string) => `temporal-scheduler-${namespace}-${scheduleId}`;

/** Checks a schedule as created or updated: a start-workflow action and a spec the engine can follow. */
function checkSchedule(schedule: Obj | null | undefined): void {
  const start = schedule?.action?.startWorkflow;
  if (!start) throw invalidArgument('Schedule action must be a start workflow action.');
  if (!start.workflowType?.name) throw invalidArgument('WorkflowType is not set on the schedule action.');
  if (!start.taskQueue?.name) throw invalidArgument('TaskQueue is not set on the schedule action.');
  checkRequestPayloads(start.input);
  compileSpec(schedule.spec);
}

function catchupWindowMs(schedule: Obj): number {
  const ms = durationMs(schedule.policies?.catchupWindow);
  return ms ? Math.max(ms, MIN_CATCHUP_MS) : DEFAULT_CATCHUP_MS;
}

/** Runs schedules for one engine: a timer for the earliest due one, a look at each when it changes or a workflow of it closes. */
class Scheduler {
  private timer?: NodeJS.Timeout;
  private timerAt = Infinity;
  private closed = false;
  /** Run id of a workflow a schedule started -> the schedule's key, to look again when it closes. */
  private readonly watched = new Map<string, { namespace: string; scheduleId: string }>();

  constructor(private readonly engine: Engine) {
    engine.onCommitted.push((s) => {
      const key = s.status !== Status.Running ? this.watched.get(s.runId) : undefined;
      if (!key) return;
      this.watched.delete(s.runId);
      this.later(key.namespace, key.scheduleId);
    });
    engine.onClose.push(() => {
      this.closed = true;
      clearTimeout(this.timer);
    });
  }

  /** Looks at every schedule once (workflows may have closed, actions fallen due, while no engine ran). */
  async start(): Promise<void> {
    for (const row of await sql.scheduleKeys(this.engine.db)) this.later(row.namespace, row.schedule_id);
  }

  /** Looks at a schedule in the background. */
  private later(namespace: string, scheduleId: string): void {
    if (this.closed) return;
    this.engine.track(this.look(namespace, scheduleId).catch((err: { code?: number }) => {
      if (err.code !== status.NOT_FOUND) throw err;
    }));
  }

  private wakeAt(at: number | undefined): void {
    if (this.closed || at === undefined || at >= this.timerAt) return;
    clearTimeout(this.timer);
    this.timerAt = at;
    // setTimeout holds at most ~24.8 days: wake at least every minute and look again.
    this.timer = setTimeout(() => {
      this.timerAt = Infinity;
      this.engine.track(this.lookAtDue());
    }, Math.min(Math.max(0, at - Date.now()), 60_000));
  }

  private async lookAtDue(): Promise<void> {
    try {
      for (const row of await sql.scheduleKeys(this.engine.db, Date.now())) await this.look(row.namespace, row.schedule_id).catch(() => undefined);
      this.wakeAt(await sql.nextScheduleWake(this.engine.db));
    } catch (err) {
      this.engine.log.warn({ err }, 'engine: looking at due schedules failed; trying again in 1 s');
      this.wakeAt(Date.now() + RETRY_MS);
    }
  }

  /**
   * One look at a schedule, serialised with every other: `change` first (an update, a patch), then
   * the due actions, then the starts the overlap policy allows. Returns the record as written.
   */
  look(namespace: string, scheduleId: string, change?: (rec: ScheduleRecord, schedule: Obj) => void): Promise<{ rec: ScheduleRecord; schedule: Obj }> {
    return this.engine.withLock(`schedule:${namespace}\0${scheduleId}`, async () => {
      const row = await sql.getSchedule<ScheduleRecord>(this.engine.db, namespace, scheduleId);
      if (!row) throw scheduleNotFound();
      const rec = row.data;
      const schedule = unpack(Schedule, rec.schedule)!.toJSON() as Obj;
      const now = Date.now();
      change?.(rec, schedule);
      const spec = compileSpec(schedule.spec);
      await this.refreshRunning(rec, namespace, scheduleId);
      takeDue(rec, schedule, spec, scheduleId, now);
      await this.startBuffered(rec, schedule, namespace, scheduleId, now);
      rec.schedule = pack(Schedule, schedule)!;
      const nextWake = nextWakeAt(rec, schedule, spec, scheduleId);
      await sql.writeSchedule(this.engine.writes, namespace, scheduleId, rec, nextWake);
      this.wakeAt(nextWake);
      return { rec, schedule };
    });
  }

  /** Keeps the workflows still running (and watches them). */
  private async refreshRunning(rec: ScheduleRecord, namespace: string, scheduleId: string): Promise<void> {
    const still: ScheduleRecord['running'] = [];
    for (const r of rec.running) {
      const s = await this.engine.peek(r.runId);
      if (s?.status !== Status.Running) continue;
      still.push(r);
      this.watched.set(r.runId, { namespace, scheduleId });
    }
    rec.running = still;
  }

  /** Starts the buffered actions the overlap policy allows now; the others stay buffered or are dropped. */
  private async startBuffered(rec: ScheduleRecord, schedule: Obj, namespace: string, scheduleId: string, now: number): Promise<void> {
    const kept: PendingAction[] = [];
    const schedulePolicy = enumValue(OVERLAP, schedule.policies?.overlapPolicy ?? 0) || Overlap.Skip;
    for (const p of rec.buffered) {
      const policy = p.overlap || schedulePolicy;
      const busy = rec.running.length > 0 || kept.length > 0;
      if (!busy || policy === Overlap.AllowAll) {
        await this.startAction(rec, schedule, namespace, scheduleId, p, now);
        continue;
      }
      if (policy === Overlap.Skip) {
        rec.overlapSkipped++;
      } else if (policy === Overlap.BufferOne) {
        if (kept.length) rec.bufferDropped++;
        else kept.push(p);
      } else if (policy === Overlap.BufferAll) {
        kept.push(p);
      } else if (policy === Overlap.CancelOther) {
        for (const r of rec.running) await requestCancelRun(this.engine, r.runId, { cause: `canceled by schedule ${scheduleId} (overlap policy CANCEL_OTHER)`, identity: schedulerIdentity(namespace, scheduleId) }).catch(() => undefined);
        kept.push(p);
      } else {
        for (const r of rec.running) await terminateRun(this.engine, r.runId, `terminated by schedule ${scheduleId} (overlap policy TERMINATE_OTHER)`, undefined, schedulerIdentity(namespace, scheduleId)).catch(() => undefined);
        rec.running = [];
        await this.startAction(rec, schedule, namespace, scheduleId, p, now);
      }
    }
    rec.buffered = kept;
  }

  private async startAction(rec: ScheduleRecord, schedule: Obj, namespace: string, scheduleId: string, p: PendingAction, now: number): Promise<void> {
    const action = schedule.action.startWorkflow;
    // As Temporal: the action's workflow id (else the schedule id) and the nominal time to the second.
    const nominal = `${new Date(p.nominal).toISOString().slice(0, 19)}Z`;
    const workflowId = `${action.workflowId || scheduleId}-${nominal}`;
    const start = unpack(Schedule, pack(Schedule, schedule))!.action.startWorkflow;
    // As Temporal, the started workflow carries its nominal time and schedule as search attributes.
    const searchAttributes = {
      indexedFields: {
        ...start.searchAttributes?.indexedFields,
        TemporalScheduledStartTime: searchAttributePayload(nominal, 'Datetime'),
        TemporalScheduledById: searchAttributePayload(scheduleId, 'Keyword'),
      },
    };
    const req = { ...start, namespace, workflowId, searchAttributes, requestId: `schedule:${scheduleId}:${p.nominal}`, identity: schedulerIdentity(namespace, scheduleId) };
    try {
      const { runId } = await startWorkflow(this.engine, req);
      rec.actionCount++;
      rec.recent = [...rec.recent, { scheduleTime: p.nominal, actualTime: now, workflowId, runId }].slice(-RECENT_KEPT);
      rec.running.push({ workflowId, runId });
      this.watched.set(runId, { namespace, scheduleId });
      if (!p.manual && schedule.state?.limitedActions) schedule.state.remainingActions = Math.max(0, num(schedule.state.remainingActions) - 1);
    } catch (err) {
      // A workflow id still running from elsewhere, a payload refused: the action is lost, as in Temporal.
      this.engine.log.warn({ err, scheduleId, workflowId }, 'engine: a schedule could not start its workflow');
    }
  }
}

/** Whether the schedule takes actions from its spec now (not paused, actions left). */
function active(schedule: Obj): boolean {
  const state = schedule.state ?? {};
  return !state.paused && (!state.limitedActions || num(state.remainingActions) > 0);
}

/** Buffers the actions due by `now` (jitter included); those older than the catch-up window are missed. */
function takeDue(rec: ScheduleRecord, schedule: Obj, spec: CompiledSpec, scheduleId: string, now: number): void {
  if (!active(schedule)) {
    // Paused: the times that pass are not taken later.
    rec.processedUntil = Math.max(rec.processedUntil, now);
    return;
  }
  const window = catchupWindowMs(schedule);
  for (let i = 0; i < MAX_TIMES_PER_LOOK; i++) {
    const nominal = spec.next(rec.processedUntil);
    if (nominal === undefined || nominal + spec.jitter(scheduleId, nominal) > now) return;
    rec.processedUntil = nominal;
    if (now - nominal > window) rec.missedCatchupWindow++;
    else bufferAction(rec, { nominal, overlap: 0 });
  }
  // Still more after a long outage: skip to the window's start.
  rec.processedUntil = Math.max(rec.processedUntil, now - window);
}

function bufferAction(rec: ScheduleRecord, p: PendingAction): void {
  if (rec.buffered.length >= MAX_BUFFERED) rec.bufferDropped++;
  else rec.buffered.push(p);
}

function nextWakeAt(rec: ScheduleRecord, schedule: Obj, spec: CompiledSpec, scheduleId: string): number | undefined {
  if (!active(schedule)) return undefined;
  const nominal = spec.next(rec.processedUntil);
  return nominal === undefined ? undefined : nominal + spec.jitter(scheduleId, nominal);
}

/** The next `count` action times after `after`, as the schedule stands. */
function futureTimes(schedule: Obj, after: number, count: number): number[] {
  if (!active(schedule)) return [];
  const spec = compileSpec(schedule.spec);
  const limited = schedule.state?.limitedActions ? num(schedule.state.remainingActions) : Infinity;
  const out: number[] = [];
  for (let t = spec.next(after); t !== undefined && out.length < Math.min(count, limited); t = spec.next(t)) out.push(t);
  return out;
}

/** The schedule as Temporal describes it: the overlap policy and catch-up window filled in. */
function described(schedule: Obj): Obj {
  return {
    ...schedule,
    policies: { ...schedule.policies, overlapPolicy: enumValue(OVERLAP, schedule.policies?.overlapPolicy ?? 0) || Overlap.Skip, catchupWindow: msDuration(catchupWindowMs(schedule)) },
    state: schedule.state ?? {},
  };
}

function recentActions(rec: ScheduleRecord): Obj[] {
  return rec.recent.map((r) => ({ scheduleTime: timestamp(r.scheduleTime), actualTime: timestamp(r.actualTime), startWorkflowResult: { workflowId: r.workflowId, runId: r.runId } }));
}

const schedulers = new WeakMap<Engine, Scheduler>();

function schedulerOf(engine: Engine): Scheduler {
  let s = schedulers.get(engine);
  if (!s) schedulers.set(engine, (s = new Scheduler(engine)));
  return s;
}

/** Starts an engine's scheduler: every schedule is looked at once, then when due. */
export function startSchedules(engine: Engine): Promise<void> {
  return schedulerOf(engine).start();
}

function scheduleId(req: Obj): string {
  if (!req.scheduleId) throw invalidArgument('ScheduleId is not set on request.');
  return req.scheduleId;
}

/** Applies a SchedulePatch (also a create's initial patch) to a schedule being looked at. */
function applyPatch(patch: Obj | null | undefined, now: number): (rec: ScheduleRecord, schedule: Obj) => void {
  return (rec, schedule) => {
    if (!patch) return;
    const spec = compileSpec(schedule.spec);
    if (patch.pause) schedule.state = { ...schedule.state, paused: true, notes: patch.pause };
    if (patch.unpause) schedule.state = { ...schedule.state, paused: false, notes: patch.unpause };
    if (patch.triggerImmediately) {
      const at = patch.triggerImmediately.scheduledTime ? durationMs(patch.triggerImmediately.scheduledTime) : now;
      bufferAction(rec, { nominal: at, overlap: enumValue(OVERLAP, patch.triggerImmediately.overlapPolicy ?? 0), manual: true });
    }
    for (const b of patch.backfillRequest ?? []) {
      const end = durationMs(b.endTime);
      for (let t = spec.next(durationMs(b.startTime) - 1), n = 0; t !== undefined && t <= end && n < MAX_BUFFERED; t = spec.next(t), n++) {
        bufferAction(rec, { nominal: t, overlap: enumValue(OVERLAP, b.overlapPolicy ?? 0), manual: true });
      }
    }
  };
}

/** The gRPC handlers of schedules. */
export function scheduleHandlers(engine: Engine): Record<string, (req: Obj) => Promise<Obj>> {
  const scheduler = () => schedulerOf(engine);
  return {
    CreateSchedule: async (req) => {
      await ensureNamespace(engine, req.namespace);
      const id = scheduleId(req);
      checkSchedule(req.schedule);
      const now = Date.now();
      const rec: ScheduleRecord = {
        schedule: pack(Schedule, req.schedule)!,
        memo: pack(Memo, req.memo),
        searchAttributes: pack(SearchAttributes, req.searchAttributes),
        createTime: now,
        conflictToken: 1,
        processedUntil: now,
        actionCount: 0,
        missedCatchupWindow: 0,
        overlapSkipped: 0,
        bufferDropped: 0,
        buffered: [],
        running: [],
        recent: [],
      };
      if (!(await sql.insertSchedule(engine.writes, req.namespace, id, rec))) {
        throw new EngineError(status.ALREADY_EXISTS, 'Schedule with this ID is already registered.', { type: 'temporal.api.errordetails.v1.WorkflowExecutionAlreadyStartedFailure', value: { startRequestId: req.requestId ?? '', runId: '' } });
      }
      const { rec: written } = await scheduler().look(req.namespace, id, applyPatch(req.initialPatch, now));
      return { conflictToken: Buffer.from(String(written.conflictToken)) };
    },
    DescribeSchedule: async (req) => {
      await ensureNamespace(engine, req.namespace);
      const { rec, schedule } = await scheduler().look(req.namespace, scheduleId(req));
      return {
        schedule: described(schedule),
        info: {
          actionCount: rec.actionCount,
          missedCatchupWindow: rec.missedCatchupWindow,
          overlapSkipped: rec.overlapSkipped,
          bufferDropped: rec.bufferDropped,
          bufferSize: rec.buffered.length,
          runningWorkflows: rec.running,
          recentActions: recentActions(rec),
          futureActionTimes: futureTimes(schedule, Date.now(), FUTURE_SHOWN).map(timestamp),
          createTime: timestamp(rec.createTime),
          updateTime: rec.updateTime ? timestamp(rec.updateTime) : undefined,
        },
        memo: unpack(Memo, rec.memo),
        searchAttributes: unpack(SearchAttributes, rec.searchAttributes),
        conflictToken: Buffer.from(String(rec.conflictToken)),
      };
    },
    UpdateSchedule: async (req) => {
      await ensureNamespace(engine, req.namespace);
      checkSchedule(req.schedule);
      const expected = req.conflictToken?.length ? Number(Buffer.from(req.conflictToken).toString()) : undefined;
      await scheduler().look(req.namespace, scheduleId(req), (rec, schedule) => {
        if (expected !== undefined && expected !== rec.conflictToken) throw new EngineError(status.FAILED_PRECONDITION, 'mismatched conflict token');
        const next = unpack(Schedule, pack(Schedule, req.schedule))!.toJSON() as Obj;
        Object.assign(schedule, { spec: next.spec, action: next.action, policies: next.policies, state: next.state ?? {} });
        if (req.memo) rec.memo = pack(Memo, req.memo);
        if (req.searchAttributes) rec.searchAttributes = pack(SearchAttributes, req.searchAttributes);
        rec.conflictToken++;
        rec.updateTime = Date.now();
        // Times that passed before the update are not taken under the new spec.
        rec.processedUntil = Math.max(rec.processedUntil, rec.updateTime);
      });
      return {};
    },
    PatchSchedule: async (req) => {
      await ensureNamespace(engine, req.namespace);
      const patch = req.patch ?? {};
      const now = Date.now();
      await scheduler().look(req.namespace, scheduleId(req), (rec, schedule) => {
        applyPatch(patch, now)(rec, schedule);
        rec.updateTime = now;
      });
      return {};
    },
    DeleteSchedule: async (req) => {
      await ensureNamespace(engine, req.namespace);
      const id = scheduleId(req);
      const deleted = await engine.withLock(`schedule:${req.namespace}\0${id}`, () => sql.deleteSchedule(engine.writes, req.namespace, id));
      if (!deleted) throw scheduleNotFound();
      return {};
    },
    ListSchedules: async (req) => {
      await ensureNamespace(engine, req.namespace);
      if (req.query) throw invalidArgument('ListSchedules with a query is not supported by the embedded engine.');
      const size = Math.min(num(req.maximumPageSize) || LIST_PAGE, LIST_PAGE);
      const after = req.nextPageToken?.length ? Buffer.from(req.nextPageToken).toString() : '';
      const rows = await sql.listSchedules<ScheduleRecord>(engine.db, req.namespace, after, size);
      const now = Date.now();
      return {
        schedules: rows.map((row) => {
          const schedule = unpack(Schedule, row.data.schedule)!.toJSON() as Obj;
          return {
            scheduleId: row.schedule_id,
            memo: unpack(Memo, row.data.memo),
            searchAttributes: unpack(SearchAttributes, row.data.searchAttributes),
            info: {
              spec: schedule.spec,
              workflowType: schedule.action?.startWorkflow?.workflowType,
              notes: schedule.state?.notes ?? '',
              paused: !!schedule.state?.paused,
              recentActions: recentActions(row.data),
              futureActionTimes: futureTimes(schedule, now, 1).map(timestamp),
            },
          };
        }),
        nextPageToken: rows.length === size ? Buffer.from(rows[rows.length - 1].schedule_id) : undefined,
      };
    },
    ListScheduleMatchingTimes: async (req) => {
      await ensureNamespace(engine, req.namespace);
      const row = await sql.getSchedule<ScheduleRecord>(engine.db, req.namespace, scheduleId(req));
      if (!row) throw scheduleNotFound();
      const spec = compileSpec(unpack(Schedule, row.data.schedule)!.spec);
      const end = durationMs(req.endTime);
      const times: Obj[] = [];
      for (let t = spec.next(durationMs(req.startTime) - 1); t !== undefined && t <= end && times.length < MATCHING_TIMES_LIMIT; t = spec.next(t)) times.push(timestamp(t));
      return { startTime: times };
    },
  };
}
