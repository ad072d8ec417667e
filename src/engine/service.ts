import { randomUUID } from 'node:crypto';
import * as grpc from '@grpc/grpc-js';
import type pino from 'pino';
import type * as protobuf from 'protobufjs';
import { cancelActivity, completeActivity, failActivity, heartbeat, pollActivityTask, tokenById } from './activities';
import { describeRun } from './describe';
import type { Engine } from './engine';
import { EngineError, invalidArgument, isWorkflowClosed, unimplemented, workflowNotFound } from './errors';
import { rawHistory } from './history';
import { ENGINE_WAITING, Status } from './interfaces';
import { durationMs, encodeWithRaw, msDuration, num, Raw, root, T, type Obj } from './proto';
import type { Queries } from './queries';
import * as sql from './store';
import { decodeToken } from './tokens';
import { countRuns, listRuns } from './visibility';
import { pollUpdate, updateWithStart, updateWorkflow } from './updates';
import { scheduleHandlers } from './schedules';
import { completeWorkflowTask, failWorkflowTask, pollWorkflowTask, shutdownWorker, workflowTaskResponse } from './workflow-tasks';
import { checkRequestPayloads } from './limits';
import { throttledWarn } from '../logger';
import { isDatabaseUnavailable } from '../store/db';
import { CLOSED_RUN_TRIES, ensureNamespace, requestCancelRun, resolveRun, signalRun, startWorkflow, terminateRun } from './workflows';

export interface CallContext {
  readonly signal: AbortSignal;
  /** Milliseconds a long poll may wait before answering "nothing yet". */
  waitMs: number;
}

export type Handler = (req: Obj, ctx: CallContext) => Promise<Obj | void>;

const MAX_LONG_POLL_MS = 60_000;
const SERVER_VERSION = '1.27.0';

/** A grpc-js service definition for a service of @temporalio/proto, every method included. */
function serviceDefinition(name: string): { definition: grpc.ServiceDefinition; methods: string[] } {
  const service = root.lookupService(name);
  const definition: Record<string, grpc.MethodDefinition<Obj, Obj>> = {};
  const methods: string[] = [];
  for (const m of service.methodsArray) {
    m.resolve();
    const Req = m.resolvedRequestType as protobuf.Type;
    const Res = m.resolvedResponseType as protobuf.Type;
    definition[m.name] = {
      path: `/${name}/${m.name}`,
      requestStream: false,
      responseStream: false,
      requestSerialize: (o: Obj) => Buffer.from(Req.encode(Req.fromObject(o)).finish()),
      requestDeserialize: (b: Buffer) => Req.decode(b),
      responseSerialize: (o: Obj) => encodeWithRaw(Res, o),
      responseDeserialize: (b: Buffer) => Res.decode(b),
    };
    methods.push(m.name);
  }
  return { definition: definition as grpc.ServiceDefinition, methods };
}

/**
 * Who answers requests: the handlers of the engine that holds the lease, or none while it waits to
 * take it again (its database connection was lost).
 */
export interface Dispatch {
  log: pino.Logger;
  current(): Record<string, Handler> | undefined;
  /** Resolves when an engine answers again, or after `ms`, or on `signal`. */
  waitForOwner(ms: number, signal: AbortSignal): Promise<void>;
  /** Keeps a task result (TASK_RESULTS) the database could not take, to apply it when it can. */
  defer(method: string, request: Obj): void;
}

/** Polls of workers: while no engine answers they wait, then get "no task", so workers keep polling quietly. */
const TASK_POLLS = new Set(['PollWorkflowTaskQueue', 'PollActivityTaskQueue', 'PollNexusTaskQueue']);
/**
 * Task results of workers. While the database is away they are accepted and kept in memory, then
 * applied once it is back (Dispatch.defer): the SDK gives up retrying a result after about 10 s,
 * and the task would then wait for its timeout (a minute for a sync) although its worker finished
 * it. A result that no longer fits the run when applied is dropped, as it would have been refused.
 */
const TASK_RESULTS = new Set(['RespondWorkflowTaskCompleted', 'RespondWorkflowTaskFailed', 'RespondActivityTaskCompleted', 'RespondActivityTaskFailed', 'RespondActivityTaskCanceled']);

