'use strict';
// A script process: runs the worker threads of one environment's executions. Some allocations end
// in a V8 fatal error that aborts the whole process whatever a thread's resource limits (a string
// split into 2^28 characters, an array of 2^26 numbers); here they end this process and the
// executions in it, never the server. Carries messages between the host and each thread unchanged.
import { Worker } from 'node:worker_threads';
import type { ProcessCommand, ProcessEvent, WorkerAssets } from './protocol';

const threads = new Map<number, Worker>();
let workerCode = '';
let assets: WorkerAssets | undefined;

const send = (event: ProcessEvent) => process.send?.(event);

function start(id: number, command: Extract<ProcessCommand, { type: 'start' }>): void {
  const worker = new Worker(workerCode, {
    eval: true,
    workerData: { ...assets, ...command.data },
    env: {},
    argv: [],
    // Lets the worker's import() callback answer with an error of the script's own realm.
    execArgv: ['--experimental-vm-modules'],
    stdout: true,
    stderr: true,
    resourceLimits: command.limits,
  });
  worker.stdout.resume();
  worker.stderr.resume();
  threads.set(id, worker);
  worker.on('message', (message) => send({ type: 'message', id, message }));
  worker.on('error', (err: Error & { code?: string }) => send({ type: 'error', id, error: { message: err.message, stack: err.stack, code: err.code } }));
  worker.on('exit', (code) => {
    threads.delete(id);
    send({ type: 'exit', id, code });
  });
}

process.on('message', (command: ProcessCommand) => {
  if (command.type === 'init') {
    workerCode = command.workerCode;
    assets = command.assets;
  } else if (command.type === 'start') {
    start(command.id, command);
  } else if (command.type === 'post') {
    threads.get(command.id)?.postMessage(command.message);
  } else if (command.type === 'terminate') {
    void threads.get(command.id)?.terminate();
  }
});
// The host is gone (it exited, or was killed): so are its executions.
process.on('disconnect', () => process.exit(0));
