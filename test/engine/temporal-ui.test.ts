import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { chromium, type Browser, type Page } from 'playwright-core';
import { findTemporalUi, startTemporalUi, type TemporalUi } from '../../src/cli/temporal-ui';
import { syncWorkflowId } from '../../src/worker/workflow-ids';
import { TASK_QUEUE } from '../../src/workflows/types';
import { waitFor, type OrchestrationTest } from '../orchestration/helpers';
import { spawnCli, stdoutMatch } from '../helpers/cli';
import { freePort } from '../helpers/temporal';
import { startSyncsForTools, type SyncsForTools } from './tooling';

/**
 * The real Temporal Web UI (its Go server, `temporal-ui-server`) against Syncline's embedded engine
 * with sync workflows in it, in headless Chromium: every page loads without an error banner and
 * shows the engine's data; signal, cancel, terminate and reset from the UI work.
 * Screenshots go to test-artifacts/.
 */
jest.setTimeout(120_000);

// The callbacks handed to page.evaluate and waitForFunction run in the browser.
declare const document: any;

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const ARTIFACTS = path.join(__dirname, '../../test-artifacts');
const INSTALL_HINT = 'GOBIN=$HOME/go/bin go install github.com/temporalio/ui-server/v2/cmd/server@v2.55.0 && mv $HOME/go/bin/server $HOME/go/bin/temporal-ui-server';

/** A sync that is not started on its own: started, its run takes a while, so its runSync activity is pending while the UI looks. */
const SLOW_SYNC = {
  yaml: `      slow:
        runs: every hour
        output: Item
        endpoint: GET /slow-items
        auto_start: false
`,
  code: {
    'sync/slow': `module.exports = async function fetchData(nango) {
  await nango.get({ endpoint: '/slow', params: { ms: 15000 } });
  await nango.batchSave([{ id: '1', name: 'slow' }], 'Item');
};`,
  },
};

let t: OrchestrationTest;
let ui: TemporalUi;
let browser: Browser;
let page: Page;
let connection: Connection;
let client: Client;
let workflowIdOf: Record<string, string>;
let jobCount: SyncsForTools['jobCount'];
const apiErrors: string[] = [];

beforeAll(async () => {
  const binary = findTemporalUi('auto');
  if (!binary) throw new Error(`The Temporal UI server (temporal-ui-server) is not installed: ${INSTALL_HINT}`);
  if (!existsSync(CHROMIUM)) throw new Error(`Chromium not found at ${CHROMIUM}: apt-get install chromium, or set CHROMIUM_PATH`);
  mkdirSync(ARTIFACTS, { recursive: true });
  let syncs: SyncsForTools;
  [syncs, browser] = await Promise.all([startSyncsForTools(['ui-1', 'ui-2', 'ui-3'], SLOW_SYNC), chromium.launch({ executablePath: CHROMIUM, headless: true, args: ['--no-sandbox', '--disable-dev-shm-usage'] })]);
  ({ t, workflowIdOf, jobCount } = syncs);
  ui = await startTemporalUi({ binary, temporalAddress: t.orchestration.address, port: await freePort() });
  connection = await Connection.connect({ address: t.orchestration.address });
  client = new Client({ connection });
  page = await browser.newPage({ viewport: { width: 1400, height: 1000 } });
  page.on('response', async (r) => {
    // CountSchedules came after Temporal 1.29: the UI asks for it and, as with a 1.29 server, shows no count when it is unimplemented.
    if (r.status() === 501 && r.url().includes('/schedule-count')) return;
    if (r.url().includes('/api/v1/') && r.status() >= 400) apiErrors.push(`${r.status()} ${r.url()} ${await r.text().catch(() => '')}`);
  });
}, 120_000);

afterAll(async () => {
  await browser?.close();
  await ui?.close();
  await connection?.close();
  await t?.close();
});

const shot = (name: string) => page.screenshot({ path: path.join(ARTIFACTS, `temporal-ui-${name}.png`), fullPage: true });