/** Registers every method of the two Temporal services; the ones without a handler answer UNIMPLEMENTED. */
export function addServices(server: grpc.Server, dispatch: Dispatch): void {
  const log = dispatch.log;
  const warnDatabaseAway = throttledWarn(log);
  for (const name of ['temporal.api.workflowservice.v1.WorkflowService', 'temporal.api.operatorservice.v1.OperatorService']) {
    const { definition, methods } = serviceDefinition(name);
    const impl: grpc.UntypedServiceImplementation = {};
    for (const method of methods) {
      impl[method] = async (call: grpc.ServerUnaryCall<Obj, Obj>, callback: grpc.sendUnaryData<Obj>) => {
        let answered = false;
        let ac: AbortController | undefined;
        const deadline = call.getDeadline();
        const deadlineMs = deadline instanceof Date ? deadline.getTime() : Number(deadline);
        const ctx: CallContext = {
          waitMs: Math.max(0, Math.min(MAX_LONG_POLL_MS, Number.isFinite(deadlineMs) ? deadlineMs - Date.now() - 1000 : MAX_LONG_POLL_MS)),
          // Made on first use: only waiting calls (long polls, queries) look at it.
          get signal() {
            if (!ac) {
              const controller = (ac = new AbortController());
              // Clients often reset a stream once they have the answer; only a pending call needs the abort.
              if (call.cancelled) controller.abort();
              else call.once('cancelled', () => answered || controller.abort());
            }
            return ac.signal;
          },
        };
        let handlers = dispatch.current();
        if (!handlers && TASK_POLLS.has(method)) {
          const waitUntil = Date.now() + ctx.waitMs;
          await dispatch.waitForOwner(ctx.waitMs, ctx.signal);
          handlers = dispatch.current();
          ctx.waitMs = Math.max(0, waitUntil - Date.now());
          if (!handlers || ctx.signal.aborted) return callback(null, {});
        }
        if (!handlers && TASK_RESULTS.has(method)) {
          dispatch.defer(method, call.request);
          return callback(null, {});
        }
        // The activity keeps running (one that outlives its heartbeat timeout is timed out and retried once the engine is back).
        if (!handlers && method === 'RecordActivityTaskHeartbeat') return callback(null, {});
        if (!handlers) return callback({ code: grpc.status.UNAVAILABLE, details: ENGINE_WAITING });
        const handler = handlers[method];
        if (!handler) {
          log.debug({ method }, 'engine: unimplemented method called');
          const err = unimplemented(method);
          callback({ code: err.code, details: err.message });
          return;
        }
        handler(call.request, ctx).then(
          (res) => {
            answered = true;
            callback(null, res ?? {});
          },
          (err: unknown) => {
            answered = true;
            if (err instanceof EngineError) {
              callback({ code: err.code, details: err.message, metadata: err.metadata() });
            } else if (isDatabaseUnavailable(err) && TASK_RESULTS.has(method)) {
              dispatch.defer(method, call.request);
              callback(null, {});
            } else if (isDatabaseUnavailable(err)) {
              // The database is away: the caller retries (the SDK does on UNAVAILABLE).
              warnDatabaseAway(err, 'engine: the database is unavailable; requests fail with UNAVAILABLE');
              callback({ code: grpc.status.UNAVAILABLE, details: err instanceof Error ? err.message : String(err) });
            } else {
              log.error({ err, method }, 'engine: request failed');
              callback({ code: grpc.status.INTERNAL, details: err instanceof Error ? err.message : String(err) });
            }
          },
        );
      };
    }
    server.addService(definition, impl);
  }
}

