import { status } from '@grpc/grpc-js';
import type { Engine } from './engine';
import { EngineError, invalidArgument, notFound, workflowClosed, workflowNotFound } from './errors';
import { decodeEvent, eventAttributes } from './history';
import { Status, type RunState } from './interfaces';
import { checkRequestPayloads } from './limits';
import { decode, enumValue, pack, type, unpack, type Obj } from './proto';
import type { Transition } from './transition';
import { ensureNamespace, resolveRun, startWorkflow } from './workflows';

/**
 * Workflow updates (UpdateWorkflowExecution, PollWorkflowExecutionUpdate).
 *
 * An update is admitted into the run's state (so, unlike Temporal, it survives a restart even
 * before the workflow sees it) and a workflow task is scheduled if none is outstanding; every
 * workflow task carries the admitted updates as protocol messages. The worker answers in its
 * completion with an acceptance or rejection message (the validator ran), then, possibly in a later
 * task, with a response message. Acceptance and response become the UPDATE_ACCEPTED/COMPLETED
 * events; a rejection leaves no event. Temporal ships updates on speculative workflow tasks, which
 * leave no events when the update is rejected; here the task is an ordinary one (its
 * scheduled/started/completed events stay in history, which replays the same).
 */

const UpdateRequest = type('temporal.api.update.v1.Request');
const MESSAGE_BODIES = {
  acceptance: type('temporal.api.update.v1.Acceptance'),
  rejection: type('temporal.api.update.v1.Rejection'),
  response: type('temporal.api.update.v1.Response'),
};
const TYPE_URL_PREFIX = 'type.googleapis.com/';

const STAGE_ENUM = 'temporal.api.enums.v1.UpdateWorkflowExecutionLifecycleStage';
const Stage = { Admitted: 1, Accepted: 2, Completed: 3 } as const;
const STAGE_NAMES = ['UNSPECIFIED', 'ADMITTED', 'ACCEPTED', 'COMPLETED'].map((n) => `UPDATE_WORKFLOW_EXECUTION_LIFECYCLE_STAGE_${n}`);

/** Temporal's defaults (`history.maxInFlightUpdates`, `history.maxTotalUpdates`). */
export const MAX_IN_FLIGHT_UPDATES = 10;
export const MAX_TOTAL_UPDATES = 2000;

/** What an accepted update answers when its run closes before the update completes (Temporal's wording). */
const acceptedUpdateCompletedWorkflow = (): Obj => ({
  failure: {
    message: 'Workflow Update failed because the Workflow completed before the Update completed.',
    source: 'Server',
    applicationFailureInfo: { type: 'AcceptedUpdateCompletedWorkflow', nonRetryable: true },
  },
});

/** Where an update stands, as a waiter sees it; `retry`: its run continued as new before the workflow saw it. */
type Outcome = { stage: number; outcome?: Obj } | { error: EngineError } | { retry: true };

interface Waiter {
  runId: string;
  updateId: string;
  stage: number;
  done(result: Outcome): void;
}

/** Callers waiting for updates to reach a stage; woken by each committed transition of their run. */
class UpdateWaiters {
  private readonly byRun = new Map<string, Set<Waiter>>();

  constructor(private readonly engine: Engine) {
    engine.onCommitted.push((s) => this.afterTransition(s));
  }

  /**
   * Waits until the update reaches `stage` (or is rejected, or its run closes), or `waitMs` passes:
   * then the stage it reached. `admit` runs once the waiter is registered, so no transition is missed.
   */
  async wait(runId: string, updateId: string, stage: number, waitMs: number, signal: AbortSignal, admit?: () => Promise<void>): Promise<Outcome> {
    let settle!: (r: Outcome) => void;
    const result = new Promise<Outcome>((resolve) => (settle = resolve));
    const w: Waiter = { runId, updateId, stage, done: (r) => settle(r) };
    let set = this.byRun.get(runId);
    if (!set) this.byRun.set(runId, (set = new Set()));
    set.add(w);
    const timer = setTimeout(() => void this.current(runId, updateId).then(settle, () => settle({ error: workflowNotFound() })), waitMs);
    const onAbort = () => settle({ error: new EngineError(status.CANCELLED, 'update wait cancelled') });
    signal.addEventListener('abort', onAbort, { once: true });
    try {
      if (admit) await admit();
      const s = await this.engine.peek(runId);
      if (!s) return { error: workflowNotFound() };
      const reached = reachedStage(s, updateId, stage);
      if (reached) settle(reached);
      else if (!s.updates?.[updateId] && s.status === Status.Running) settle({ error: updateNotFound(updateId) });
      const r = await result;
      return 'stage' in r && r.stage === Stage.Completed && !r.outcome ? { stage: r.stage, outcome: await this.outcome(s.runId, updateId) } : r;
    } finally {
      clearTimeout(timer);
      signal.removeEventListener('abort', onAbort);
      set.delete(w);
      if (!set.size && this.byRun.get(runId) === set) this.byRun.delete(runId);
    }
  }

