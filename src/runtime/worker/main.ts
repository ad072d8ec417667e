'use strict';
// A worker thread running executions one after another, each in a fresh vm context (no code
// generation from strings): the prelude runs in it, then the script. Messages to the host carry
// JSON text only. Every function handed to a context catches everything and returns primitives, so
// no object of this realm (which has `process` and `require`) can reach the script. When an
// execution has ended cleanly the host may reset the thread for the next one of the same
// environment: the functions the old context holds are then dead (their calls fail, their answers
// and timers are dropped), so nothing it left running reaches the next execution.
import crypto from 'node:crypto';
import url from 'node:url';
import v8 from 'node:v8';
import vm from 'node:vm';
import { parentPort, workerData } from 'node:worker_threads';
import { MODULE_WRAPPER, RECORD_CALLS, SMALL_RECORD_CALL_CHARS, type RunData, type ThreadCommand, type ThreadData, type WorkerMessage } from './protocol';

interface Api {
  deliver(id: number, ok: boolean, json: string | undefined): void;
  run(moduleFn: unknown, input: string | undefined): Promise<void>;
  describeReason(reason: unknown): string;
}

/** Largest helper call, as JSON text: a bigger one is the script's to split, not the host's to parse. Record calls have their own limit, the host's. */
const MAX_CALL_CHARS = 50 * 1024 * 1024;
/** How often the memory in use is compared with the limit while the script waits (allocations are checked as they happen). */
const MEMORY_CHECK_MS = 100;

const assets = workerData as ThreadData;
const port = parentPort!;
const collectGarbage = garbageCollector();

/**
 * Runs `fn` holding the lock of V8's flags. The flags are the script process's, shared by its
 * threads: while one thread has `--expose-gc` on to take its collector, no other may turn it off
 * before it has, nor make a script's context (which would get a `gc` that cannot be deleted).
 */
function withFlagsLocked<T>(fn: () => T): T {
  const lock = new Int32Array(assets.flagsLock);
  while (Atomics.compareExchange(lock, 0, 0, 1) !== 0) Atomics.wait(lock, 0, 1, 10);
  try {
    return fn();
  } finally {
    Atomics.store(lock, 0, 0);
    Atomics.notify(lock, 0, 1);
  }
}

/** V8's `gc`, for this thread: the flag that exposes it is on only while a context is made to take it from (as jest does). */
function garbageCollector(): (() => void) | undefined {
  return withFlagsLocked(() => {
    try {
      v8.setFlagsFromString('--expose-gc');
      return vm.runInNewContext('gc') as () => void;
    } catch {
      return undefined;
    } finally {
      v8.setFlagsFromString('--no-expose-gc');
    }
  });
}

const memoryLimit = assets.memoryMb * 1024 * 1024;
const memoryInUse = () => {
  const heap = v8.getHeapStatistics();
  return heap.used_heap_size + heap.external_memory;
};

const ok = (value: unknown) => JSON.stringify({ ok: true, value });
const fail = (err: unknown) => JSON.stringify({ ok: false, name: err instanceof TypeError ? 'TypeError' : 'Error', message: err instanceof Error ? err.message : String(err) });

const URL_PARTS = ['href', 'origin', 'protocol', 'username', 'password', 'host', 'hostname', 'port', 'pathname', 'search', 'hash'] as const;
const urlParts = (u: URL) => Object.fromEntries(URL_PARTS.map((p) => [p, u[p]]));

const syncHandlers: Record<string, (args: any) => unknown> = {
  'crypto.digest': ({ algorithm, key, data: body }) => {
    const bytes = Buffer.from(String(body), 'base64');
    const h = key === undefined ? crypto.createHash(String(algorithm)) : crypto.createHmac(String(algorithm), Buffer.from(String(key), 'base64'));
    return h.update(bytes).digest('base64');
  },
  'crypto.uuid': () => crypto.randomUUID(),
  'crypto.random': ({ size }) => {
    const n = Number(size);
    if (!Number.isInteger(n) || n < 0 || n > 65536) throw new RangeError('randomBytes size must be an integer between 0 and 65536');
    return crypto.randomBytes(n).toString('base64');
  },
  'crypto.randomInt': ({ min, max }) => crypto.randomInt(Number(min), Number(max)),
  'crypto.sign': ({ algorithm, data: body, key, passphrase }) =>
    crypto.createSign(String(algorithm)).update(Buffer.from(String(body), 'base64')).sign({ key: String(key), passphrase: passphrase === undefined ? undefined : String(passphrase) }, 'base64'),
  'crypto.verify': ({ algorithm, data: body, key, signature }) =>
    crypto.createVerify(String(algorithm)).update(Buffer.from(String(body), 'base64')).verify(String(key), Buffer.from(String(signature), 'base64')),
  'url.parse': ({ input, base }) => urlParts(new URL(String(input), base === undefined ? undefined : String(base))),
  'url.set': ({ href, part, value }) => {
    const u = new URL(String(href));
    if (!(URL_PARTS as readonly string[]).includes(part) || part === 'origin') throw new TypeError(`Cannot set URL.${part}`);
    (u as unknown as Record<string, string>)[part] = String(value);
    return urlParts(u);
  },
  'url.legacyParse': ({ input, parseQuery }) => JSON.parse(JSON.stringify(url.parse(String(input), parseQuery === true))),
  'url.format': ({ value }) => url.format(typeof value === 'string' ? value : (value as url.UrlObject)),
  'url.resolve': ({ from, to }) => url.resolve(String(from), String(to)),
};

