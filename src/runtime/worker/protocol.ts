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
}

/** Worker → host. */
export type WorkerMessage =
  | { type: 'call'; id: number; method: string; json: string }
  | { type: 'done'; json: string }
  | { type: 'unhandled'; json: string };

/** Host → worker. */
export interface HostMessage {
  type: 'result';
  id: number;
  ok: boolean;
  json?: string;
}