/** Opens a page of the UI and waits for it to settle; no API call of it may fail. */
async function open(route: string): Promise<void> {
  apiErrors.length = 0;
  // Not `networkidle`: a workflow's page keeps polling it. Each test waits for what it looks at.
  await page.goto(`${ui.url}/namespaces/default${route}`, { waitUntil: 'load' });
}

/** The page's text; an error banner (the UI's toasts and error alerts) fails the test. */
async function text(): Promise<string> {
  const body = await page.locator('body').innerText();
  expect(apiErrors).toEqual([]);
  const alerts = await page.locator('[role="alert"], .toast, [data-testid="error"]').allInnerTexts();
  expect(alerts.filter((a) => /error|fail|not supported|unimplemented/i.test(a))).toEqual([]);
  return body;
}

const workflowPage = async (connectionId: string, tab: string) => {
  const workflowId = workflowIdOf[connectionId]!;
  const { runId } = await client.workflow.getHandle(workflowId).describe();
  await open(`/workflows/${encodeURIComponent(workflowId)}/${runId}/${tab}`);
  await page.getByTestId('workflow-id-heading').waitFor();
  return { workflowId, runId };
};

/** Fills a modal of the workflow page and confirms it. */
async function confirmModal(testId: string, fill: (modal: ReturnType<Page['locator']>) => Promise<void>, confirm: string): Promise<void> {
  // The UI renders each modal twice; the open one is the dialog with `open`.
  const modal = page.locator(`dialog[open][data-testid="${testId}"]`);
  await modal.waitFor();
  await fill(modal);
  await shot(testId);
  await modal.getByRole('button', { name: confirm, exact: true }).click();
  await page.locator(`dialog[open][data-testid="${testId}"]`).waitFor({ state: 'detached' });
}

async function moreActions(item: string): Promise<void> {
  await page.getByRole('button', { name: 'More Actions' }).click();
  await page.locator(`[data-testid="${item}"]:visible`).click();
}

const statusOf = async (workflowId: string, runId?: string) => (await client.workflow.getHandle(workflowId, runId).describe()).status.name;

test('the workflow list, filtered by type and by status', async () => {
  const running: string[] = [];
  for await (const w of client.workflow.list({ query: `WorkflowType = 'syncWorkflow' AND ExecutionStatus = 'Running'` })) running.push(w.workflowId);
  await open(`/workflows?query=${encodeURIComponent(`WorkflowType="syncWorkflow" AND ExecutionStatus="Running"`)}`);
  await page.getByText(`${running.length} Workflows`).waitFor();
  await shot('workflow-list');
  const body = await text();
  for (const id of running) expect(body).toContain(id);
  expect(running).toEqual(expect.arrayContaining(Object.values(workflowIdOf)));
  // Nothing completed yet: the same type filtered by another status lists nothing.
  await open(`/workflows?query=${encodeURIComponent(`WorkflowType="syncWorkflow" AND ExecutionStatus="Completed"`)}`);
  await page.getByText(/No Workflows/).waitFor();
  await text();
});

