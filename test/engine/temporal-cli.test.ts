import { execFile } from 'node:child_process';
import * as grpc from '@grpc/grpc-js';
import { status } from '@grpc/grpc-js';
import { Client, Connection } from '@temporalio/client';
import { NativeConnection, Worker } from '@temporalio/worker';
import { temporal } from '@temporalio/proto';
import { TASK_QUEUE } from '../../src/workflows/types';
import * as activities from './activities';
import { workflowsPath } from './harness';
import { startSyncsForTools, type SyncsForTools } from './tooling';
import { parent } from './workflows';
import { waitFor, type OrchestrationTest } from '../orchestration/helpers';
import { SKIP_CLUSTER_ENV, temporalCli } from '../helpers/temporal';

/**
 * The Temporal toolchain on the embedded engine: the calls the `temporal` CLI and the Web UI make,
 * answered as a Temporal server answers them, first through the SDK's gRPC client, then through the
 * real `temporal` CLI (built from its Go module, as for the cluster-mode tests) against sync
 * workflows of a running Syncline.
 */

jest.setTimeout(120_000);

let t: OrchestrationTest;
let connection: Connection;
let client: Client;
let workflowIdOf: Record<string, string>;
let jobCount: SyncsForTools['jobCount'];

beforeAll(async () => {
  ({ t, workflowIdOf, jobCount } = await startSyncsForTools(['cli-1', 'cli-2', 'cli-3']));
  connection = await Connection.connect({ address: t.orchestration.address });
  client = new Client({ connection });
});

afterAll(async () => {
  await connection?.close();
  await t?.close();
});

