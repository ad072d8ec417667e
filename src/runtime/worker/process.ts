'use strict';
// A script process: runs the worker threads of one environment's executions. Some allocations end
// in a V8 fatal error that aborts the whole process whatever a thread's resource limits (a string
// split into 2^28 characters, an array of 2^26 numbers); here they end this process and the
// executions in it, never the server. Carries messages between the host and each thread unchanged,
// and keeps threads whose execution ended cleanly for the next executions (see `release`).
import { Worker } from 'node:worker_threads';
import type { ProcessCommand, ProcessEvent, ThreadCommand, ThreadLimits, WorkerAssets, WorkerMessage } from './protocol';

/** Executions one thread runs before it is retired, so nothing one leaves behind (compiled code, a slow leak) adds up without end. */
const RUNS_PER_THREAD = 100;
/** Threads kept waiting for an execution, per memory limit. */
const IDLE_THREADS = 8;
/** How long a reset thread has to say it is idle; one its last script left busy never does. */
const RESET_TIMEOUT_MS = 1000;

interface Thread {
  worker: Worker;
  /** Its memory limit and resource limits: threads serve executions with the same ones. */
  kind: string;
  runs: number;
  /** The execution it runs now. */
  execution?: number;
}

let workerCode = '';
let assets: WorkerAssets | undefined;
const idle = new Map<string, Thread[]>();
const running = new Map<number, Thread>();
/** Threads reset after an execution, not yet idle: each with the timer that stops it if it never is. */
const resetting = new Map<Thread, NodeJS.Timeout>();
const flagsLock = new SharedArrayBuffer(4);

// Events go to the host in batches, one message per turn of the event loop: a script logging in a
// tight loop makes tens of thousands of them, and each message across processes has a cost.
let batch: ProcessEvent[] = [];
function send(event: ProcessEvent): void {
  batch.push(event);
  if (batch.length > 1) return;
  setImmediate(() => {
    const events = batch;
    batch = [];
    process.send?.(events);
  });
}

function createThread(kind: string, memoryMb: number, limits: ThreadLimits): Thread {
  const worker = new Worker(workerCode, {
    eval: true,
    workerData: { ...assets, memoryMb, flagsLock },
    env: {},
    argv: [],
    // Lets the worker's import() callback answer with an error of the script's own realm.
    execArgv: ['--experimental-vm-modules'],
    stdout: true,
    stderr: true,
    resourceLimits: limits,
  });
  worker.stdout.resume();
  worker.stderr.resume();
  const thread: Thread = { worker, kind, runs: 0 };
  worker.on('message', (message: WorkerMessage) => {
    if (message.type === 'idle') becameIdle(thread);
    else if (message.type === 'retire') void worker.terminate();
    else if (thread.execution !== undefined) send({ type: 'message', id: thread.execution, message });
  });
  worker.on('error', (err: Error & { code?: string }) => {
    if (thread.execution !== undefined) send({ type: 'error', id: thread.execution, error: { message: err.message, stack: err.stack, code: err.code } });
  });
  worker.on('exit', (code) => {
    clearTimeout(resetting.get(thread));
    resetting.delete(thread);
    const waiting = idle.get(kind);
    if (waiting?.includes(thread)) waiting.splice(waiting.indexOf(thread), 1);
    if (thread.execution === undefined) return;
    running.delete(thread.execution);
    send({ type: 'exit', id: thread.execution, code });
  });
  return thread;
}

function start(command: Extract<ProcessCommand, { type: 'start' }>): void {
  const kind = JSON.stringify([command.memoryMb, command.limits]);
  const thread = idle.get(kind)?.pop() ?? createThread(kind, command.memoryMb, command.limits);
  thread.execution = command.id;
  thread.runs++;
  running.set(command.id, thread);
  thread.worker.postMessage({ type: 'run', data: command.run } satisfies ThreadCommand);
}

/** Execution `id` has ended: its thread is reset for the next (when `reuse` and it has room) or stopped. */
function release(id: number, reuse: boolean): void {
  const thread = running.get(id);
  if (!thread) return;
  running.delete(id);
  thread.execution = undefined;
  if (!reuse || thread.runs >= RUNS_PER_THREAD || (idle.get(thread.kind)?.length ?? 0) >= IDLE_THREADS) {
    void thread.worker.terminate();
    return;
  }
  resetting.set(thread, setTimeout(() => void thread.worker.terminate(), RESET_TIMEOUT_MS));
  thread.worker.postMessage({ type: 'reset' } satisfies ThreadCommand);
}

function becameIdle(thread: Thread): void {
  const timer = resetting.get(thread);
  if (!timer) return;
  clearTimeout(timer);
  resetting.delete(thread);
  const waiting = idle.get(thread.kind) ?? [];
  waiting.push(thread);
  idle.set(thread.kind, waiting);
}

process.on('message', (command: ProcessCommand) => {
  if (command.type === 'init') {
    workerCode = command.workerCode;
    assets = command.assets;
  } else if (command.type === 'start') {
    start(command);
  } else if (command.type === 'post') {
    running.get(command.id)?.worker.postMessage(command.message);
  } else if (command.type === 'release') {
    release(command.id, command.reuse);
  }
});
// The host is gone (it exited, or was killed): so are its executions.
process.on('disconnect', () => process.exit(0));