/** A synchronous helper call (crypto, url): answered here, as JSON text. */
function call(method: unknown, json: unknown): string {
  try {
    const handler = typeof method === 'string' && Object.hasOwn(syncHandlers, method) ? syncHandlers[method] : undefined;
    if (!handler || typeof json !== 'string') return fail(new Error(`Unknown call ${String(method)}`));
    return ok(handler(JSON.parse(json)));
  } catch (err) {
    try {
      return fail(err);
    } catch {
      return '{"ok":false,"message":"failed"}';
    }
  }
}

const sharedScripts = new Map<string, vm.Script>();

/**
 * Our own code run in every execution's context (the prelude, zod), compiled once per thread. Contexts
 * that run one Script share its compiled code (bytecode, no object): functions compiled on first call in
 * one execution are not compiled again in the next, which was most of a trivial execution's CPU. None of
 * this code calls import() (the script's own code, which may, is compiled per execution); should it, the
 * answer is a string, an object of no realm.
 */
function sharedScript(filename: string, source: () => string, cachedData: Uint8Array | undefined): vm.Script {
  let script = sharedScripts.get(filename);
  if (!script) {
    script = new vm.Script(source(), {
      filename,
      cachedData: cachedData && Buffer.from(cachedData),
      importModuleDynamically: () => {
        // eslint-disable-next-line @typescript-eslint/only-throw-error -- a primitive: no object of this realm
        throw 'import() is not available in scripts';
      },
    });
    sharedScripts.set(filename, script);
  }
  return script;
}

/** Scripts compiled on this thread, by name and code id (RunData.codeId), least recently run first. */
const compiledScripts = new Map<string, vm.Script>();
/** How many scripts' compiled code a thread keeps: an environment's runs come from a few scripts. */
const COMPILED_SCRIPTS_KEPT = 16;

/**
 * A script's own code, compiled once per thread and run afresh in each execution's context, like
 * the prelude: its top level runs again in every context and makes objects of that context only;
 * what is shared is bytecode. Compiling per execution cost more than the rest of a trivial run, and
 * with `--experimental-vm-modules` every script compiled with an import() callback is registered for
 * the thread's lifetime: each compile was slower than the one before (0.1 ms after 3,000 of them,
 * 2.5 ms after 12,000).
 */
function compiledScript(filename: string, code: string, codeId: number): vm.Script {
  const key = `${filename}\0${codeId}`;
  let script = compiledScripts.get(key);
  if (script) {
    compiledScripts.delete(key);
  } else {
    script = new vm.Script(`${MODULE_WRAPPER}${code}\n})`, { filename, importModuleDynamically: refuseImport });
    if (compiledScripts.size >= COMPILED_SCRIPTS_KEPT) compiledScripts.delete(compiledScripts.keys().next().value!);
  }
  compiledScripts.set(key, script);
  return script;
}

/**
 * The import() callback of scripts: rejects with a TypeError of the context of the execution under
 * way (the one execution a thread runs at a time), never of this realm, which has `process`: without
 * the callback Node rejects with an error of this realm. Once the execution has ended, a primitive.
 */
function refuseImport(): never {
  const message = 'import() is not available in scripts';
  const TypeErrorOfScript = current?.importRefusal.TypeError;
  if (TypeErrorOfScript) throw new TypeErrorOfScript(message);
  // eslint-disable-next-line @typescript-eslint/only-throw-error -- no execution under way: a primitive, no object of any realm
  throw message;
}