  /** The stage an update stands at now (a wait that timed out answers it). */
  private async current(runId: string, updateId: string): Promise<Outcome> {
    const s = await this.engine.peek(runId);
    if (!s) return { error: workflowNotFound() };
    return reachedStage(s, updateId, Stage.Admitted) ?? { stage: Stage.Admitted };
  }

  /** The outcome of a completed update, read from its UPDATE_COMPLETED event. */
  private async outcome(runId: string, updateId: string): Promise<Obj | undefined> {
    const s = await this.engine.peek(runId);
    const id = s?.updates?.[updateId]?.completedId;
    const data = id ? await this.engine.readEvent(runId, id) : undefined;
    return data ? eventAttributes(decodeEvent(data)).outcome : undefined;
  }

  private afterTransition(s: RunState): void {
    const set = this.byRun.get(s.runId);
    if (!set) return;
    for (const w of set) {
      const reached = reachedStage(s, w.updateId, w.stage);
      if (reached) w.done(reached);
    }
  }

  /** A rejection leaves nothing in the run: its waiters hear of it here. */
  rejected(runId: string, updateId: string, failure: Obj | undefined): void {
    for (const w of this.byRun.get(runId) ?? []) {
      if (w.updateId === updateId) w.done({ stage: Stage.Completed, outcome: { failure: failure ?? { message: 'update rejected' } } });
    }
  }
}

/** The outcome for a waiter when the update has reached `stage` (or never will), else undefined. */
function reachedStage(s: RunState, updateId: string, stage: number): Outcome | undefined {
  const u = s.updates?.[updateId];
  if (u?.phase === 'completed') return { stage: Stage.Completed };
  if (u?.phase === 'accepted' && stage <= Stage.Accepted) return { stage: Stage.Accepted };
  if (u && stage <= Stage.Admitted) return { stage: Stage.Admitted };
  if (s.status === Status.Running) return undefined;
  if (u?.phase === 'accepted') return { stage: Stage.Completed, outcome: acceptedUpdateCompletedWorkflow() };
  // Not yet seen by the workflow: it may go to the next run (Temporal retries it there).
  if (u && s.status === Status.ContinuedAsNew) return { retry: true };
  return { error: workflowClosed() };
}

const waiters = new WeakMap<Engine, UpdateWaiters>();

function waitersOf(engine: Engine): UpdateWaiters {
  let w = waiters.get(engine);
  if (!w) waiters.set(engine, (w = new UpdateWaiters(engine)));
  return w;
}

const updateNotFound = (updateId: string) => notFound(`update ${updateId} not found`);

function wantedStage(waitPolicy: Obj | null | undefined): number {
  // Waiting for admission alone is not offered (as Temporal): the least is acceptance.
  return Math.max(Stage.Accepted, enumValue(STAGE_ENUM, waitPolicy?.lifecycleStage));
}

function answer(r: Outcome, s: RunState, updateId: string): Obj {
  if ('error' in r) throw r.error;
  if ('retry' in r) throw new EngineError(status.UNAVAILABLE, 'workflow is closing: retry the update');
  return {
    updateRef: { workflowExecution: { workflowId: s.workflowId, runId: s.runId }, updateId },
    outcome: r.outcome,
    stage: STAGE_NAMES[r.stage],
  };
}

