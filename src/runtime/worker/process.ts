'use strict';
// A script process: runs the worker threads of one environment's executions. Some allocations end
// in a V8 fatal error that aborts the whole process whatever a thread's resource limits (a string
// split into 2^28 characters, an array of 2^26 numbers); here they end this process and the
// executions in it, never the server. Carries messages between the host and each thread unchanged,
// and keeps threads whose execution ended cleanly for the next executions (see `release`).
import os from 'node:os';
import { Worker } from 'node:worker_threads';
import type { ProcessCommand, ProcessEvent, RunData, ThreadCommand, ThreadLimits, WorkerAssets, WorkerMessage } from './protocol';

/**
 * How much less CPU priority scripts get than the server (niceness added to its own). Scripts that
 * ask for more CPU than the machine has would otherwise take it from the engine and the workers
 * running every other workflow: with twice the CPU two cores have asked of scripts, the server was
 * left a third of a core and workflow tasks took over 5 s. The threads of executions are started
 * from this thread and inherit its priority.
 */
const NICENESS_ADDED = 10;
try {
  os.setPriority(Math.min(19, os.getPriority() + NICENESS_ADDED));
} catch {
  // Where priorities cannot be set, scripts share the CPU evenly with the server.
}

/**
 * Executions one thread runs before it is retired, so nothing one leaves behind (compiled code, a
 * slow leak) adds up without end. A thread still holding memory after an execution is retired at once
 * (see the worker's `holdsLittleMemory`); a new thread costs about as much CPU as 15 executions.
 */
const RUNS_PER_THREAD = 1000;
/** Idle threads kept, per memory limit; past it, a thread that becomes idle is stopped. */
const MAX_IDLE_THREADS = 64;
/**
 * How long an idle thread is kept for the next execution. Executions come in bursts (syncs due at
 * the same minute): threads stopped as soon as a burst ended were started again for the next one.
 */
const THREAD_IDLE_MS = 30_000;
/** How long a reset thread has to say it is idle; one its last script left busy never does. */
const RESET_TIMEOUT_MS = 1000;
/**
 * Threads started at once, at most. A start takes a core for tens of milliseconds. When runs pile up
 * for a moment, each finding no idle thread, starting one for each took over a second of CPU from
 * the server (38 starts at once, with 3,000 syncs every minute); a run that waits instead mostly gets
 * a thread that freed up within milliseconds, and a long run still gets a thread of its own once a
 * start finishes.
 */
const MAX_STARTING = os.availableParallelism();

interface Thread {
  worker: Worker;
  /** Its memory limit and resource limits: threads serve executions with the same ones. */
  kind: string;
  runs: number;
  /** The execution it runs now. */
  execution?: number;
  /** While idle: the timer that stops it once idle THREAD_IDLE_MS. */
  idleTimer?: NodeJS.Timeout;
}

/** An execution to run, with its script's code. */
type StartCommand = Omit<Extract<ProcessCommand, { type: 'start' }>, 'run'> & { run: RunData };

let workerCode = '';
let assets: WorkerAssets | undefined;
/** Scripts' code by id, as the host sent it (it says when to forget one). */
const codes = new Map<number, string>();
const idle = new Map<string, Thread[]>();
const running = new Map<number, Thread>();
/** Threads reset after an execution, not yet idle: each with the timer that stops it if it never is. */
const resetting = new Map<Thread, NodeJS.Timeout>();
/** Threads started that have not yet said so (`started`). */
const starting = new Set<Thread>();
/** Executions waiting for a thread, by kind, oldest first (see `serve`). */
const waitingForThread = new Map<string, StartCommand[]>();
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
  send({ type: 'threadStarted' });
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
  starting.add(thread);
  worker.on('message', (message: WorkerMessage) => {
    if (message.type === 'started') {
      starting.delete(thread);
      serveAll();
    } else if (message.type === 'idle') becameIdle(thread);
    else if (message.type === 'retire') void worker.terminate();
    else if (thread.execution !== undefined) send({ type: 'message', id: thread.execution, message });
  });
  worker.on('error', (err: Error & { code?: string }) => {
    if (thread.execution !== undefined) send({ type: 'error', id: thread.execution, error: { message: err.message, stack: err.stack, code: err.code } });
  });
  worker.on('exit', (code) => {
    clearTimeout(thread.idleTimer);
    clearTimeout(resetting.get(thread));
    resetting.delete(thread);
    const waiting = idle.get(kind);
    if (waiting?.includes(thread)) waiting.splice(waiting.indexOf(thread), 1);
    // It may have been starting, or reset for an execution waiting that now needs another thread.
    starting.delete(thread);
    serveAll();
    if (thread.execution === undefined) return;
    running.delete(thread.execution);
    send({ type: 'exit', id: thread.execution, code });
  });
  return thread;
}