/** One execution: its context, its calls under way, its timers. */
class Execution {
  /** False once the execution has ended: the functions its context holds stop working. */
  live = true;
  private memoryExceeded = false;
  private readonly context: vm.Context;
  private readonly api: Api;
  /**
   * The TypeError `import()` rejects with (see `refuseImport`): the context's own, taken before any
   * script runs, so the script cannot substitute it. Emptied when the execution ends.
   */
  readonly importRefusal: { TypeError?: ErrorConstructor };
  /**
   * Messages held back, in order, while a record call before them waits for room: the host sees
   * calls, and the end, in the order the script made them (a checkpoint saved after a batch is saved
   * after it; a batch the script did not await is still written).
   */
  private readonly outbox: Array<{ message: WorkerMessage; waitingForRoom: boolean }> = [];
  private readonly timers = new Set<NodeJS.Timeout>();
  /** The small record call sent without asking for room, until its answer comes (one at a time). */
  private unreservedCall: number | undefined;

  constructor(private readonly data: RunData) {
    // A null-prototype sandbox object: lookups on the global that miss fall through to this context's
    // own Object.prototype, never to this realm's (`this.constructor.constructor` stays inside).
    this.context = withFlagsLocked(() => vm.createContext(Object.create(null), { name: data.scriptName, codeGeneration: { strings: false, wasm: false } }));
    this.importRefusal = { TypeError: vm.runInContext('TypeError', this.context) as ErrorConstructor };
    sharedScript('syncline:prelude', () => assets.prelude, assets.preludeCache).runInContext(this.context);
    const boot = (this.context as Record<string, unknown>).__syncline_boot as (...args: unknown[]) => Api;
    // Deleted from inside: deleting from the sandbox object leaves the context's own global property.
    vm.runInContext('delete globalThis.__syncline_boot', this.context);
    this.api = boot(
      (id: unknown, method: unknown, json: unknown) => this.post(id, method, json),
      (method: unknown, json: unknown) => (this.live ? call(method, json) : fail(new Error('The execution has ended'))),
      (json: unknown) => this.finish(json),
      (major: unknown) => this.loadZod(major),
      (bytes: unknown) => this.reserveMemory(bytes),
      data.setup,
    );
  }

  start(): void {
    let moduleFn: unknown;
    try {
      // The wrapper is on the script's first line so line numbers in stacks match the bundle.
      moduleFn = compiledScript(this.data.scriptName, this.data.code, this.data.codeId).runInContext(this.context);
    } catch (err) {
      this.finish(JSON.stringify({ ok: false, error: { name: 'SyntaxError', message: err instanceof Error ? err.message : String(err) } }));
    }
    if (moduleFn) void this.api.run(moduleFn, this.data.input);
  }

  /** Ends the execution: its timers are cleared and its context's calls fail from now on. */
  end(): void {
    this.live = false;
    this.importRefusal.TypeError = undefined;
    for (const timer of this.timers) clearTimeout(timer);
    this.timers.clear();
    this.outbox.length = 0;
  }

  /**
   * Whether `bytes` more fit the execution's memory limit, counting the heap and every ArrayBuffer
   * (the worker's resourceLimits cover only the heap). Garbage is collected before saying no; a no
   * ends the execution (`script_memory_exceeded`), whether or not the script catches the RangeError.
   */
  reserveMemory(bytes: unknown): boolean {
    try {
      if (this.memoryExceeded || !this.live) return false;
      const wanted = Math.max(0, Number(bytes) || 0);
      if (memoryInUse() + wanted <= memoryLimit) return true;
      // Twice: the buffers one collection frees are only counted as freed once the next one has run.
      collectGarbage?.();
      collectGarbage?.();
      if (memoryInUse() + wanted <= memoryLimit) return true;
      this.memoryExceeded = true;
      port.postMessage({ type: 'memoryExceeded' } satisfies WorkerMessage);
      return false;
    } catch {
      return false;
    }
  }

  /** A call's answer or room for a record call, from the host. */
  receive(message: Extract<ThreadCommand, { type: 'result' | 'granted' }>): void {
    if (message.type === 'result' && message.id === this.unreservedCall) this.unreservedCall = undefined;
    const held = this.outbox.findIndex(({ message: m }) => m.type === 'call' && m.id === message.id);
    if (message.type === 'granted') {
      if (held >= 0) this.outbox[held]!.waitingForRoom = false;
    } else {
      // A record call refused room is answered without having been sent.
      if (held >= 0) this.outbox.splice(held, 1);
      this.deliver(message.id, message.ok, message.json);
    }
    this.drainOutbox();
  }