/** UpdateWorkflowExecution: admits the update (once per update id) and waits for the stage asked. */
export async function updateWorkflow(engine: Engine, req: Obj, signal: AbortSignal, waitMs: number): Promise<Obj> {
  await ensureNamespace(engine, req.namespace);
  const request = req.request;
  const updateId: string | undefined = request?.meta?.updateId;
  if (!updateId) throw invalidArgument('Update id is not set on request.');
  if (!request.input?.name) throw invalidArgument('Update name is not set on request.');
  checkRequestPayloads(request.input.args);
  const stage = wantedStage(req.waitPolicy);
  const until = Date.now() + waitMs;
  for (;;) {
    const row = await resolveRun(engine, req.namespace, req.workflowExecution);
    if (req.firstExecutionRunId && row.first_run_id !== req.firstExecutionRunId) throw workflowNotFound();
    const admit = () => engine.mutate(row.run_id, (t) => admitUpdate(t, updateId, request));
    const r = await waitersOf(engine).wait(row.run_id, updateId, stage, Math.max(0, until - Date.now()), signal, admit);
    // The run continued as new before the workflow saw the update: admit it on the new run.
    if ('retry' in r && !req.workflowExecution?.runId && Date.now() < until) continue;
    return answer(r, (await engine.peek(row.run_id)) ?? row.state, updateId);
  }
}

/**
 * ExecuteMultiOperation as the SDK's update-with-start uses it: a start (whose conflict policy says
 * what an open run of the id means) and an update of that workflow. Unlike Temporal, the two are not
 * one write: the run may take its first workflow task before the update reaches it.
 */
export async function updateWithStart(engine: Engine, req: Obj, signal: AbortSignal, waitMs: number): Promise<Obj> {
  const operations: Obj[] = req.operations ?? [];
  const start = operations[0]?.startWorkflow;
  const update = operations[1]?.updateWorkflow;
  if (operations.length !== 2 || !start || !update) throw invalidArgument('Operations must be a start workflow operation followed by an update workflow operation.');
  if (update.workflowExecution?.workflowId !== start.workflowId || update.workflowExecution?.runId) {
    throw invalidArgument('The update operation must name the started workflow id and no run id.');
  }
  if (!enumValue('temporal.api.enums.v1.WorkflowIdConflictPolicy', start.workflowIdConflictPolicy)) throw invalidArgument('WorkflowIdConflictPolicy must be set for update-with-start.');
  checkRequestPayloads(start.input);
  const started = await startWorkflow(engine, { ...start, namespace: req.namespace });
  const execution = { workflowId: start.workflowId, runId: started.runId };
  const updated = await updateWorkflow(engine, { ...update, namespace: req.namespace, workflowExecution: execution }, signal, waitMs);
  return { responses: [{ startWorkflow: { runId: started.runId, started: started.started } }, { updateWorkflow: updated }] };
}

/** PollWorkflowExecutionUpdate: waits for an admitted update to reach the stage asked. */
export async function pollUpdate(engine: Engine, req: Obj, signal: AbortSignal, waitMs: number): Promise<Obj> {
  await ensureNamespace(engine, req.namespace);
  const updateId: string | undefined = req.updateRef?.updateId;
  if (!updateId) throw invalidArgument('Update id is not set on request.');
  const row = await resolveRun(engine, req.namespace, req.updateRef.workflowExecution);
  const s = (await engine.peek(row.run_id)) ?? row.state;
  if (!s.updates?.[updateId]) throw updateNotFound(updateId);
  const asked = enumValue(STAGE_ENUM, req.waitPolicy?.lifecycleStage);
  // No stage asked: answer at once with the stage reached.
  const r = await waitersOf(engine).wait(row.run_id, updateId, Math.max(asked, Stage.Admitted), asked ? waitMs : 0, signal);
  return answer(r, s, updateId);
}

/** Admits an update into an open run (a known update id changes nothing) and asks for a workflow task. */
function admitUpdate(t: Transition, updateId: string, request: Obj): void {
  const s = t.s;
  if (s.updates?.[updateId]) return;
  if (!t.open) throw workflowClosed();
  const all = Object.values(s.updates ?? {});
  if (all.filter((u) => u.phase !== 'completed').length >= MAX_IN_FLIGHT_UPDATES) {
    throw new EngineError(status.RESOURCE_EXHAUSTED, `limit on number of concurrent in-flight updates has been reached (${MAX_IN_FLIGHT_UPDATES})`);
  }
  if (all.length >= MAX_TOTAL_UPDATES) throw new EngineError(status.FAILED_PRECONDITION, `limit on number of total updates has been reached (${MAX_TOTAL_UPDATES})`);
  s.updates = { ...s.updates, [updateId]: { phase: 'admitted', request: pack(UpdateRequest, request), admittedTime: t.now } };
  t.dirty = true;
  t.scheduleWft();
}

