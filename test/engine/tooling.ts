import { syncWorkflowId } from '../../src/worker/workflow-ids';
import { startOrchestrationTest, waitFor, type OrchestrationTest } from '../orchestration/helpers';

/**
 * Syncline with sync workflows in its embedded engine, for the tests of the Temporal tools (CLI,
 * Web UI) against it: sync `items` of integration `fake` deployed, one connection per id given,
 * each sync's first run done (its workflow then waits for the next hour).
 */

const ITEMS = `module.exports = async function fetchData(nango) {
  const res = await nango.get({ endpoint: '/offset/items', params: { offset: 0, limit: 1000 } });
  await nango.batchSave(res.data.items.map((i) => ({ id: String(i.id), name: i.name })), 'Item');
};`;

export interface SyncsForTools {
  t: OrchestrationTest;
  /** Workflow id of the `items` sync of each connection. */
  workflowIdOf: Record<string, string>;
  /** Successful runs of a connection's sync so far. */
  jobCount(connectionId: string, sync?: string): Promise<number>;
}

/** `extraSyncs`: more syncs' yaml (under `syncs:`) and code, e.g. one that is not started on its own. */
export async function startSyncsForTools(connectionIds: string[], extraSyncs: { yaml: string; code: Record<string, string> } = { yaml: '', code: {} }): Promise<SyncsForTools> {
  // One workflow thread, not the default main thread: the SDK keeps workflows' stack traces only
  // there, and the UI's Stack Trace tab and `temporal workflow stack` are among what is checked.
  const t = await startOrchestrationTest({ workflowThreads: 1 });
  const yaml = `integrations:
  fake:
    syncs:
      items:
        runs: every hour
        output: Item
        endpoint: GET /items
${extraSyncs.yaml}models:
  Item:
    id: string
    name: string
`;
  const deployed = await t.deploy(yaml, { 'sync/items': ITEMS, ...extraSyncs.code });
  if (deployed.status !== 200) throw new Error(`deploy failed: ${JSON.stringify(deployed.body)}`);
  const jobCount = async (connectionId: string, sync = 'items') => {
    const [target] = await t.targets(connectionId, [sync]);
    return (await t.store.jobs.jobs(target!.row.id)).filter((j) => j.status === 'SUCCESS').length;
  };
  const workflowIdOf: Record<string, string> = {};
  for (const c of connectionIds) {
    await t.connect(c);
    const [target] = await t.targets(c, ['items']);
    workflowIdOf[c] = syncWorkflowId(target!.key);
  }
  await waitFor(
    'the first run of each sync',
    async () => {
      for (const c of connectionIds) if ((await jobCount(c)) === 0) return false;
      return true;
    },
    60_000,
  );
  return { t, workflowIdOf, jobCount };
}