describe('calls of the UI and the CLI, through gRPC', () => {
  const ns = 'default';

  test('visibility: parent, IS NULL, HistoryLength, custom attributes; an unknown attribute is refused as Temporal words it', async () => {
    const svc = connection.workflowService;
    const count = async (query: string) => Number((await svc.countWorkflowExecutions({ namespace: ns, query })).count);
    const all = await count(`WorkflowType = 'syncWorkflow'`);
    expect(all).toBeGreaterThanOrEqual(3);
    expect(await count(`WorkflowType = 'syncWorkflow' AND ParentWorkflowId IS NULL`)).toBe(all);
    expect(await count(`ParentWorkflowId = 'no-such-parent'`)).toBe(0);
    expect(await count(`WorkflowType = 'syncWorkflow' AND HistoryLength > 5`)).toBe(all);
    expect(await count(`WorkflowType = 'syncWorkflow' AND HistoryLength > 100000`)).toBe(0);
    expect(await count(`SynclineConnection = 'cli-1'`)).toBe(1);
    await expect(svc.listWorkflowExecutions({ namespace: ns, query: `NoSuchAttribute = 'x'` })).rejects.toMatchObject({
      code: status.INVALID_ARGUMENT,
      details: "invalid query: invalid expression: column name 'NoSuchAttribute' is not a valid search attribute",
    });
    await expect(svc.countWorkflowExecutions({ namespace: ns, query: `ExecutionStatus = 'Sleeping'` })).rejects.toMatchObject({
      code: status.INVALID_ARGUMENT,
      details: "invalid query: invalid expression: invalid ExecutionStatus value 'Sleeping'",
    });
  });

  test('visibility: children found by ParentWorkflowId, and left out by ParentWorkflowId IS NULL', async () => {
    const nativeConnection = await NativeConnection.connect({ address: t.orchestration.address });
    const worker = await Worker.create({ connection: nativeConnection, taskQueue: 'tooling-children', workflowsPath, activities, shutdownGraceTime: '1s' });
    try {
      const parentId = 'tooling-parent';
      await worker.runUntil(client.workflow.execute(parent, { taskQueue: 'tooling-children', workflowId: parentId, args: [21] }));
      const ids = async (query: string) => {
        const out: string[] = [];
        for await (const w of client.workflow.list({ query })) out.push(w.workflowId);
        return out.sort();
      };
      const children = await ids(`ParentWorkflowId = '${parentId}'`);
      expect(children).toHaveLength(2);
      expect(children).toContain(`${parentId}-acc`);
      expect(await ids(`WorkflowId STARTS_WITH '${parentId}' AND ParentWorkflowId IS NULL`)).toEqual([parentId]);
      expect(await ids('ParentWorkflowId IS NOT NULL')).toEqual(children);
      // A run started by no parent is its own root; a child's root is its parent's root.
      const family = await ids(`RootWorkflowId = '${parentId}'`);
      expect(family).toEqual([parentId, ...children].sort());
      const parentRun = await client.workflow.getHandle(parentId).describe();
      expect(await ids(`RootRunId = '${parentRun.runId}' AND ParentWorkflowId IS NOT NULL`)).toEqual(children);
      const described = await connection.workflowService.describeWorkflowExecution({ namespace: 'default', execution: { workflowId: children[0] } });
      expect(described.workflowExecutionInfo?.rootExecution).toMatchObject({ workflowId: parentId, runId: parentRun.runId });
    } finally {
      await nativeConnection.close();
    }
  });

  test('search attributes: every system one is listed, the custom ones apart', async () => {
    const listed = await connection.operatorService.listSearchAttributes({ namespace: ns });
    expect(Object.keys(listed.systemAttributes ?? {})).toEqual(
      expect.arrayContaining(['ParentWorkflowId', 'RootWorkflowId', 'HistorySizeBytes', 'ExecutionDuration', 'TemporalChangeVersion', 'BuildIds', 'TemporalScheduledById']),
    );
    expect(Object.keys(listed.systemAttributes ?? {})).toHaveLength(29);
    expect(listed.customAttributes).toMatchObject({ SynclineConnection: temporal.api.enums.v1.IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD });
    const keys = (await connection.workflowService.getSearchAttributes({})).keys ?? {};
    expect(keys).toMatchObject({ ParentWorkflowId: temporal.api.enums.v1.IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD, SynclineSync: temporal.api.enums.v1.IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD });
    await expect(connection.operatorService.addSearchAttributes({ namespace: ns, searchAttributes: { WorkflowId: 2 } })).rejects.toMatchObject({
      code: status.INVALID_ARGUMENT,
      details: 'Search attribute WorkflowId is reserved by system.',
    });
  });

  test('DescribeTaskQueue: the pollers by identity, per type; enhanced mode in versionsInfo; none on the Nexus queue', async () => {
    const svc = connection.workflowService;
    const identity = t.orchestration.worker!.options.identity;
    const legacy = await svc.describeTaskQueue({ namespace: ns, taskQueue: { name: TASK_QUEUE }, taskQueueType: temporal.api.enums.v1.TaskQueueType.TASK_QUEUE_TYPE_ACTIVITY });
    expect(legacy.pollers.map((p) => p.identity)).toContain(identity);
    const nexus = await svc.describeTaskQueue({ namespace: ns, taskQueue: { name: TASK_QUEUE }, taskQueueType: temporal.api.enums.v1.TaskQueueType.TASK_QUEUE_TYPE_NEXUS });
    expect(nexus.pollers).toEqual([]);
    const enhanced = await svc.describeTaskQueue({
      namespace: ns,
      taskQueue: { name: TASK_QUEUE },
      apiMode: temporal.api.enums.v1.DescribeTaskQueueMode.DESCRIBE_TASK_QUEUE_MODE_ENHANCED,
      reportPollers: true,
      reportStats: true,
    });
    expect(enhanced.pollers).toEqual([]);
    const types = enhanced.versionsInfo?.['']?.typesInfo ?? {};
    expect(Object.keys(types).sort()).toEqual(['1', '2']);
    expect(types[1]!.pollers!.map((p) => p.identity)).toContain(identity);
    expect(types[2]!.stats).toMatchObject({ approximateBacklogCount: expect.anything() });
  });

  test('features the engine has not answer as a Temporal server with them turned off', async () => {
    const svc = connection.workflowService;
    const tq = { namespace: ns, taskQueue: TASK_QUEUE };
    // No batch has run (a server with batches off would refuse the list, and the UI show an error page).
    expect((await svc.listBatchOperations({ namespace: ns })).operationInfo).toEqual([]);
    await expect(svc.listWorkers({ namespace: ns })).rejects.toMatchObject({ code: status.UNIMPLEMENTED, details: 'method ListWorkers not supported' });
    // Methods newer than Temporal 1.29 are unknown to its gRPC server, whatever the namespace.
    await expect(svc.countWorkers({ namespace: 'no-such-namespace' })).rejects.toMatchObject({
      code: status.UNIMPLEMENTED,
      details: 'unknown method CountWorkers for service temporal.api.workflowservice.v1.WorkflowService',
    });
    expect((await svc.listWorkerDeployments({ namespace: ns })).workerDeployments).toEqual([]);
    expect((await connection.operatorService.listNexusEndpoints({})).endpoints).toEqual([]);
    const { clusters } = await connection.operatorService.listClusters({});
    expect(clusters).toMatchObject([{ clusterName: 'active', address: t.orchestration.address, isConnectionEnabled: true }]);
    await expect(svc.getWorkerBuildIdCompatibility(tq)).rejects.toMatchObject({ code: status.PERMISSION_DENIED, details: expect.stringMatching(/^Worker versioning v0\.1 .* is disabled on this namespace\.$/) });
    await expect(svc.getWorkerVersioningRules(tq)).rejects.toMatchObject({ code: status.PERMISSION_DENIED, details: expect.stringMatching(/^Worker versioning v0\.2 .* is disabled/) });
    await expect(svc.getWorkerTaskReachability({ namespace: ns, buildIds: ['x'] })).rejects.toMatchObject({ code: status.PERMISSION_DENIED });
    // Started as on a server with frontend.enableBatcher off: refused, after the same checks of the request.
    const batch = { namespace: ns, jobId: 'j', visibilityQuery: 'WorkflowId = "x"', reason: 'r', terminationOperation: {} };
    await expect(svc.startBatchOperation(batch)).rejects.toMatchObject({ code: status.PERMISSION_DENIED, details: 'Batch operation feature are disabled on this namespace.' });
    await expect(svc.startBatchOperation({ ...batch, terminationOperation: undefined })).rejects.toMatchObject({
      code: status.INVALID_ARGUMENT,
      details: 'must provide required parameters: BatchType/Reason/Namespace/Query/Executions',
    });
    await expect(svc.startBatchOperation({ ...batch, jobId: '' })).rejects.toMatchObject({ code: status.INVALID_ARGUMENT, details: 'JobId is not set on request.' });
    await expect(svc.describeBatchOperation({ namespace: ns, jobId: 'j' })).rejects.toMatchObject({ code: status.NOT_FOUND, details: 'workflow not found for ID: j' });
    await expect(svc.stopBatchOperation({ namespace: ns, jobId: 'j' })).rejects.toMatchObject({ code: status.INVALID_ARGUMENT, details: 'Reason is not set on request.' });
    await expect(svc.listArchivedWorkflowExecutions({ namespace: ns, query: '' })).rejects.toMatchObject({
      code: status.INVALID_ARGUMENT,
      details: 'Cluster is not configured for visibility archival.',
    });
    await expect(svc.listWorkers({ namespace: 'no-such-namespace' })).rejects.toMatchObject({ code: status.NOT_FOUND });
  });

  test('the gRPC health check answers SERVING', async () => {
    const raw = new grpc.Client(t.orchestration.address, grpc.credentials.createInsecure());
    const check = (service: string) =>
      new Promise<Buffer>((resolve, reject) =>
        // HealthCheckRequest { string service = 1 }; HealthCheckResponse { ServingStatus status = 1 }
        raw.makeUnaryRequest('/grpc.health.v1.Health/Check', (s: string) => Buffer.concat([Buffer.from([10, s.length]), Buffer.from(s)]), (b: Buffer) => b, service, (err, value) =>
          err ? reject(err) : resolve(value!),
        ),
      );
    try {
      expect([...(await check('temporal.api.workflowservice.v1.WorkflowService'))]).toEqual([8, 1]);
      expect([...(await check(''))]).toEqual([8, 1]);
      await expect(check('no.such.Service')).rejects.toMatchObject({ code: status.NOT_FOUND });
    } finally {
      raw.close();
    }
  });

  test('ResetWorkflowExecution to the first workflow task: a new run replays the copied history and runs the sync again; the old run is terminated', async () => {
    const workflowId = workflowIdOf['cli-3']!;
    const before = await client.workflow.getHandle(workflowId).describe();
    const events = (await client.workflow.getHandle(workflowId).fetchHistory()).events ?? [];
    const firstCompleted = events.find((e) => e.eventType === temporal.api.enums.v1.EventType.EVENT_TYPE_WORKFLOW_TASK_COMPLETED)!;
    const jobsBefore = await jobCount('cli-3');
    const { runId } = await connection.workflowService.resetWorkflowExecution({
      namespace: ns,
      workflowExecution: { workflowId, runId: before.runId },
      reason: 'test reset',
      workflowTaskFinishEventId: firstCompleted.eventId,
      requestId: 'reset-1',
    });
    expect(runId).not.toBe(before.runId);
    // The same request again (a client's retry) makes no other run.
    const again = await connection.workflowService.resetWorkflowExecution({
      namespace: ns,
      workflowExecution: { workflowId, runId: before.runId },
      reason: 'test reset',
      workflowTaskFinishEventId: firstCompleted.eventId,
      requestId: 'reset-1',
    });
    expect(again.runId).toBe(runId);
    const old = await client.workflow.getHandle(workflowId, before.runId).describe();
    expect(old.status.name).toBe('TERMINATED');
    const newHistory = (await client.workflow.getHandle(workflowId, runId!).fetchHistory()).events ?? [];
    expect(newHistory.slice(0, Number(firstCompleted.eventId) - 1).map((e) => e.eventType)).toEqual(events.slice(0, Number(firstCompleted.eventId) - 1).map((e) => e.eventType));
    expect(newHistory[Number(firstCompleted.eventId) - 1]).toMatchObject({
      eventType: temporal.api.enums.v1.EventType.EVENT_TYPE_WORKFLOW_TASK_FAILED,
      workflowTaskFailedEventAttributes: { cause: temporal.api.enums.v1.WorkflowTaskFailedCause.WORKFLOW_TASK_FAILED_CAUSE_RESET_WORKFLOW, baseRunId: before.runId, newRunId: runId },
    });
    // The workflow code runs from the first task again: the sync runs once more.
    await waitFor('a run after the reset', async () => (await jobCount('cli-3')) > jobsBefore, 30_000);
    expect((await client.workflow.getHandle(workflowId).describe()).runId).toBe(runId);
    const refused = (requestId: string | undefined, workflowTaskFinishEventId: number) =>
      expect(
        connection.workflowService.resetWorkflowExecution({ namespace: ns, workflowExecution: { workflowId }, reason: 'x', workflowTaskFinishEventId: workflowTaskFinishEventId as never /* int64: protobufjs takes a number */, requestId }),
      ).rejects;
    await refused('reset-2', 1).toMatchObject({ code: status.INVALID_ARGUMENT, details: 'Workflow task finish ID must be > 1 && <= workflow last event ID.' });
    await refused(undefined, Number(firstCompleted.eventId)).toMatchObject({ code: status.INVALID_ARGUMENT, details: 'RequestId is not set on request.' });
    await refused('r'.repeat(1001), Number(firstCompleted.eventId)).toMatchObject({ code: status.INVALID_ARGUMENT, details: 'RequestId length exceeds limit.' });
  });
});

