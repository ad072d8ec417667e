import { fork, type ChildProcess } from 'node:child_process';
import { EventEmitter } from 'node:events';
import type { Readable } from 'node:stream';
import { LRUCache } from 'lru-cache';
import type { HostMessage, ProcessCommand, ProcessEvent, RunData, ThreadEvent, ThreadLimits } from './worker/protocol';

/** How long a script process without executions stays up, ready for the next one. */
export const SCRIPT_PROCESS_IDLE_MS = 30_000;
/** How much of a script process's stderr is kept, to say why it ended. */
const STDERR_TAIL_CHARS = 4096;
/** Scripts' code a script process keeps (see ProcessCommand `code`): at most this many, and this many characters. */
const CODES_KEPT = 64;
const CODE_CHARS_KEPT = 64 * 1024 * 1024;
/** A fatal error of V8 that is about memory: an allocation larger than V8 allows, or a heap out of room. */
const MEMORY_FATAL = /out of memory|heap limit|invalid size error|invalid array length|allocation failed/i;

/** One execution as the host asks for it: its code, which its script process may already have. */
export type ScriptRun = Omit<RunData, 'codeId'>;

/** `error` event of a thread whose script process ended under it. */
export interface ScriptProcessEnded extends Error {
  code: 'ERR_SCRIPT_PROCESS_ENDED';
  /** Whether V8 said the process ran out of memory (or was asked for more than it allows at once). */
  memory: boolean;
}

/**
 * The worker thread of one execution, in a script process: emits `message`, `error` and `exit` as a
 * `Worker` does. When its process ends under it, `error` carries a {@link ScriptProcessEnded}.
 */
export class ScriptThread extends EventEmitter {
  private exited = false;

  constructor(
    private readonly send: (command: ProcessCommand) => void,
    readonly id: number,
  ) {
    super();
  }

  postMessage(message: HostMessage): void {
    if (!this.exited) this.send({ type: 'post', id: this.id, message });
  }

  /**
   * The execution has ended: no event of it comes after this. With `reuse` (it ended cleanly) its
   * thread may run another execution of the environment, else it is stopped.
   */
  release(reuse: boolean): void {
    if (this.exited) return;
    this.send({ type: 'release', id: this.id, reuse });
    this.exit(0);
  }

  /** @internal An event of this thread from its process. */
  receive(event: ThreadEvent): void {
    if (this.exited) return;
    if (event.type === 'message') {
      this.emit('message', event.message);
    } else if (event.type === 'error') {
      this.emit('error', Object.assign(new Error(event.error.message), { stack: event.error.stack, code: event.error.code }));
    } else {
      this.exit(event.code);
    }
  }

  /** @internal The process ended with this thread still in it. */
  processEnded(error: ScriptProcessEnded): void {
    if (this.exited) return;
    this.emit('error', error);
    this.exit(1);
  }

  private exit(code: number): void {
    if (this.exited) return;
    this.exited = true;
    this.emit('exit', code);
  }
}

/** One script process and the threads running in it. */
class ScriptProcess {
  readonly threads = new Map<number, ScriptThread>();
  private readonly child: ChildProcess;
  private stderr = '';
  private idleTimer: NodeJS.Timeout | undefined;
  ended = false;
  /**
   * The code the process keeps, by the code itself (a script's code is the same string run after
   * run, so its hash is computed once): what is dropped here the process is told to forget.
   */
  private readonly codes = new LRUCache<string, number>({
    max: CODES_KEPT,
    maxSize: CODE_CHARS_KEPT,
    sizeCalculation: (_id, code) => Math.max(1, code.length),
    dispose: (id) => this.send({ type: 'forget', id }),
  });
  private nextCodeId = 1;

  constructor(
    file: string,
    init: ProcessCommand,
    onEnd: () => void,
    onThreadStarted: () => void,
    private readonly onCodeSent: () => void,
  ) {
    // No environment: the script process holds no secret of the server (database URL, encryption key).
    // ArrayBuffers are swept as part of each collection, not later on a background thread: the
    // memory limit counts them, and a collection run before an allocation is refused must free them.
    // No memory reducer: it runs full collections in every isolate that goes idle, and idle threads
    // wait here by the dozen (50 idle threads took a tenth of a core for seconds); a thread's
    // garbage is collected when it is reset, and an idle thread ends after a while.
    this.child = fork(file, [], { env: {}, execArgv: ['--no-concurrent-array-buffer-sweeping', '--no-memory-reducer'], serialization: 'advanced', stdio: ['ignore', 'ignore', 'pipe', 'ipc'] });
    this.child.stderr!.setEncoding('utf8').on('data', (chunk: string) => {
      this.stderr = (this.stderr + chunk).slice(-STDERR_TAIL_CHARS);
    });
    this.child.on('message', (events: ProcessEvent[]) => {
      for (const event of events) {
        if (event.type === 'threadStarted') onThreadStarted();
        else this.threads.get(event.id)?.receive(event);
      }
    });
    this.child.on('error', () => this.child.kill('SIGKILL'));
    // `close`, not `exit`: by then all of stderr has been read.
    this.child.on('close', (code, signal) => {
      this.ended = true;
      clearTimeout(this.idleTimer);
      onEnd();
      const error = processEnded(code, signal, this.stderr);
      for (const thread of this.threads.values()) thread.processEnded(error);
      this.threads.clear();
    });
    this.send(init);
    this.idle();
  }

