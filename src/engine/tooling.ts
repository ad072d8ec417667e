import { status } from '@grpc/grpc-js';
import type { Engine } from './engine';
import { EngineError, invalidArgument, notFound } from './errors';
import type { Obj } from './proto';
import { resetWorkflow } from './reset';
import { searchAttributeHandlers } from './search-attributes';
import type { Handler } from './service';
import { describeTaskQueue } from './task-queues';
import { ensureNamespace } from './workflows';

/**
 * Calls the Temporal Web UI and the `temporal` CLI make beyond what workers and clients need.
 * Features the engine does not have are answered as a Temporal server (1.29) with that feature
 * turned off, or with nothing configured, answers them (service/frontend/workflow_handler.go,
 * errors.go): the tools then show an empty page or their own "disabled" notice instead of failing.
 */

/** As GetClusterInfo names the engine's one cluster (service.ts). */
const CLUSTER_NAME = 'active';
const CLUSTER_ID = 'syncline-embedded';

const permissionDenied = (message: string) => new EngineError(status.PERMISSION_DENIED, message);

/** Worker versioning by build id sets (v0.1) and rules (v0.2): off by default in Temporal (deprecated). */
const VERSIONING_V1_OFF = 'Worker versioning v0.1 (Version Set-based, deprecated) is disabled on this namespace.';
const VERSIONING_V2_OFF = 'Worker versioning v0.2 (Rules-based, deprecated) is disabled on this namespace.';
/**
 * Methods of the API (as @temporalio/proto has it) that a Temporal 1.29 server does not have: grpc-go
 * answers them UNIMPLEMENTED before any handler or namespace check, worded as below.
 */
const NOT_IN_TEMPORAL_1_29 = [
  'CountSchedules', 'CountWorkers', 'CreateWorkerDeployment', 'CreateWorkerDeploymentVersion', 'UpdateWorkerDeploymentVersionComputeConfig',
  'ValidateWorkerDeploymentVersionComputeConfig', 'PauseWorkflowExecution', 'UnpauseWorkflowExecution', 'PollWorkflowExecutionTimeSkipping',
  'StartActivityExecution', 'DescribeActivityExecution', 'PollActivityExecution', 'ListActivityExecutions', 'CountActivityExecutions',
  'RequestCancelActivityExecution', 'TerminateActivityExecution', 'DeleteActivityExecution', 'PauseActivityExecution', 'ResetActivityExecution',
  'UnpauseActivityExecution', 'UpdateActivityExecutionOptions', 'StartNexusOperationExecution', 'DescribeNexusOperationExecution',
  'PollNexusOperationExecution', 'ListNexusOperationExecutions', 'CountNexusOperationExecutions', 'RequestCancelNexusOperationExecution',
  'TerminateNexusOperationExecution', 'DeleteNexusOperationExecution',
];
const unknownMethod = (method: string) => new EngineError(status.UNIMPLEMENTED, `unknown method ${method} for service temporal.api.workflowservice.v1.WorkflowService`);

/**
 * Batch operations run as system workflows of Temporal's worker service, which the engine has not.
 * A start is refused as a server with `frontend.enableBatcher` off refuses it, after the same checks
 * of the request; the other calls answer as a server on which no batch has run (one with batches
 * off refuses the list too, and the Web UI then shows an error page instead of an empty list).
 */
const BATCH_OFF = 'Batch operation feature are disabled on this namespace.';
const requireJobId = (req: Obj) => {
  if (!req.jobId) throw invalidArgument('JobId is not set on request.');
};
/** A batch job is a workflow of that id on Temporal: none exists here. */
const noSuchJob = (req: Obj) => notFound(`workflow not found for ID: ${req.jobId}`);
/** StartBatchOperation's checks: one operation (terminationOperation, signalOperation, ...), a reason, and a query or executions. */
const requireBatch = (req: Obj) => {
  const operation = Object.keys(req).some((key) => key.endsWith('Operation') && req[key]);
  if (!operation || !req.reason || !(req.visibilityQuery || req.executions?.length)) throw invalidArgument('must provide required parameters: BatchType/Reason/Namespace/Query/Executions');
  requireJobId(req);
};

/** `address`: host:port the engine serves on, as ListClusters reports the cluster's frontend. */
export function toolingHandlers(engine: Engine, address: string): Record<string, Handler> {
  const inNamespace =
    (answer: () => object): Handler =>
    async (req) => {
      await ensureNamespace(engine, req.namespace);
      return answer();
    };
  const refused =
    (err: (req: Obj) => Error, check: (req: Obj) => void = () => undefined): Handler =>
    async (req) => {
      await ensureNamespace(engine, req.namespace);
      check(req);
      throw err(req);
    };
  return {
    ...searchAttributeHandlers(engine.db),
    DescribeTaskQueue: async (req) => {
      await ensureNamespace(engine, req.namespace);
      return describeTaskQueue(engine, req);
    },
    ResetWorkflowExecution: (req) => resetWorkflow(engine, req),
    ...Object.fromEntries(
      NOT_IN_TEMPORAL_1_29.map((method): [string, Handler] => [
        method,
        async () => {
          throw unknownMethod(method);
        },
      ]),
    ),
    // Workers are listed from their heartbeats, which the engine does not ask for (no workerHeartbeats capability).
    ListWorkers: refused(() => new EngineError(status.UNIMPLEMENTED, 'method ListWorkers not supported')),
    ListWorkerDeployments: inNamespace(() => ({ workerDeployments: [] })),
    ListBatchOperations: inNamespace(() => ({ operationInfo: [] })),
    StartBatchOperation: refused(() => permissionDenied(BATCH_OFF), requireBatch),
    DescribeBatchOperation: refused(noSuchJob, requireJobId),
    StopBatchOperation: refused(noSuchJob, (req) => {
      requireJobId(req);
      if (!req.reason) throw invalidArgument('Reason is not set on request.');
    }),
    GetWorkerBuildIdCompatibility: refused(() => permissionDenied(VERSIONING_V1_OFF)),
    UpdateWorkerBuildIdCompatibility: refused(() => permissionDenied(VERSIONING_V1_OFF)),
    GetWorkerVersioningRules: refused(() => permissionDenied(VERSIONING_V2_OFF)),
    UpdateWorkerVersioningRules: refused(() => permissionDenied(VERSIONING_V2_OFF)),
    // Temporal checks the v0.1 flag here but words the error as v0.2's.
    GetWorkerTaskReachability: refused(() => permissionDenied(VERSIONING_V2_OFF)),
    ListArchivedWorkflowExecutions: refused(() => invalidArgument('Cluster is not configured for visibility archival.')),
    // OperatorService
    ListNexusEndpoints: async () => ({ endpoints: [] }),
    ListClusters: async () => ({
      clusters: [{ clusterName: CLUSTER_NAME, clusterId: CLUSTER_ID, address, initialFailoverVersion: 1, historyShardCount: 1, isConnectionEnabled: true }],
    }),
  };
}
