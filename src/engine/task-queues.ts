import type { Engine } from './engine';
import { invalidArgument } from './errors';
import type { QueueKind } from './matching';
import { enumValue, timestamp, type Obj } from './proto';

/**
 * DescribeTaskQueue as Temporal's frontend and matching answer it (service/matching
 * matching_engine.go): the legacy mode gives the pollers of one task queue type, with its status
 * and stats when asked; the enhanced mode (api_mode ENHANCED, what the Go SDK and so
 * `temporal task-queue describe` use) gives them per build id and type in `versionsInfo`. The
 * engine has no worker versioning: everything is under the unversioned build id "".
 */

/** How long a worker stays listed after its last poll (Temporal's poller history keeps 5 minutes). */
const POLLER_HISTORY_MS = 5 * 60_000;
/** Temporal's default rate limit of a task queue, reported per poller. */
const DEFAULT_RATE_PER_SECOND = 100_000;

const TYPE_ENUM = 'temporal.api.enums.v1.TaskQueueType';
const WORKFLOW = 1;
const ACTIVITY = 2;
const ENHANCED = 1; // DescribeTaskQueueMode
const STICKY = 2; // TaskQueueKind

/** The engine's queue of a task queue type; Nexus (3) has none: no worker polls one here. */
function queueKind(type: number): QueueKind | undefined {
  return type === WORKFLOW ? 'workflow' : type === ACTIVITY ? 'activity' : undefined;
}

function pollers(engine: Engine, namespace: string, name: string, type: number): Obj[] {
  const kind = queueKind(type);
  if (!kind) return [];
  return engine.matching.pollers(namespace, kind, name, POLLER_HISTORY_MS).map((p) => ({
    lastAccessTime: timestamp(p.lastAccessTime),
    identity: p.identity,
    ratePerSecond: DEFAULT_RATE_PER_SECOND,
  }));
}

function stats(engine: Engine, namespace: string, name: string, type: number): Obj {
  const kind = queueKind(type);
  return {
    approximateBacklogCount: kind ? engine.matching.backlog(namespace, kind, name) : 0,
    tasksAddRate: 0,
    tasksDispatchRate: 0,
  };
}

export function describeTaskQueue(engine: Engine, req: Obj): Obj {
  const namespace: string = req.namespace;
  const name: string | undefined = req.taskQueue?.name;
  if (!name) throw invalidArgument('TaskQueue is not set on request.');
  const enhanced = enumValue('temporal.api.enums.v1.DescribeTaskQueueMode', req.apiMode) === ENHANCED;
  const sticky = enumValue('temporal.api.enums.v1.TaskQueueKind', req.taskQueue?.kind) === STICKY;
  if (!enhanced) {
    const type = enumValue(TYPE_ENUM, req.taskQueueType) || WORKFLOW;
    const kind = queueKind(type);
    return {
      pollers: pollers(engine, namespace, name, type),
      stats: req.reportStats ? stats(engine, namespace, name, type) : undefined,
      taskQueueStatus: req.includeTaskQueueStatus
        ? { backlogCountHint: kind ? engine.matching.backlog(namespace, kind, name) : 0, readLevel: 0, ackLevel: 0, ratePerSecond: DEFAULT_RATE_PER_SECOND }
        : undefined,
      // No worker deployments: the queue's current version is "unversioned", as Temporal reports it.
      versioningInfo: sticky ? undefined : { currentVersion: '__unversioned__' },
    };
  }
  if (sticky) {
    throw invalidArgument('Enhanced DescribeTaskQueue is not valid for a sticky queue, use api_mode=UNSPECIFIED or a normal queue.');
  }
  const buildIds: string[] = req.versions?.buildIds?.length ? req.versions.buildIds : [''];
  const types: number[] = (req.taskQueueTypes?.length ? req.taskQueueTypes : [WORKFLOW, ACTIVITY]).map((t: unknown) => enumValue(TYPE_ENUM, t));
  const versionsInfo: Record<string, Obj> = {};
  for (const buildId of buildIds) {
    const typesInfo: Record<number, Obj> = {};
    for (const type of types) {
      // Workers of the engine are unversioned: only the unversioned build id has any.
      const unversioned = buildId === '';
      typesInfo[type] = {
        pollers: req.reportPollers && unversioned ? pollers(engine, namespace, name, type) : [],
        stats: req.reportStats ? (unversioned ? stats(engine, namespace, name, type) : {}) : undefined,
      };
    }
    // Reachability needs versioning rules, which the engine has none of: "unspecified", as Temporal without them.
    versionsInfo[buildId] = { typesInfo, taskReachability: 'BUILD_ID_TASK_REACHABILITY_UNSPECIFIED' };
  }
  return { versionsInfo };
}