  send(command: ProcessCommand): void {
    if (this.ended || !this.child.connected) return;
    // A send racing the process's end fails; `close` then ends the threads.
    this.child.send(command, (err) => err && undefined);
  }

  start(id: number, { code, ...run }: ScriptRun, memoryMb: number, limits: ThreadLimits): ScriptThread {
    const codeId = this.codeId(code);
    const thread = new ScriptThread((command) => this.send(command), id);
    this.threads.set(id, thread);
    thread.once('exit', () => {
      this.threads.delete(id);
      if (this.threads.size === 0) this.idle();
    });
    clearTimeout(this.idleTimer);
    this.holdEventLoop(true);
    this.send({ type: 'start', id, run: { ...run, codeId }, memoryMb, limits });
    return thread;
  }

  /** The id the process knows `code` by, sending it first when it does not. */
  private codeId(code: string): number {
    let id = this.codes.get(code);
    if (id === undefined) {
      id = this.nextCodeId++;
      this.send({ type: 'code', id, code });
      this.onCodeSent();
      this.codes.set(code, id);
    }
    return id;
  }

  stop(): void {
    this.child.kill('SIGKILL');
  }

  /** Whether the process, its IPC channel and its stderr pipe keep this process's event loop alive (a CLI's dryrun exits once its run ends). */
  private holdEventLoop(hold: boolean): void {
    const handles = [this.child, this.child.channel, this.child.stderr as (Readable & { ref?(): void; unref?(): void }) | null];
    for (const handle of handles) {
      if (hold) handle?.ref?.();
      else handle?.unref?.();
    }
  }

  /** No execution runs here: the process does not keep the server's event loop alive, and ends after a while. */
  private idle(): void {
    this.holdEventLoop(false);
    clearTimeout(this.idleTimer);
    this.idleTimer = setTimeout(() => this.stop(), SCRIPT_PROCESS_IDLE_MS).unref();
  }
}

function processEnded(code: number | null, signal: NodeJS.Signals | null, stderr: string): ScriptProcessEnded {
  // V8 says what went wrong on a line of its own after a generic one ("Fatal error in , line 0").
  const fatals = stderr
    .split('\n')
    .map((line) => line.replace(/^[#\s]+/, '').trim())
    .filter((line) => /fatal/i.test(line));
  const fatal = fatals.find((line) => MEMORY_FATAL.test(line)) ?? fatals.at(-1);
  const how = signal ? `signal ${signal}` : `code ${code}`;
  const message = `The script process of this environment ended (${how}${fatal ? `: ${fatal}` : ''}); the executions in it were stopped`;
  return Object.assign(new Error(message), { code: 'ERR_SCRIPT_PROCESS_ENDED' as const, memory: MEMORY_FATAL.test(fatal ?? '') });
}

/**
 * Script processes, one per key (Syncline uses the environment's name): the executions of one
 * environment share a process, so a V8 fatal error ends that environment's executions of the
 * moment and nothing else. A process starts with its first execution and ends after
 * {@link SCRIPT_PROCESS_IDLE_MS} without one.
 *
 * @example
 * const thread = await processes.thread('prod', data, limits);
 * thread.on('message', (m) => ...);
 */
export class ScriptProcesses {
  private readonly processes = new Map<string, ScriptProcess>();
  private nextId = 1;
  /** Worker threads the script processes have started: a thread serves many executions, so this grows far slower than they do. */
  threadsStarted = 0;
  /** Scripts' code sent to script processes: once per script and process while it is kept there. */
  codesSent = 0;

  /** `load`: the script process's entry file and its `init` command (loaded once, on first use). */
  constructor(private readonly load: () => Promise<{ file: string; init: ProcessCommand }>) {}

  async thread(key: string, run: ScriptRun, memoryMb: number, limits: ThreadLimits): Promise<ScriptThread> {
    const { file, init } = await this.load();
    let proc = this.processes.get(key);
    if (!proc || proc.ended) {
      const created: ScriptProcess = new ScriptProcess(
        file,
        init,
        () => {
          if (this.processes.get(key) === created) this.processes.delete(key);
        },
        () => this.threadsStarted++,
        () => this.codesSent++,
      );
      this.processes.set(key, created);
      proc = created;
    }
    return proc.start(this.nextId++, run, memoryMb, limits);
  }
}
