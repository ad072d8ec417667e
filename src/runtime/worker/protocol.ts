// What the host and an execution's worker thread send each other. Shared by both sides; no code
// with side effects may live here, since the host imports it.

/** Opens the function a CommonJS bundle runs in; `})` closes it. */
export const MODULE_WRAPPER = '(function (exports, require, module) {';

export interface WorkerData {
  prelude: string;
  preludeCache?: Uint8Array;
  /** zod 4, for `require('zod')` and `require('zod/v4')`. */
  zod: string;
  zodCache?: Uint8Array;
  /** zod 3 (the `zod/v3` API of the zod 4 package), for `require('zod/v3')`: what zod 3 projects compile to. */
  zod3: string;
  zod3Cache?: Uint8Array;
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
