import { randomUUID } from 'node:crypto';
import { status } from '@grpc/grpc-js';
import { temporal } from '@temporalio/proto';
import { harness, type Harness } from './harness';
import { greet, sleeper, tagged } from './workflows';

jest.setTimeout(60_000);

let h: Harness;
const tq = 'engine-visibility';
const prefix = `vis-${randomUUID().slice(0, 8)}`;

beforeAll(async () => {
  h = await harness(tq);
  await h.client.connection.operatorService.addSearchAttributes({
    namespace: 'default',
    searchAttributes: { CustomKeywordField: temporal.api.enums.v1.IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD },
  });
  await h.startWorker();
  const done = await Promise.all([
    h.client.workflow.start(greet, { taskQueue: tq, workflowId: `${prefix}-greet-1`, args: ['a'] }),
    h.client.workflow.start(greet, { taskQueue: tq, workflowId: `${prefix}-greet-2`, args: ['b'] }),
    h.client.workflow.start(tagged, { taskQueue: tq, workflowId: `${prefix}-tagged-1`, args: ['red'] }),
    h.client.workflow.start(tagged, { taskQueue: tq, workflowId: `${prefix}-tagged-2`, args: ['blue'] }),
  ]);
  await Promise.all(done.map((x) => x.result()));
  await h.client.workflow.start(sleeper, { taskQueue: tq, workflowId: `${prefix}-sleeper`, args: [60_000] });
});

afterAll(async () => {
  await h?.close();
});

async function ids(query: string): Promise<string[]> {
  const out: string[] = [];
  for await (const wf of h.client.workflow.list({ query })) out.push(wf.workflowId);
  return out.sort();
}

test('list and count filter by id, type, status, keywords; IN, STARTS_WITH, OR and parentheses', async () => {
  expect(await ids(`WorkflowType = 'greet'`)).toEqual([`${prefix}-greet-1`, `${prefix}-greet-2`]);
  expect(await ids(`ExecutionStatus = 'Running'`)).toEqual([`${prefix}-sleeper`]);
  expect(await ids(`WorkflowId STARTS_WITH '${prefix}-tag' AND ExecutionStatus = 'Completed'`)).toEqual([`${prefix}-tagged-1`, `${prefix}-tagged-2`]);
  expect(await ids(`CustomKeywordField = 'red'`)).toEqual([`${prefix}-tagged-1`]);
  expect(await ids(`WorkflowId IN ('${prefix}-greet-1', '${prefix}-sleeper')`)).toEqual([`${prefix}-greet-1`, `${prefix}-sleeper`]);
  expect(await ids(`(WorkflowType = 'greet' OR WorkflowType = 'sleeper') AND WorkflowId != '${prefix}-greet-2'`)).toEqual([`${prefix}-greet-1`, `${prefix}-sleeper`]);
  expect((await h.client.workflow.count(`ExecutionStatus = 'Completed'`)).count).toBe(4);
  expect((await h.client.workflow.count()).count).toBe(5);
  const grouped = await h.client.workflow.count('GROUP BY ExecutionStatus');
  expect(grouped.groups.map((g) => [g.groupValues, g.count])).toEqual([
    // The client's legacy search attribute converter turns each keyword into a one-element list.
    [[['Running']], 1],
    [[['Completed']], 4],
  ]);
  const ordered: string[] = [];
  for await (const wf of h.client.workflow.list({ query: `WorkflowType = 'greet' ORDER BY StartTime ASC` })) ordered.push(wf.workflowId);
  expect(ordered).toHaveLength(2);
});

test('a malformed filter is INVALID_ARGUMENT', async () => {
  await expect(h.client.workflowService.countWorkflowExecutions({ namespace: 'default', query: `WorkflowId = ` })).rejects.toMatchObject({ code: status.INVALID_ARGUMENT });
  // STARTS_WITH is for keywords and text only (the SQL of a number would fail).
  await expect(h.client.workflowService.countWorkflowExecutions({ namespace: 'default', query: `HistoryLength STARTS_WITH '1'` })).rejects.toMatchObject({ code: status.INVALID_ARGUMENT });
});

test('search attributes registered through OperatorService are listed', async () => {
  const res = await h.client.connection.operatorService.listSearchAttributes({ namespace: 'default' });
  expect(res.customAttributes).toEqual({ CustomKeywordField: temporal.api.enums.v1.IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD });
});

test('system RPCs answer; unsupported ones are UNIMPLEMENTED', async () => {
  const svc = h.client.workflowService;
  expect((await svc.getSystemInfo({})).capabilities).toMatchObject({ sdkMetadata: true, eagerWorkflowStart: true });
  const ns = await svc.describeNamespace({ namespace: 'default' });
  expect(ns.namespaceInfo).toMatchObject({ name: 'default', capabilities: { eagerWorkflowStart: true } });
  expect((await svc.listNamespaces({})).namespaces.map((n) => n.namespaceInfo?.name)).toContain('default');
  expect((await svc.getClusterInfo({})).clusterName).toBe('active');
  await expect(svc.describeNamespace({ namespace: 'nope' })).rejects.toMatchObject({ code: status.NOT_FOUND });
  await expect(svc.countSchedules({ namespace: 'default' })).rejects.toMatchObject({ code: status.UNIMPLEMENTED });
});

test('DescribeTaskQueue shows the poller; history reads backwards', async () => {
  const tqd = await h.client.workflowService.describeTaskQueue({ namespace: 'default', taskQueue: { name: tq }, taskQueueType: temporal.api.enums.v1.TaskQueueType.TASK_QUEUE_TYPE_WORKFLOW });
  expect(tqd.pollers.length).toBe(1);
  const res = await h.client.workflowService.getWorkflowExecutionHistoryReverse({ namespace: 'default', execution: { workflowId: `${prefix}-greet-1` }, maximumPageSize: 2 });
  const idsRead = res.history!.events!.map((e) => Number(e.eventId));
  expect(idsRead[0]).toBeGreaterThan(idsRead[1]);
  expect(res.history!.events![0].eventType).toBe(temporal.api.enums.v1.EventType.EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED);
  expect(res.nextPageToken?.length).toBeGreaterThan(0);
});
