import type { ModelDefinition } from '../../src/config/nango-yaml';
import { MAX_LOG_ENTRY_BYTES } from '../../src/runtime/logs';
import { CollectingRecordSink, type ExecutionRequest, type RecordSink } from '../../src/runtime';
import type { RecordCounts } from '../../src/types';
import { harness, issueModel, outputOf, script, TOKEN, type Harness } from './harness';

let h: Harness;
beforeAll(async () => {
  h = await harness();
  await h.store.environmentVariables.upsert(h.environmentId, [{ name: 'BOT_TOKEN', value: 'bot-secret-value-42' }]);
}, 60_000); // a loaded machine can take long to start the database and the fake API
afterAll(() => h.close());

let syncs = 0;
/** A sync execution on a fresh sync name (so checkpoints and models do not collide between tests). */
const sync = (models: ModelDefinition[] = [issueModel], extra: Partial<ExecutionRequest> = {}): Partial<ExecutionRequest> => ({
  kind: 'sync',
  sync: { name: `sync-${++syncs}`, models, ...extra.sync },
  ...extra,
});

const records = async (model: string) =>
  (await h.store.records.list(h.connectionPk, { model, limit: 1000 })).records.map(({ _nango_metadata, ...r }) => ({ ...r, deleted: _nango_metadata.deleted_at !== null }));

describe('logs', () => {
  test('levels, legacy level names, console, and the level threshold', async () => {
    const code = script(`
      await nango.log('plain');
      await nango.log('with meta', { a: 1 });
      await nango.log('a warning', { level: 'warn' });
      await nango.log('verbose becomes debug', { level: 'verbose' });
      await nango.log('http becomes info', { level: 'http' });
      console.error('from console', new Error('e1').message);
      console.debug('debugging');
      await nango.log('done');
    `);
    const all = (await h.run(code)).logs.map((l) => [l.level, l.message]);
    expect(all).toEqual([
      ['info', 'plain'],
      ['info', 'with meta {"a":1}'],
      ['warn', 'a warning'],
      ['debug', 'verbose becomes debug'],
      ['info', 'http becomes info'],
      ['error', 'from console e1'],
      ['debug', 'debugging'],
      ['info', 'done'],
    ]);
    const warnings = (await h.run(code, { logLevel: 'warn' })).logs.map((l) => l.level);
    expect(warnings).toEqual(['warn', 'error']);
  });

  test('an entry is capped at 100 KB', async () => {
    const result = await h.run(script(`await nango.log('x'.repeat(300000)); await nango.log('é'.repeat(80000));`));
    for (const entry of result.logs) {
      expect(Buffer.byteLength(entry.message)).toBeLessThanOrEqual(MAX_LOG_ENTRY_BYTES);
      expect(entry.message.endsWith('[truncated]')).toBe(true);
    }
  });

  test('credentials, environment variable values and integration secrets are redacted', async () => {
    const result = await h.run(
      script(`
      const vars = await nango.getEnvironmentVariables();
      const connection = await nango.getConnection();
      const integration = await nango.getIntegration({ include: ['credentials'] });
      await nango.log(vars, connection.credentials, integration.credentials);
      await nango.log('header Bearer ' + connection.credentials.access_token);
    `),
    );
    const text = JSON.stringify(result.logs);
    for (const secret of [TOKEN, 'bot-secret-value-42', 'integration-client-secret']) expect(text).not.toContain(secret);
    expect(text).toContain('header Bearer [redacted]');
  });
});