/** Whether updates wait for the workflow to see them (a workflow task is then needed). */
export function hasAdmittedUpdates(s: RunState): boolean {
  return Object.values(s.updates ?? {}).some((u) => u.phase === 'admitted');
}

/**
 * The protocol messages of a workflow task: one request per admitted update, oldest first,
 * sequenced just before the task's started event (where signals would be).
 */
export function updateRequestMessages(s: RunState, startedId: number): Obj[] | undefined {
  const admitted = Object.entries(s.updates ?? {})
    .filter(([, u]) => u.phase === 'admitted')
    .sort(([, a], [, b]) => a.admittedTime - b.admittedTime);
  if (!admitted.length) return undefined;
  return admitted.map(([id, u]) => ({
    id: `${id}/request`,
    protocolInstanceId: id,
    eventId: startedId - 1,
    body: { type_url: `${TYPE_URL_PREFIX}${UpdateRequest.fullName.slice(1)}`, value: Buffer.from(u.request!, 'base64') },
  }));
}

/**
 * The protocol messages of a workflow task completion, applied where a PROTOCOL_MESSAGE command
 * places them among the commands (`apply`), the others after all commands (`applyRest`).
 */
export class CompletionMessages {
  private readonly byId = new Map<string, Obj>();

  constructor(
    private readonly engine: Engine,
    messages: Obj[] | null | undefined,
  ) {
    for (const m of messages ?? []) this.byId.set(m.id, m);
  }

  apply(t: Transition, messageId: string): void {
    const m = this.byId.get(messageId);
    if (!m) return;
    this.byId.delete(messageId);
    this.applyMessage(t, m);
  }

  applyRest(t: Transition): void {
    for (const m of [...this.byId.values()]) {
      if (!t.open) return;
      this.apply(t, m.id);
    }
  }

  private applyMessage(t: Transition, m: Obj): void {
    const s = t.s;
    const updateId: string = m.protocolInstanceId;
    const u = s.updates?.[updateId];
    const typeUrl: string = m.body?.type_url ?? '';
    const kind = (Object.keys(MESSAGE_BODIES) as (keyof typeof MESSAGE_BODIES)[]).find((k) => typeUrl === `${TYPE_URL_PREFIX}${MESSAGE_BODIES[k].fullName.slice(1)}`);
    if (!u || !kind) {
      this.engine.log.warn({ updateId, typeUrl }, 'engine ignores a protocol message for no admitted update');
      return;
    }
    const body = decode(MESSAGE_BODIES[kind], m.body.value);
    if (kind === 'acceptance' && u.phase === 'admitted') {
      u.acceptedId = t.append('EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_ACCEPTED', {
        protocolInstanceId: updateId,
        acceptedRequestMessageId: body.acceptedRequestMessageId,
        acceptedRequestSequencingEventId: body.acceptedRequestSequencingEventId,
        acceptedRequest: unpack(UpdateRequest, u.request) ?? body.acceptedRequest,
      });
      u.phase = 'accepted';
      u.request = undefined;
    } else if (kind === 'rejection' && u.phase === 'admitted') {
      // Gone without a trace: a request with the same id later is validated anew.
      delete s.updates![updateId];
      t.dirty = true;
      t.afterCommit.push(() => waitersOf(this.engine).rejected(s.runId, updateId, body.failure ?? undefined));
    } else if (kind === 'response' && u.phase === 'accepted') {
      u.completedId = t.append('EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_COMPLETED', { meta: body.meta, acceptedEventId: u.acceptedId, outcome: body.outcome });
      u.phase = 'completed';
    } else {
      this.engine.log.warn({ updateId, kind, phase: u.phase }, 'engine ignores a protocol message out of order');
    }
  }
}