function start(command: StartCommand): void {
  const kind = JSON.stringify([command.memoryMb, command.limits]);
  const waiting = waitingForThread.get(kind) ?? [];
  waiting.push(command);
  waitingForThread.set(kind, waiting);
  serve(kind);
}

/**
 * Runs the executions waiting for a thread of `kind`, oldest first: on idle threads, else on new ones
 * while fewer than MAX_STARTING are starting. As many as there are threads of the kind being reset
 * wait for those: a start costs far more than the wait.
 */
function serve(kind: string): void {
  const waiting = waitingForThread.get(kind) ?? [];
  while (waiting.length > 0) {
    const thread = idle.get(kind)?.pop();
    if (thread) {
      run(thread, waiting.shift()!);
      continue;
    }
    if (waiting.length <= resettingOf(kind) || starting.size >= MAX_STARTING) break;
    const command = waiting.shift()!;
    run(createThread(kind, command.memoryMb, command.limits), command);
  }
  if (waiting.length === 0) waitingForThread.delete(kind);
}

function serveAll(): void {
  for (const kind of [...waitingForThread.keys()]) serve(kind);
}

function run(thread: Thread, command: StartCommand): void {
  clearTimeout(thread.idleTimer);
  thread.execution = command.id;
  thread.runs++;
  running.set(command.id, thread);
  thread.worker.postMessage({ type: 'run', data: command.run } satisfies ThreadCommand);
}

function resettingOf(kind: string): number {
  let n = 0;
  for (const thread of resetting.keys()) if (thread.kind === kind) n++;
  return n;
}

/** Execution `id` has ended: its thread is reset for the next (when `reuse` and it has room) or stopped. */
function release(id: number, reuse: boolean): void {
  const thread = running.get(id);
  if (!thread) {
    // Ended before a thread was free for it: it never starts.
    for (const waiting of waitingForThread.values()) {
      const at = waiting.findIndex((command) => command.id === id);
      if (at >= 0) waiting.splice(at, 1);
    }
    return;
  }
  running.delete(id);
  thread.execution = undefined;
  if (!reuse || thread.runs >= RUNS_PER_THREAD || (idle.get(thread.kind)?.length ?? 0) >= MAX_IDLE_THREADS) {
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
  thread.idleTimer = setTimeout(() => void thread.worker.terminate(), THREAD_IDLE_MS);
  serve(thread.kind);
}

process.on('message', (command: ProcessCommand) => {
  if (command.type === 'init') {
    workerCode = command.workerCode;
    assets = command.assets;
  } else if (command.type === 'code') {
    codes.set(command.id, command.code);
  } else if (command.type === 'forget') {
    codes.delete(command.id);
  } else if (command.type === 'start') {
    // The code is taken now: a start may wait for a thread, and its code be forgotten meanwhile.
    const code = codes.get(command.run.codeId);
    if (code === undefined) send({ type: 'error', id: command.id, error: { message: `The script's code (${command.run.codeId}) is not in its script process` } });
    else start({ ...command, run: { ...command.run, code } });
  } else if (command.type === 'post') {
    running.get(command.id)?.worker.postMessage(command.message);
  } else if (command.type === 'release') {
    release(command.id, command.reuse);
  }
});
// The host is gone (it exited, or was killed): so are its executions.
process.on('disconnect', () => process.exit(0));