function namespaceInfo(row: { name: string; id: string; retention_ms: number }): Obj {
  return {
    namespaceInfo: {
      name: row.name,
      state: 'NAMESPACE_STATE_REGISTERED',
      description: '',
      ownerEmail: '',
      id: row.id,
      supportsSchedules: true,
      capabilities: { eagerWorkflowStart: true, syncUpdate: true, asyncUpdate: true },
    },
    config: { workflowExecutionRetentionTtl: msDuration(row.retention_ms), historyArchivalState: 'ARCHIVAL_STATE_DISABLED', visibilityArchivalState: 'ARCHIVAL_STATE_DISABLED' },
    replicationConfig: { activeClusterName: 'active', clusters: [{ clusterName: 'active' }], state: 'REPLICATION_STATE_NORMAL' },
    isGlobalNamespace: false,
  };
}

/** The gRPC handlers by method name. */
export function handlers(engine: Engine, queries: Queries): Record<string, Handler> {
  const history = async (req: Obj, ctx: CallContext, reverse: boolean): Promise<Obj> => {
    await ensureNamespace(engine, req.namespace);
    // result() long-polls here once per workflow: answer from memory when the run is known.
    const known = engine.known(req.namespace, req.execution?.workflowId, req.execution?.runId);
    const row = known ? { run_id: known.runId, history_length: known.nextEventId - 1 } : await resolveRun(engine, req.namespace, req.execution);
    const runId = row.run_id;
    const pageSize = num(req.maximumPageSize) > 0 ? num(req.maximumPageSize) : 1000;
    const token = req.nextPageToken?.length ? JSON.parse(Buffer.from(req.nextPageToken).toString()) : undefined;
    if (reverse) {
      const before = token?.before ?? row.history_length + 1;
      const rows = await sql.readEventsReverse(engine.db, runId, before, pageSize);
      const last = rows[rows.length - 1];
      return {
        history: rawHistory(rows),
        nextPageToken: last && last.event_id > 1 ? Buffer.from(JSON.stringify({ before: last.event_id })) : undefined,
      };
    }
    const closeOnly = req.historyEventFilterType === 2 || req.historyEventFilterType === 'HISTORY_EVENT_FILTER_TYPE_CLOSE_EVENT';
    const until = Date.now() + ctx.waitMs;
    for (;;) {
      const s = await engine.peek(runId);
      if (!s) throw workflowNotFound();
      const lastId = s.nextEventId - 1;
      const closed = s.status !== Status.Running;
      if (closeOnly) {
        if (closed) {
          const rows = await engine.readEvents(runId, lastId, 1);
          return { history: rawHistory(rows) };
        }
      } else {
        const from: number = token?.next ?? 1;
        // `to`: the rest of a workflow task's history, which ends at its started event.
        const to: number | undefined = token?.to;
        if (from <= lastId || closed || !req.waitNewEvent || to) {
          const last = Math.min(lastId, to ?? lastId);
          const rows = await engine.readEvents(runId, from, Math.max(0, Math.min(pageSize, last - from + 1)));
          const next = rows.length ? rows[rows.length - 1].event_id + 1 : from;
          const more = next <= last || (!to && !closed && req.waitNewEvent);
          return {
            history: rawHistory(rows),
            nextPageToken: more ? Buffer.from(JSON.stringify({ next, to })) : undefined,
          };
        }
      }
      if (!req.waitNewEvent || ctx.signal.aborted || Date.now() >= until) {
        return { history: { events: [] }, nextPageToken: Buffer.from(JSON.stringify(token ?? { next: 1 })) };
      }
      await engine.waitForHistory(runId, ctx.signal, until - Date.now());
    }
  };

  const targetRun = async (req: Obj) => {
    await ensureNamespace(engine, req.namespace);
    return resolveRun(engine, req.namespace, req.workflowExecution);
  };

  /**
   * `apply` to the run a request addresses. Without a run id that is the current run; if it closed
   * meanwhile (it continued as new as the request came), the run current now is tried, as on Temporal.
   */
  const onTargetRun = async (req: Obj, apply: (runId: string) => Promise<void>): Promise<void> => {
    for (let tries = 1; ; tries++) {
      const row = await targetRun(req);
      try {
        return await apply(row.run_id);
      } catch (err) {
        if (req.workflowExecution?.runId || tries >= CLOSED_RUN_TRIES || !isWorkflowClosed(err)) throw err;
      }
    }
  };

  const byId = async (req: Obj) => {
    await ensureNamespace(engine, req.namespace);
    const row = await resolveRun(engine, req.namespace, { workflowId: req.workflowId, runId: req.runId || undefined });
    return tokenById(engine, row.run_id, req.activityId);
  };

  return {
    GetSystemInfo: async () => ({
      serverVersion: SERVER_VERSION,
      capabilities: {
        signalAndQueryHeader: true,
        internalErrorDifferentiation: true,
        activityFailureIncludeHeartbeat: true,
        supportsSchedules: true,
        encodedFailureAttributes: true,
        buildIdBasedVersioning: false,
        upsertMemo: true,
        eagerWorkflowStart: true,
        sdkMetadata: true,
        countGroupByExecutionStatus: true,
        nexus: false,
      },
    }),
    GetClusterInfo: async () => ({
      supportedClients: {},
      serverVersion: SERVER_VERSION,
      clusterId: 'syncline-embedded',
      clusterName: 'active',
      historyShardCount: 1,
      persistenceStore: engine.db.backend,
      visibilityStore: engine.db.backend,
      versionInfo: { current: { version: SERVER_VERSION } },
    }),
    DescribeNamespace: async (req) => {
      const row = await sql.namespaceRow(engine.db, req.namespace || 'default');
      if (!row) {
        await ensureNamespace(engine, req.namespace);
      }
      return namespaceInfo(row!);
    },
    ListNamespaces: async () => ({ namespaces: (await sql.listNamespaces(engine.db)).map(namespaceInfo) }),
    RegisterNamespace: async (req) => {
      if (!req.namespace) throw invalidArgument('Namespace is not set on request.');
      const created = await sql.insertNamespace(engine.db, req.namespace, randomUUID(), durationMs(req.workflowExecutionRetentionPeriod) || 259_200_000);
      if (!created) throw new EngineError(grpc.status.ALREADY_EXISTS, 'Namespace already exists.', { type: 'temporal.api.errordetails.v1.NamespaceAlreadyExistsFailure', value: {} });
      return {};
    },
    StartWorkflowExecution: async (req) => {
      checkRequestPayloads(req.input);
      const { runId, started, eager } = await startWorkflow(engine, req);
      return { runId, started, eagerWorkflowTask: eager && new Raw(encodeWithRaw(T.PollWorkflowTaskQueueResponse, await workflowTaskResponse(engine, queries, eager))) };
    },
    SignalWithStartWorkflowExecution: async (req) => {
      checkRequestPayloads(req.input, req.signalInput);
      const { runId, started } = await startWorkflow(engine, req, {
        signalName: req.signalName,
        input: req.signalInput ?? undefined,
        identity: req.identity,
        header: req.header ?? undefined,
      });
      return { runId, started };
    },
    SignalWorkflowExecution: async (req) => {
      checkRequestPayloads(req.input);
      await onTargetRun(req, (runId) =>
        signalRun(engine, runId, { signalName: req.signalName, input: req.input ?? undefined, identity: req.identity, header: req.header ?? undefined }, req.requestId || undefined),
      );
      return {};
    },
    TerminateWorkflowExecution: async (req) => {
      await onTargetRun(req, (runId) => terminateRun(engine, runId, req.reason, req.details ?? undefined, req.identity));
      return {};
    },
    RequestCancelWorkflowExecution: async (req) => {
      await onTargetRun(req, (runId) => requestCancelRun(engine, runId, { cause: req.reason, identity: req.identity }));
      return {};
    },
    DescribeWorkflowExecution: async (req) => {
      await ensureNamespace(engine, req.namespace);
      return describeRun(engine, await resolveRun(engine, req.namespace, req.execution));
    },
    GetWorkflowExecutionHistory: (req, ctx) => history(req, ctx, false),
    GetWorkflowExecutionHistoryReverse: (req, ctx) => history(req, ctx, true),
    PollWorkflowTaskQueue: (req, ctx) => pollWorkflowTask(engine, queries, req, ctx.signal, ctx.waitMs),
    RespondWorkflowTaskCompleted: (req) => completeWorkflowTask(engine, queries, req),
    RespondWorkflowTaskFailed: async (req) => {
      await failWorkflowTask(engine, req);
      return {};
    },
    PollActivityTaskQueue: (req, ctx) => pollActivityTask(engine, req, ctx.signal, ctx.waitMs),
    RecordActivityTaskHeartbeat: (req) => heartbeat(engine, req.taskToken, req.details ?? undefined),
    RecordActivityTaskHeartbeatById: async (req) => heartbeat(engine, await byId(req), req.details ?? undefined),
    RespondActivityTaskCompleted: async (req) => {
      await completeActivity(engine, req.taskToken, req.result ?? undefined, req.identity);
      return {};
    },
    RespondActivityTaskCompletedById: async (req) => {
      await completeActivity(engine, await byId(req), req.result ?? undefined, req.identity);
      return {};
    },
    RespondActivityTaskFailed: async (req) => {
      await failActivity(engine, req.taskToken, req.failure ?? {}, req.identity, req.lastHeartbeatDetails ?? undefined);
      return {};
    },
    RespondActivityTaskFailedById: async (req) => {
      await failActivity(engine, await byId(req), req.failure ?? {}, req.identity, req.lastHeartbeatDetails ?? undefined);
      return {};
    },
    RespondActivityTaskCanceled: async (req) => {
      await cancelActivity(engine, req.taskToken, req.details ?? undefined, req.identity);
      return {};
    },
    RespondActivityTaskCanceledById: async (req) => {
      await cancelActivity(engine, await byId(req), req.details ?? undefined, req.identity);
      return {};
    },
    QueryWorkflow: async (req, ctx) => {
      await ensureNamespace(engine, req.namespace);
      const row = await resolveRun(engine, req.namespace, req.execution);
      const s = (await engine.peek(row.run_id)) ?? row.state;
      // QueryRejectCondition: 2 NOT_OPEN, 3 NOT_COMPLETED_CLEANLY.
      const reject = num(req.queryRejectCondition);
      if ((reject === 2 && s.status !== Status.Running) || (reject === 3 && s.status !== Status.Running && s.status !== Status.Completed)) {
        return { queryRejected: { status: s.status } };
      }
      return queries.ask(s, req.query, ctx.signal);
    },
    UpdateWorkflowExecution: (req, ctx) => updateWorkflow(engine, req, ctx.signal, ctx.waitMs),
    PollWorkflowExecutionUpdate: (req, ctx) => pollUpdate(engine, req, ctx.signal, ctx.waitMs),
    ExecuteMultiOperation: (req, ctx) => updateWithStart(engine, req, ctx.signal, ctx.waitMs),
    ...scheduleHandlers(engine),
    RespondQueryTaskCompleted: async (req) => {
      const tk = decodeToken(req.taskToken, 'q');
      queries.answer(tk.q, req.completedType, req.queryResult ?? undefined, req.errorMessage, req.failure ?? undefined);
      return {};
    },
    ShutdownWorker: async (req) => {
      await shutdownWorker(engine, req.namespace, req.stickyTaskQueue);
      return {};
    },
    ResetStickyTaskQueue: async () => ({}),
    ListWorkflowExecutions: async (req) => {
      await ensureNamespace(engine, req.namespace);
      return listRuns(engine, req.namespace, req.query, num(req.pageSize), req.nextPageToken);
    },
    ListOpenWorkflowExecutions: async (req) => {
      await ensureNamespace(engine, req.namespace);
      return listRuns(engine, req.namespace, "ExecutionStatus = 'Running'", num(req.maximumPageSize), req.nextPageToken);
    },
    ListClosedWorkflowExecutions: async (req) => {
      await ensureNamespace(engine, req.namespace);
      return listRuns(engine, req.namespace, "ExecutionStatus != 'Running'", num(req.maximumPageSize), req.nextPageToken);
    },
    ScanWorkflowExecutions: async (req) => {
      await ensureNamespace(engine, req.namespace);
      return listRuns(engine, req.namespace, req.query, num(req.pageSize), req.nextPageToken);
    },
    CountWorkflowExecutions: async (req) => {
      await ensureNamespace(engine, req.namespace);
      return countRuns(engine, req.namespace, req.query);
    },
  };
}
