// What the host and an execution's worker thread send each other. Shared by both sides; no code
// with side effects may live here, since the host imports it.

/** Opens the function a CommonJS bundle runs in; `})` closes it. */
export const MODULE_WRAPPER = '(function (exports, require, module) {';

/** What every execution's worker gets the same: sent once to each script process. */
export interface WorkerAssets {
  prelude: string;
  preludeCache?: Uint8Array;
  /** zod 4, for `require('zod')` and `require('zod/v4')`. */
  zod: string;
  zodCache?: Uint8Array;
  /** zod 3 (the `zod/v3` API of the zod 4 package), for `require('zod/v3')`: what zod 3 projects compile to. */
  zod3: string;
  zod3Cache?: Uint8Array;
}

/** What one execution's worker gets. */
export interface WorkerData extends WorkerAssets {
  code: string;
  scriptName: string;
  setup: string;
  input?: string;
  /** The execution's memory limit: the heap and ArrayBuffer/Buffer memory together. */
  memoryMb: number;
}

/** Helper calls carrying records: each asks for room (`reserve`, its JSON's length) before it crosses. */
export const RECORD_CALLS: ReadonlySet<string> = new Set(['batchSave', 'batchUpdate', 'batchDelete']);

/** Worker → host. */
export type WorkerMessage =
  | { type: 'call'; id: number; method: string; json: string }
  | { type: 'reserve'; id: number; size: number }
  | { type: 'done'; json: string }
  | { type: 'unhandled'; json: string }
  | { type: 'memoryExceeded' };

/** Host → worker: a call's answer, or room granted for a record call, which the worker then sends. */
export type HostMessage = { type: 'result'; id: number; ok: boolean; json?: string } | { type: 'granted'; id: number };

/** A worker thread's resource limits (`new Worker(..., { resourceLimits })`). */
export interface ThreadLimits {
  maxOldGenerationSizeMb: number;
  maxYoungGenerationSizeMb: number;
  stackSizeMb: number;
}

/** Host → script process. `init` comes first, once: the worker's code and the assets of every execution. */
export type ProcessCommand =
  | { type: 'init'; workerCode: string; assets: WorkerAssets }
  | { type: 'start'; id: number; data: Omit<WorkerData, keyof WorkerAssets>; limits: ThreadLimits }
  | { type: 'post'; id: number; message: HostMessage }
  | { type: 'terminate'; id: number };

/** Script process → host, about the worker thread of execution `id`. */
export type ProcessEvent =
  | { type: 'message'; id: number; message: WorkerMessage }
  | { type: 'error'; id: number; error: { message: string; stack?: string; code?: string } }
  | { type: 'exit'; id: number; code: number };