test('a sync workflow: history as timeline, event list and JSON; its stack trace; the status query', async () => {
  const { workflowId, runId } = await workflowPage('ui-1', 'history');
  const events = (await client.workflow.getHandle(workflowId, runId).fetchHistory()).events ?? [];
  await page.getByTestId('event-summary-row').first().waitFor();
  await shot('workflow-history');
  let body = await text();
  expect(await page.getByTestId('event-summary-row').count()).toBe(events.length);
  for (const type of ['Workflow Execution Started', 'Activity Task Completed', 'Timer Started']) expect(body).toContain(type);
  expect(body).toContain('runSync');

  await page.getByTestId('json').click();
  await page.getByText('"eventType"').first().waitFor();
  await shot('workflow-history-json');
  body = await text();
  expect(body).toContain('"eventType": "WorkflowExecutionStarted"');
  expect(body).toContain(`"name": "syncWorkflow"`);

  await page.getByTestId('timeline-tab').click();
  await page.getByText('Timeline', { exact: true }).last().waitFor();
  await page.getByText('runSync').first().waitFor();
  await shot('workflow-timeline');
  expect(await text()).toContain('runSync');

  await page.getByTestId('call-stack-tab').click();
  await page.getByText(/src\/workflows\/sync\.ts/).first().waitFor();
  await shot('workflow-call-stack');
  // Where the sync workflow waits for its next run (Alarm.until).
  const stack = await text();
  expect(stack).toMatch(/at until \(.*src\/workflows\/sync\.ts:\d+:\d+\)/);

  await page.getByTestId('queries-tab').click();
  await page.getByRole('button', { name: 'Run Query' }).click();
  await page.getByText(/"connectionId"/).first().waitFor();
  await shot('workflow-query-status');
  // What the sync's `status` query answers now, as the UI shows it.
  const live = await client.workflow.getHandle(workflowId).query<{ runs: number; paused: boolean; nextRunAt: number }>('status');
  body = await text();
  expect(body).toContain('"connectionId": "ui-1"');
  expect(body).toContain(`"runs": ${live.runs}`);
  expect(body).toContain(`"nextRunAt": ${live.nextRunAt}`);
});

test('pending activities while a sync runs', async () => {
  const res = await t.request('POST', '/sync/start', { json: { provider_config_key: 'fake', connection_id: 'ui-2', syncs: ['slow'] } });
  expect(res.status).toBe(200);
  const [target] = await t.targets('ui-2', ['slow']);
  const workflowId = syncWorkflowId(target!.key);
  await waitFor('the slow run', async () => (await client.workflow.getHandle(workflowId).describe()).raw.pendingActivities?.length, 30_000);
  const { runId } = await client.workflow.getHandle(workflowId).describe();
  await open(`/workflows/${encodeURIComponent(workflowId)}/${runId}/pending-activities`);
  await page.getByText('runSync').first().waitFor();
  await shot('workflow-pending-activities');
  const body = await text();
  expect(body).toMatch(/Attempt\s*1\s*\/\s*10/);
  expect(body).toContain('runSync');
  // The worker running it, by the identity it polled with.
  expect(body).toMatch(new RegExp(`Last Worker Identity\\s*${t.orchestration.worker!.options.identity}`));
});

test('the task queue page lists the worker by its identity', async () => {
  await open(`/task-queues/${TASK_QUEUE}`);
  const identity = t.orchestration.worker!.options.identity;
  await page.getByText(identity).first().waitFor();
  await shot('task-queue');
  expect(await text()).toContain(identity);
});

test('the schedules page', async () => {
  await open('/schedules');
  await page.getByText('No Schedules Found').waitFor();
  await shot('schedules');
  await text();
});

test('batch operations and namespace pages', async () => {
  await open('/batch-operations');
  await page.getByText('No Batch Operations').waitFor();
  await shot('batch-operations');
  await text();

  await open('');
  await page.getByText('Namespace Details').waitFor();
  await shot('namespace');
  const body = await text();
  const described = await connection.workflowService.describeNamespace({ namespace: 'default' });
  const retentionDays = Number(described.config!.workflowExecutionRetentionTtl!.seconds) / 86400;
  expect(body).toMatch(new RegExp(`Retention Period\\s*${retentionDays} days`));
  for (const attribute of ['SynclineConnection', 'ParentWorkflowId', 'TemporalChangeVersion']) expect(body).toContain(attribute);
});

