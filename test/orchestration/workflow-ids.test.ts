import { actionWorkflowId, fitWorkflowId, MAX_WORKFLOW_ID_LENGTH, syncWorkflowId } from '../../src/worker/workflow-ids';
import { fullSyncWorkflowId } from '../../src/workflows/types';

// Workflow ids join user strings of up to 255 characters each; Temporal takes at most 1,000 and its
// SQL visibility 255. Ids that fit are today's ids, unchanged; longer ones keep a readable prefix.
const key = { environment: 'dev', integration: 'github', connectionId: 'u:1', sync: 'issues', variant: 'base' };
const long = { environment: 'dev', integration: 'i'.repeat(255), connectionId: 'c'.repeat(255), sync: 's'.repeat(255), variant: 'v'.repeat(255) };

test('ids that fit are unchanged, so existing sync workflows keep theirs', () => {
  expect(syncWorkflowId(key)).toBe('sync:dev:github:u%3A1:issues');
  expect(syncWorkflowId({ ...key, variant: 'eu' })).toBe('sync:dev:github:u%3A1:issues%3A%3Aeu');
  const exactlyMax = `sync:dev:github:${'c'.repeat(MAX_WORKFLOW_ID_LENGTH - 'sync:dev:github::issues'.length)}:issues`;
  expect(exactlyMax).toHaveLength(MAX_WORKFLOW_ID_LENGTH);
  expect(fitWorkflowId(exactlyMax)).toBe(exactlyMax);
  expect(actionWorkflowId('dev', 'a1b2')).toBe('action:dev:a1b2');
});

test('long ids are 255 characters: a readable prefix of the full id, # and its sha256', () => {
  const id = syncWorkflowId(long);
  expect(id).toHaveLength(MAX_WORKFLOW_ID_LENGTH);
  expect(id).toMatch(/^sync:dev:i+#[0-9a-f]{64}$/);
  expect(fullSyncWorkflowId(long).startsWith(id.split('#')[0]!)).toBe(true);
  expect(syncWorkflowId(long)).toBe(id); // stable
  // Keys differing only past the prefix (the connection, the variant) get different ids.
  expect(syncWorkflowId({ ...long, connectionId: `${'c'.repeat(254)}d` })).not.toBe(id);
  expect(syncWorkflowId({ ...long, variant: 'w' })).not.toBe(id);
  // Percent-encoding triples a character: 255 of them still fit.
  expect(actionWorkflowId('é'.repeat(255), 'a1b2')).toHaveLength(MAX_WORKFLOW_ID_LENGTH);
});