/** The `temporal` binary: when it is missing these tests fail, unless the cluster tests are opted out of (then they are not defined). */
const cli = temporalCli();

if (cli || process.env[SKIP_CLUSTER_ENV] !== '1') describe('the temporal CLI', () => {
  // Without the binary (and no opt-out) the first test fails with how to install it.
  const run = (args: string[]): Promise<string> => {
    if (!cli) throw new Error(`The Temporal CLI (temporal) is not installed: go install github.com/temporalio/cli/cmd/temporal@v1.5.1, or set ${SKIP_CLUSTER_ENV}=1`);
    return new Promise((resolve, reject) =>
      execFile(cli, [...args, '--address', t.orchestration.address, '--namespace', 'default', '--output', 'json', '--color', 'never'], { timeout: 30_000 }, (err, stdout, stderr) =>
        err ? reject(new Error(`temporal ${args.join(' ')}: ${err.message}\n${stderr}${stdout}`)) : resolve(stdout),
      ),
    );
  };
  const json = async (args: string[]) => JSON.parse(await run(args));

  test('workflow list and count', async () => {
    const listed: any[] = await json(['workflow', 'list', '--query', `WorkflowType = 'syncWorkflow' AND ExecutionStatus = 'Running'`]);
    expect(listed.map((w) => w.execution.workflowId)).toEqual(expect.arrayContaining(Object.values(workflowIdOf)));
    const counted = await json(['workflow', 'count', '--query', `SynclineConnection = 'cli-1'`]);
    expect(Number(counted.count)).toBe(1);
    await expect(run(['workflow', 'list', '--query', `Nope = 'x'`])).rejects.toThrow(/column name 'Nope' is not a valid search attribute/);
  });

  test('workflow describe, show, query status and stack', async () => {
    const workflowId = workflowIdOf['cli-1']!;
    const described = await json(['workflow', 'describe', '--workflow-id', workflowId]);
    expect(described.workflowExecutionInfo).toMatchObject({ execution: { workflowId }, type: { name: 'syncWorkflow' }, taskQueue: TASK_QUEUE });
    expect(described.workflowExecutionInfo.status).toMatch(/RUNNING/);
    const shown = await json(['workflow', 'show', '--workflow-id', workflowId]);
    const types: string[] = shown.events.map((e: { eventType: string }) => e.eventType);
    expect(types[0]).toMatch(/WORKFLOW_EXECUTION_STARTED/);
    expect(types).toEqual(expect.arrayContaining([expect.stringMatching(/ACTIVITY_TASK_COMPLETED/), expect.stringMatching(/TIMER_STARTED/)]));
    const queried = await json(['workflow', 'query', '--workflow-id', workflowId, '--type', 'status']);
    expect(queried.queryResult[0]).toMatchObject({ key: { connectionId: 'cli-1', sync: 'items' }, lastRun: { success: true }, paused: false });
    // The workflow waits for its next run: on the timer and the condition of Alarm.until (src/workflows/sync.ts).
    const stack = await json(['workflow', 'stack', '--workflow-id', workflowId]);
    expect(stack.queryResult[0]).toMatch(/at then \(.*src\/workflows\/sync\.ts:\d+:\d+\)\n\s+at until \(.*src\/workflows\/sync\.ts:\d+:\d+\)/);
  });

  test('workflow signal: trigger runs the sync now', async () => {
    const before = await jobCount('cli-1');
    await run(['workflow', 'signal', '--workflow-id', workflowIdOf['cli-1']!, '--name', 'trigger']);
    await waitFor('a triggered run', async () => (await jobCount('cli-1')) > before, 30_000);
  });

  test('workflow cancel and terminate', async () => {
    await run(['workflow', 'cancel', '--workflow-id', workflowIdOf['cli-2']!]);
    await waitFor('the canceled sync workflow', async () => (await client.workflow.getHandle(workflowIdOf['cli-2']!).describe()).status.name === 'CANCELLED');
    const reason = 'terminated from the CLI';
    await run(['workflow', 'terminate', '--workflow-id', workflowIdOf['cli-1']!, '--reason', reason]);
    const shown = await json(['workflow', 'show', '--workflow-id', workflowIdOf['cli-1']!]);
    expect(shown.events.at(-1)).toMatchObject({ workflowExecutionTerminatedEventAttributes: { reason } });
  });

  test('workflow reset --type LastWorkflowTask', async () => {
    const workflowId = workflowIdOf['cli-3']!;
    const before = await client.workflow.getHandle(workflowId).describe();
    const reset = await json(['workflow', 'reset', '--workflow-id', workflowId, '--type', 'LastWorkflowTask', '--reason', 'cli reset', '--yes']);
    expect(reset.runId).toBeTruthy();
    expect(reset.runId).not.toBe(before.runId);
    expect((await client.workflow.getHandle(workflowId, before.runId).describe()).status.name).toBe('TERMINATED');
    const after = await json(['workflow', 'describe', '--workflow-id', workflowId]);
    expect(after.workflowExecutionInfo.execution.runId).toBe(reset.runId);
    expect(after.workflowExecutionInfo.status).toMatch(/RUNNING/);
  });

  test('task-queue describe (enhanced) lists the worker by its identity', async () => {
    const described = await json(['task-queue', 'describe', '--task-queue', TASK_QUEUE]);
    const text = JSON.stringify(described);
    expect(text).toContain(t.orchestration.worker!.options.identity);
  });

  test('operator cluster health, namespace list and describe, search-attribute list', async () => {
    expect(await run(['operator', 'cluster', 'health'])).toMatch(/SERVING/);
    const namespaces: any[] = await json(['operator', 'namespace', 'list']);
    expect(namespaces.map((n) => n.namespaceInfo.name)).toContain('default');
    const described = await json(['operator', 'namespace', 'describe']);
    expect(described.namespaceInfo).toMatchObject({ name: 'default', state: expect.stringMatching(/REGISTERED/) });
    const attrs = await json(['operator', 'search-attribute', 'list']);
    expect(Object.keys(attrs.systemAttributes)).toHaveLength(29);
    expect(attrs.systemAttributes).toMatchObject({ ParentWorkflowId: 'INDEXED_VALUE_TYPE_KEYWORD', TemporalChangeVersion: 'INDEXED_VALUE_TYPE_KEYWORD_LIST' });
    expect(attrs.customAttributes).toMatchObject({ SynclineConnection: 'INDEXED_VALUE_TYPE_KEYWORD' });
  });
});