test('signal from the UI: trigger runs the sync', async () => {
  const { workflowId } = await workflowPage('ui-1', 'history');
  const before = await jobCount('ui-1');
  await moreActions('signal-button');
  // The UI lists the signals the workflow declares (the SDK's __temporal_workflow_metadata query).
  await confirmModal(
    'signal-confirmation-modal',
    async (m) => {
      await m.getByTestId('signal-select-button').click();
      await m.getByRole('option', { name: 'trigger', exact: true }).click();
    },
    'Submit',
  );
  await waitFor('the triggered run', async () => (await jobCount('ui-1')) > before, 30_000);
  const events = (await client.workflow.getHandle(workflowId).fetchHistory()).events ?? [];
  expect(events.some((e) => e.workflowExecutionSignaledEventAttributes?.signalName === 'trigger')).toBe(true);
});

test('reset from the UI to the first workflow task: a new run, the old one terminated', async () => {
  const { workflowId, runId } = await workflowPage('ui-1', 'history');
  const before = await jobCount('ui-1');
  await moreActions('reset-button');
  await confirmModal(
    'reset-confirmation-modal',
    async (m) => {
      await m.getByTestId('workflow-reset-event-id-select-button').click();
      // The reset points offered: the workflow task completions, the first one first.
      await m.getByRole('option').first().click();
      await m.locator('#reset-reason').fill('reset from the UI');
    },
    'Confirm',
  );
  await waitFor('the new run', async () => (await client.workflow.getHandle(workflowId).describe()).runId !== runId, 30_000);
  expect(await statusOf(workflowId, runId)).toBe('TERMINATED');
  expect(await statusOf(workflowId)).toBe('RUNNING');
  // The new run replays the copied history and runs the sync again.
  await waitFor('a run of the reset workflow', async () => (await jobCount('ui-1')) > before, 30_000);
});

test('cancel and terminate from the UI', async () => {
  const cancelled = await workflowPage('ui-3', 'history');
  await page.getByRole('button', { name: 'Request Cancellation' }).click();
  await confirmModal('cancel-confirmation-modal', async () => undefined, 'Confirm');
  await waitFor('the cancelled workflow', async () => (await statusOf(cancelled.workflowId, cancelled.runId)) === 'CANCELLED', 30_000);

  const terminated = await workflowPage('ui-2', 'history');
  await moreActions('terminate-button');
  await confirmModal('terminate-confirmation-modal', (m) => m.locator('input, textarea').first().fill('terminated from the UI'), 'Terminate');
  await waitFor('the terminated workflow', async () => (await statusOf(terminated.workflowId, terminated.runId)) === 'TERMINATED', 30_000);
  await page.reload({ waitUntil: 'load' });
  await page.getByTestId('execution-status').getByText('TERMINATED').waitFor();
  await shot('workflow-terminated');
});

test('`syncline start` with SYNCLINE_TEMPORAL_UI=auto serves the UI on its engine', async () => {
  const dataDir = mkdtempSync(path.join(os.tmpdir(), 'syncline-temporal-ui-'));
  const uiPort = await freePort();
  const { DATABASE_URL: _ignored, ...env } = process.env;
  const child = spawnCli(['start'], {
    env: { ...env, SYNCLINE_DATA_DIR: dataDir, PORT: String(await freePort()), ENGINE_PORT: String(await freePort()), LOG_LEVEL: 'error', SYNCLINE_TEMPORAL_UI: 'auto', SYNCLINE_TEMPORAL_UI_PORT: String(uiPort) },
  });
  const exited = new Promise((resolve) => child.once('close', resolve));
  try {
    const url = await stdoutMatch(child, /Temporal UI: (http:\/\/\S+)/);
    expect(url).toBe(`http://127.0.0.1:${uiPort}`);
    const res = await fetch(`${url}/api/v1/namespaces`);
    expect(res.status).toBe(200);
    expect(((await res.json()) as { namespaces: { namespaceInfo: { name: string } }[] }).namespaces.map((n) => n.namespaceInfo.name)).toContain('default');
  } finally {
    child.kill('SIGTERM');
    expect(await exited).toBe(0);
    rmSync(dataDir, { recursive: true, force: true });
  }
  // The UI server went with it.
  await expect(fetch(`http://127.0.0.1:${uiPort}/`)).rejects.toThrow();
});
