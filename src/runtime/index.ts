/**
 * The script runtime: compile a script, then run it in the sandbox with the `nango` helper.
 *
 * @example
 * const { code, sourceMap } = await compileScript({ root: 'nango-integrations' }, 'github/syncs/issues.ts');
 * const result = await runScript({
 *   kind: 'sync', code, sourceMap, scriptName: 'github/syncs/issues.ts',
 *   providerConfigKey: 'github', connectionId: 'user-1', environmentName: 'dev',
 *   provider: getProvider('github'), services: storeServices(store, environmentId),
 *   sync: { name: 'issues', models: [config.models.get('GithubIssue')!], allModels: config.models },
 * });
 * // result.success, result.counts (added/updated/deleted per model), result.logs, result.error?.type
 *
 * Layout: `compile.ts` (esbuild bundle + import guard + type-check), `sandbox.ts` (one vm context
 * per execution in a worker thread, limits), `processes.ts` (the script process of each environment,
 * where its threads run), `worker/` (code that runs there: `process.ts` the script process,
 * `main.ts` a thread outside the script's context, `prelude.ts` inside it), `host.ts` (the helper's host half: HTTP in
 * `http.ts` and `paginate.ts`, records in `records.ts`, logs in `logs.ts`), `declarations.ts`
 * (typings for models.ts), `services.ts` (the store-backed services, in-memory checkpoints, a
 * collecting sink for dry runs). Public types and the glossary are in `types.ts`.
 */
export type * from './types';
export { compileScript, compileScripts, projectZodMajor, ScriptCompileError, ALLOWED_IMPORTS, type CompiledScript, type CompileIssue, type CompileOptions, type ZodMajor } from './compile';
export { HELPER_DECLARATIONS, SANDBOX_GLOBALS } from './declarations';
export { ScriptRunError, ProxyError, stackLines } from './errors';
export { configureScriptThreads, runScript, scriptCodesSent, scriptThreadsStarted, DEFAULT_MEMORY_MB, DEFAULT_TIMEOUT_MS } from './sandbox';
export { describeScripts, type DescribeOutcome, type DescribedSchema, type ScriptDescription } from './describe';
export { CheckpointRangeRecorder, CollectingRecordSink, MemoryCheckpointStore, storeServices, type StoreServicesOptions } from './services';
export { configureRecordLimits, DEFAULT_RECORD_LIMITS, modelChecker, RecordBudget, type RecordLimits } from './records';
