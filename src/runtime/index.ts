export type * from './types';
export { compileScript, compileScripts, ScriptCompileError, ALLOWED_IMPORTS, type CompiledScript, type CompileIssue, type CompileOptions } from './compile';
export { HELPER_DECLARATIONS, SANDBOX_GLOBALS } from './declarations';
export { ScriptRunError, ProxyError } from './errors';
export { runScript, DEFAULT_MEMORY_MB, DEFAULT_TIMEOUT_MS } from './sandbox';
export { CollectingRecordSink, MemoryCheckpointStore, storeServices, type StoreServicesOptions } from './services';
export { modelChecker } from './records';