describe('connection, integration, environment', () => {
  test('getConnection, getToken, getIntegration, getEnvironmentVariables', async () => {
    const out = outputOf(
      await h.run(
        script(`return {
          connection: await nango.getConnection(),
          withRefresh: (await nango.getConnection('github', 'c1', { refreshToken: true })).credentials.refresh_token,
          token: await nango.getToken(),
          integration: await nango.getIntegration(),
          withCredentials: (await nango.getIntegration({ include: ['credentials'] })).credentials.client_id,
          vars: await nango.getEnvironmentVariables(),
          ids: [nango.connectionId, nango.providerConfigKey, nango.environmentName],
        }`),
      ),
    );
    expect(out.connection).toMatchObject({ connection_id: 'c1', provider_config_key: 'github', provider: 'github', credentials: { type: 'OAUTH2', access_token: TOKEN } });
    expect(out.connection.credentials.refresh_token).toBeUndefined();
    expect(out.withRefresh).toBe('refresh-token-0001');
    expect(out.token).toBe(TOKEN);
    expect(out.integration).toMatchObject({ unique_key: 'github', provider: 'github' });
    expect(out.integration.credentials).toBeUndefined();
    expect(out.withCredentials).toBe('cid');
    expect(out.vars).toEqual([{ name: 'BOT_TOKEN', value: 'bot-secret-value-42' }]);
    expect(out.ids).toEqual(['c1', 'github', 'dev']);
  });

  test('setMetadata replaces, updateMetadata merges, getMetadata reads fresh', async () => {
    const out = outputOf(
      await h.run(
        script(`
        await nango.setMetadata({ a: 1, b: 2 });
        const first = await nango.getMetadata();
        await nango.updateMetadata({ b: 3, c: 4 });
        return [first, await nango.getMetadata()];
      `),
      ),
    );
    expect(out).toEqual([
      { a: 1, b: 2 },
      { a: 1, b: 3, c: 4 },
    ]);
    expect((await h.store.connections.get(h.environmentId, 'github', 'c1')).metadata).toEqual({ a: 1, b: 3, c: 4 });
  });

  test('field mapping (deprecated) lives in the metadata; zodValidateInput; unsupported methods say so', async () => {
    const out = outputOf(
      await h.run(
        script(`
        await nango.setFieldMapping({ title: 'name' });
        const mapping = await nango.getFieldMapping();
        const { z } = require('zod');
        const schema = z.object({ title: z.string() });
        const ok = (await nango.zodValidateInput({ zodSchema: schema, input: { title: 'x' } })).data;
        let invalid;
        try { await nango.zodValidateInput({ zodSchema: schema, input: { title: 1 } }) } catch (e) { invalid = [e instanceof nango.ActionError, e.type, e.payload] }
        let unsupported;
        try { await nango.tryAcquireLock('k') } catch (e) { unsupported = e.message }
        return { mapping, ok, invalid, unsupported };
      `),
      ),
    );
    expect(out).toEqual({
      mapping: { title: 'name' },
      ok: { title: 'x' },
      invalid: [true, 'action_script_runtime_error', { message: 'Invalid input provided' }],
      unsupported: 'nango.tryAcquireLock() is not supported by Syncline yet',
    });
  });

  test('triggerAction, with both signatures', async () => {
    const out = outputOf(await h.run(script(`return [await nango.triggerAction('github', 'c1', 'create', { t: 1 }), await nango.triggerAction('other', { t: 2 })]`)));
    expect(out).toEqual([
      { triggered: 'create', input: { t: 1 } },
      { triggered: 'other', input: { t: 2 } },
    ]);
  });
});

describe('actions', () => {
  test('the input reaches runAction and the output comes back', async () => {
    expect(outputOf(await h.run(script(`return { echoed: input }`), { input: { title: 'x' } }))).toEqual({ echoed: { title: 'x' } });
  });

  test('ActionError reaches the caller as action_script_runtime_error with its payload', async () => {
    const code = script(`
      class ActionError extends Error { constructor(payload) { super('x'); this.type = 'action_script_runtime_error'; this.payload = payload; } }
      throw new ActionError({ message: 'Issue title is required', field: 'title' });
    `);
    const result = await h.run(code);
    expect(result.success).toBe(false);
    if (result.success) return;
    expect(result.error.type).toBe('action_script_runtime_error');
    expect(result.error.toResponse()).toEqual({ error: { type: 'action_script_runtime_error', payload: { message: 'Issue title is required', field: 'title' } } });
  });

  test('an output over 2 MB is an error; a sync method in an action is an error', async () => {
    const big = await h.run(script(`return { blob: 'x'.repeat(3 * 1024 * 1024) }`));
    expect(!big.success && big.error.message).toContain('larger than');
    const save = await h.run(script(`await nango.batchSave([{ id: 1 }], 'Issue')`));
    expect(!save.success && save.error.message).toContain('batchSave is not a function');
  });
});

