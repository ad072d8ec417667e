// What the host, a script process and an execution's worker thread send each other. Shared by all
// sides; no code with side effects may live here, since the host imports it.

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

/** What a worker thread is created with: the assets, and the memory limit of the executions it runs. */
export interface ThreadData extends WorkerAssets {
  /** The heap and ArrayBuffer/Buffer memory together, per execution. */
  memoryMb: number;
  /** 4 bytes shared by the threads of a script process: the lock of V8's flags (see `withFlagsLocked`). */
  flagsLock: SharedArrayBuffer;
}

/** One execution. */
export interface RunData {
  code: string;
  /** Names `code` in its script process (see `code` commands): threads keep compiled scripts by it. */
  codeId: number;
  scriptName: string;
  setup: string;
  input?: string;
}

/** Helper calls carrying records: each asks for room (`reserve`, its JSON's length) before it crosses. */
export const RECORD_CALLS: ReadonlySet<string> = new Set(['batchSave', 'batchUpdate', 'batchDelete']);

/**
 * A record call of at most this much JSON crosses without asking for room first (`unreserved`): the
 * host takes the room on arrival. One such call of an execution at a time, so what crosses unasked is
 * bounded; most batches of a run are this small, and each saves a round trip between the processes.
 */
export const SMALL_RECORD_CALL_CHARS = 64 * 1024;

/**
 * Worker → host. To its script process instead: `started` once the thread is ready, and after a reset
 * `idle`, or `retire` when it should not run another execution.
 */
export type WorkerMessage =
  | { type: 'started' }
  | { type: 'call'; id: number; method: string; json: string; unreserved?: true }
  | { type: 'reserve'; id: number; size: number }
  | { type: 'done'; json: string }
  | { type: 'unhandled'; json: string }
  | { type: 'memoryExceeded' }
  | { type: 'idle' }
  | { type: 'retire' };

/** Host → worker: a call's answer, or room granted for a record call, which the worker then sends. */
export type HostMessage = { type: 'result'; id: number; ok: boolean; json?: string } | { type: 'granted'; id: number };

/** To a worker thread: the host's messages, and from its script process an execution to run, or a reset after one. */
export type ThreadCommand = HostMessage | { type: 'run'; data: RunData } | { type: 'reset' };

/** A worker thread's resource limits (`new Worker(..., { resourceLimits })`). */
export interface ThreadLimits {
  maxOldGenerationSizeMb: number;
  maxYoungGenerationSizeMb: number;
  stackSizeMb: number;
}

/**
 * Host → script process. `init` comes first, once: the worker's code and the assets of every
 * execution. A script's code crosses once (`code`) and is kept under its id until `forget`: an
 * execution (`start`) names it by id, and threads find their compiled scripts by it. Sent with every
 * execution, a 355 KB script was read and copied across processes each time, and its thread's cache
 * compared it whole to find its compiled code: 13.2 ms of CPU an execution, 5.2 ms now. `release`
 * ends execution `id`: its thread is reset for another (`reuse`) or stopped.
 */
export type ProcessCommand =
  | { type: 'init'; workerCode: string; assets: WorkerAssets }
  | { type: 'code'; id: number; code: string }
  | { type: 'forget'; id: number }
  | { type: 'start'; id: number; run: Omit<RunData, 'code'>; memoryMb: number; limits: ThreadLimits }
  | { type: 'post'; id: number; message: HostMessage }
  | { type: 'release'; id: number; reuse: boolean };

/** Script process → host, about the worker thread of execution `id` (sent in batches: arrays of these). */
export type ThreadEvent =
  | { type: 'message'; id: number; message: WorkerMessage }
  | { type: 'error'; id: number; error: { message: string; stack?: string; code?: string } }
  | { type: 'exit'; id: number; code: number };

/** Script process → host: its threads' events, and a word when it starts a thread (threads are counted). */
export type ProcessEvent = ThreadEvent | { type: 'threadStarted' };