  unhandled(reason: unknown): void {
    let json = '{"name":"Error","message":"Unhandled promise rejection"}';
    try {
      json = String(this.api.describeReason(reason));
    } catch {
      // Keep the generic text.
    }
    this.send({ type: 'unhandled', json });
  }

  private send(message: WorkerMessage, waitingForRoom = false): void {
    if (!this.live) return;
    this.outbox.push({ message, waitingForRoom });
    this.drainOutbox();
  }

  private drainOutbox(): void {
    while (this.outbox.length > 0 && !this.outbox[0]!.waitingForRoom) port.postMessage(this.outbox.shift()!.message);
  }

  private post(id: unknown, method: unknown, json: unknown): string | undefined {
    try {
      if (!this.live) return 'the execution has ended';
      if (typeof id !== 'number' || typeof method !== 'string' || typeof json !== 'string') return 'invalid call';
      if (!this.reserveMemory(0)) return 'the script is over its memory limit';
      if (RECORD_CALLS.has(method) && json.length <= SMALL_RECORD_CALL_CHARS && this.unreservedCall === undefined) {
        this.unreservedCall = id;
        this.send({ type: 'call', id, method, json, unreserved: true });
        return undefined;
      }
      if (RECORD_CALLS.has(method)) {
        // The records stay here (in the script's memory) until the host has room for them.
        port.postMessage({ type: 'reserve', id, size: json.length } satisfies WorkerMessage);
        this.send({ type: 'call', id, method, json }, true);
        return undefined;
      }
      if (json.length > MAX_CALL_CHARS) return `the call is larger than ${MAX_CALL_CHARS / 1024 / 1024} MB of JSON: send smaller batches`;
      if (method === 'timer') {
        const ms = Math.min(Math.max(0, Number(JSON.parse(json).ms) || 0), 2 ** 31 - 1);
        const timer = setTimeout(() => {
          this.timers.delete(timer);
          this.deliver(id, true, undefined);
        }, ms);
        this.timers.add(timer);
        return undefined;
      }
      this.send({ type: 'call', id, method, json });
      return undefined;
    } catch {
      return 'the call could not be sent';
    }
  }

  private finish(json: unknown): void {
    try {
      this.send({ type: 'done', json: typeof json === 'string' ? json : '{"ok":false}' });
    } catch {
      // The host notices the worker ending.
    }
  }

  private loadZod(major: unknown): unknown {
    try {
      if (!this.live) return undefined;
      if (major === 3) return sharedScript('zod3.js', () => `${MODULE_WRAPPER}${assets.zod3}\n})`, assets.zod3Cache).runInContext(this.context);
      return sharedScript('zod.js', () => `${MODULE_WRAPPER}${assets.zod}\n})`, assets.zodCache).runInContext(this.context);
    } catch {
      return undefined;
    }
  }

  private deliver(id: number, ok: boolean, json: string | undefined): void {
    if (!this.live) return;
    try {
      this.api.deliver(id, ok, json);
    } catch {
      // A script error inside a continuation surfaces through the script's own promise.
    }
  }
}

/** Memory in use once the thread has started, before any execution. */
const baseline = memoryInUse();

/** Whether what the thread holds beyond its baseline is at most an eighth of the limit, once garbage is collected if needed. */
function holdsLittleMemory(): boolean {
  const fits = () => memoryInUse() - baseline <= memoryLimit / 8;
  if (fits()) return true;
  collectGarbage?.();
  collectGarbage?.();
  return fits();
}

let current: Execution | undefined;
/** Checks the memory of the execution under way; none runs while the thread is idle (threads wait idle in dozens). */
let memoryCheck: NodeJS.Timeout | undefined;

process.on('unhandledRejection', (reason) => current?.unhandled(reason));

port.on('message', (command: ThreadCommand) => {
  if (command.type === 'run') {
    current = new Execution(command.data);
    memoryCheck ??= setInterval(() => current?.reserveMemory(0), MEMORY_CHECK_MS).unref();
    current.start();
  } else if (command.type === 'reset') {
    current?.end();
    current = undefined;
    clearInterval(memoryCheck);
    memoryCheck = undefined;
    // Sent from the next turn of the event loop: a thread its last script left busy (an endless
    // chain of promises) never says so, and is not used again. Nor is one still holding memory
    // after a collection (an ended context can stay reachable for a while): the next execution
    // would start with part of its limit taken.
    setImmediate(() => port.postMessage({ type: holdsLittleMemory() ? 'idle' : 'retire' } satisfies WorkerMessage));
  } else {
    current?.receive(command);
  }
});
// Its script process starts only a few threads at a time: this one is ready.
port.postMessage({ type: 'started' } satisfies WorkerMessage);