describe('syncs', () => {
  test('batchSave, batchUpdate and batchDelete reach the store, with counts per model', async () => {
    const result = await h.run(
      script(`
      await nango.batchSave([{ id: 1, title: 'one' }, { id: 2, title: 'two', labels: ['bug'] }, { id: 3, title: 'three' }], 'Issue');
      await nango.batchUpdate([{ id: 2, title: 'two (edited)' }], 'Issue');
      await nango.batchDelete([{ id: 3 }], 'Issue');
    `),
      sync(),
    );
    expect(result.success).toBe(true);
    expect(result.counts).toEqual({ Issue: { added: 3, updated: 1, deleted: 1 } });
    expect(await records('Issue')).toEqual([
      { id: 1, title: 'one', deleted: false },
      { id: 2, title: 'two (edited)', labels: ['bug'], deleted: false },
      { id: 3, title: 'three', deleted: true },
    ]);
  });

  test('a record that does not match its model is logged with its id and saved', async () => {
    const model: ModelDefinition = { ...issueModel, name: 'LooseIssue' };
    const result = await h.run(script(`await nango.batchSave([{ id: 7, title: 42 }, { id: 8, title: 'fine' }], 'LooseIssue')`), sync([model]));
    expect(result.success).toBe(true);
    expect(result.logs.filter((l) => l.level === 'warn').map((l) => l.message)).toEqual([
      'batchSave: record "7" of model "LooseIssue" does not match the model: title: expected string, got number',
    ]);
    expect(result.counts.LooseIssue!.added).toBe(2);
  });

  test('with validation "fail", a mismatch is fatal even when the script catches it', async () => {
    const model: ModelDefinition = { ...issueModel, name: 'StrictIssue' };
    const result = await h.run(script(`try { await nango.batchSave([{ id: 9, labels: 'bug' }], 'StrictIssue') } catch {} return 'swallowed'`), {
      kind: 'sync',
      sync: { name: `sync-${++syncs}`, models: [model], validation: 'fail' },
    });
    expect(result.success).toBe(false);
    if (result.success) return;
    expect(result.error.type).toBe('invalid_sync_record');
    expect(result.error.message).toBe('batchSave: record "9" of model "StrictIssue" does not match the model: title: missing; labels: expected an array, got "bug"');
    expect(await records('StrictIssue')).toEqual([]);
  });

  test('a record without id, or a model the sync does not declare, is fatal', async () => {
    const noId = await h.run(script(`await nango.batchSave([{ title: 'no id' }], 'Issue')`), sync());
    expect(!noId.success && [noId.error.type, noId.error.message]).toEqual(['invalid_sync_record', 'batchSave: record 0 of model "Issue" has no "id" (a non-empty string or number is required)']);
    const undeclared = await h.run(script(`await nango.batchSave([{ id: 1 }], 'Other')`), sync());
    expect(!undeclared.success && undeclared.error.message).toMatch(/model "Other" is not an output of sync "sync-\d+" \(declared: Issue\)/);
  });

  test('calls the script did not wait for: writes are kept, requests do not hold the end', async () => {
    const model: ModelDefinition = { ...issueModel, name: 'UnawaitedIssue' };
    const started = Date.now();
    const result = await h.run(script(`nango.get({ endpoint: '/slow', params: { ms: 5000 } }); nango.batchSave([{ id: 1, title: 'fire and forget' }], 'UnawaitedIssue');`), sync([model]));
    expect(result.success).toBe(true);
    expect(Date.now() - started).toBeLessThan(3000);
    expect(result.counts).toEqual({ UnawaitedIssue: { added: 1, updated: 0, deleted: 0 } });
  });

  test('records saved before a failure are kept', async () => {
    const model: ModelDefinition = { ...issueModel, name: 'PartialIssue' };
    const result = await h.run(script(`await nango.batchSave([{ id: 1, title: 'kept' }], 'PartialIssue'); throw new Error('later failure')`), sync([model]));
    expect(!result.success && result.error.message).toBe('later failure');
    expect(result.counts).toEqual({ PartialIssue: { added: 1, updated: 0, deleted: 0 } });
  });

  test('an id the store cannot keep is fatal; a failed store write fails the execution', async () => {
    const long = await h.run(script(`await nango.batchSave([{ id: 'x'.repeat(256), title: 't' }], 'Issue')`), sync());
    expect(!long.success && long.error.message).toBe('batchSave: record 0 of model "Issue" has an id longer than 255 characters');
    class BrokenSink extends CollectingRecordSink {
      override upsert(): Promise<RecordCounts> {
        return Promise.reject(new Error('connection to the database lost'));
      }
    }
    const broken = await h.run(script(`await nango.batchSave([{ id: 1, title: 't' }], 'Issue')`), sync([issueModel], { services: { ...h.services, records: new BrokenSink() } }));
    expect(!broken.success && [broken.error.type, broken.error.message]).toEqual(['script_internal_error', 'Saving records failed: connection to the database lost']);
  });

  test('records reach the store in set-based batches, not one call per batchSave', async () => {
    const calls: number[] = [];
    const counting: RecordSink = {
      upsert: async (c, m, r) => (calls.push(r.length), h.store.records.upsert(c, m, r)),
      update: (c, m, r) => h.store.records.update(c, m, r),
      delete: (c, m, r) => h.store.records.delete(c, m, r),
    };
    const model: ModelDefinition = { ...issueModel, name: 'BatchedIssue' };
    const result = await h.run(
      script(`for (let p = 0; p < 10; p++) await nango.batchSave(Array.from({ length: 100 }, (_, i) => ({ id: p * 100 + i, title: 't' + i })), 'BatchedIssue');`),
      sync([model], { services: { ...h.services, records: counting }, flushSize: 250 }),
    );
    expect(result.counts.BatchedIssue).toEqual<RecordCounts>({ added: 1000, updated: 0, deleted: 0 });
    expect(calls).toEqual([300, 300, 300, 100]);
  });

  test('a dry run collects the writes and stores nothing', async () => {
    const sink = new CollectingRecordSink();
    const model: ModelDefinition = { ...issueModel, name: 'DryIssue' };
    const result = await h.run(script(`await nango.batchSave([{ id: 1, title: 'a' }, { id: 2, title: 'b' }], 'DryIssue'); await nango.batchDelete([{ id: 2 }], 'DryIssue');`), sync([model], { services: { ...h.services, records: sink } }));
    expect(result.counts).toEqual({ DryIssue: { added: 2, updated: 0, deleted: 1 } });
    expect(sink.writes.get('DryIssue')).toEqual([
      { kind: 'save', records: [{ id: 1, title: 'a' }, { id: 2, title: 'b' }] },
      { kind: 'delete', records: [{ id: 2 }] },
    ]);
    expect(await records('DryIssue')).toEqual([]);
  });

  test('getRecordsByIds reads stored records, including ones saved earlier in the run', async () => {
    const model: ModelDefinition = { ...issueModel, name: 'LookupIssue' };
    await h.run(script(`await nango.batchSave([{ id: 1, title: 'stored' }, { id: 'b', title: 'also stored' }], 'LookupIssue')`), sync([model]));
    const result = await h.run(
      script(`
        await nango.batchSave([{ id: 3, title: 'this run' }], 'LookupIssue');
        const found = await nango.getRecordsByIds([1, 'b', 3, 'missing'], 'LookupIssue');
        await nango.batchUpdate([{ id: 1, title: JSON.stringify([...found.entries()]) }], 'LookupIssue');
      `),
      sync([model]),
    );
    expect(result.success).toBe(true);
    const [first] = (await h.store.records.list(h.connectionPk, { model: 'LookupIssue', ids: ['1'] })).records;
    expect(JSON.parse(first!.title as string)).toEqual([
      [1, { id: 1, title: 'stored' }],
      ['b', { id: 'b', title: 'also stored' }],
      [3, { id: 3, title: 'this run' }],
    ]);
  });

  test("setMergingStrategy accepts Nango's default only", async () => {
    const ok = await h.run(script(`await nango.setMergingStrategy({ strategy: 'override' }, 'Issue')`), sync());
    expect(ok.success).toBe(true);
    const other = await h.run(script(`await nango.setMergingStrategy({ strategy: 'ignore_if_modified_after' }, 'Issue')`), sync());
    expect(!other.success && other.error.message).toContain('is not supported by Syncline yet');
  });

  test('lastSyncDate, variant and modelFullName', async () => {
    const lastSyncDate = new Date('2026-01-02T03:04:05.000Z');
    const result = await h.run(
      script(`await nango.batchSave([{ id: 1, title: JSON.stringify([nango.lastSyncDate instanceof Date, nango.lastSyncDate.toISOString(), nango.variant, nango.modelFullName('Issue')]) }], 'Issue')`),
      { kind: 'sync', sync: { name: 'variant-sync', models: [issueModel], lastSyncDate, variant: 'eu' } },
    );
    expect(result.counts).toEqual({ 'Issue::eu': { added: 1, updated: 0, deleted: 0 } });
    const [saved] = (await h.store.records.list(h.connectionPk, { model: 'Issue::eu' })).records;
    expect(JSON.parse(saved!.title as string)).toEqual([true, '2026-01-02T03:04:05.000Z', 'eu', 'Issue::eu']);
  });

  test('checkpoints are saved, read and cleared per sync', async () => {
    const first = sync();
    const code = script(`
      const before = await nango.getCheckpoint();
      await nango.saveCheckpoint({ cursor: 'abc', page: 2 });
      const after = await nango.getCheckpoint();
      await nango.batchSave([{ id: 1, title: JSON.stringify([before, after]) }], 'Issue');
    `);
    await h.run(code, first);
    expect(await h.checkpoints.get(`dev:github:c1:${first.sync!.name}:base`)).toEqual({ cursor: 'abc', page: 2 });
    const again = await h.run(script(`const c = await nango.getCheckpoint(); await nango.clearCheckpoint(); await nango.batchSave([{ id: 1, title: c.cursor }], 'Issue');`), first);
    expect(again.success).toBe(true);
    expect(await h.checkpoints.get(`dev:github:c1:${first.sync!.name}:base`)).toBeNull();
  });
});
