'use strict';
// The worker thread of one execution. Creates a fresh vm context (no code generation from
// strings), runs the prelude in it, then the script. Messages to the host carry JSON text only.
// Every function handed to the context catches everything and returns primitives, so no object of
// this realm (which has `process` and `require`) can reach the script.
import crypto from 'node:crypto';
import url from 'node:url';
import v8 from 'node:v8';
import vm from 'node:vm';
import { parentPort, workerData } from 'node:worker_threads';
import { MODULE_WRAPPER, RECORD_CALLS, type HostMessage, type WorkerData, type WorkerMessage } from './protocol';

interface Api {
  deliver(id: number, ok: boolean, json: string | undefined): void;
  run(moduleFn: unknown, input: string | undefined): Promise<void>;
  describeReason(reason: unknown): string;
}

/** Largest helper call, as JSON text: a bigger one is the script's to split, not the host's to parse. Record calls have their own limit, the host's. */
const MAX_CALL_CHARS = 50 * 1024 * 1024;
/** How often the memory in use is compared with the limit while the script waits (allocations are checked as they happen). */
const MEMORY_CHECK_MS = 100;

const data = workerData as WorkerData;
const port = parentPort!;
const collectGarbage = garbageCollector();
// A null-prototype sandbox object: lookups on the global that miss fall through to this context's
// own Object.prototype, never to this realm's (`this.constructor.constructor` stays inside).
const context = vm.createContext(Object.create(null), { name: data.scriptName, codeGeneration: { strings: false, wasm: false } });
// Another execution's worker may have been taking its collector as this context was made.
vm.runInContext('delete globalThis.gc', context);

/**
 * V8's `gc`, for this thread: the flag that exposes it is set only while a context is made to take
 * it from (as jest does), so the script's context does not get it.
 */
function garbageCollector(): (() => void) | undefined {
  try {
    v8.setFlagsFromString('--expose-gc');
    return vm.runInNewContext('gc') as () => void;
  } catch {
    return undefined;
  } finally {
    v8.setFlagsFromString('--no-expose-gc');
  }
}

const memoryLimit = data.memoryMb * 1024 * 1024;
let memoryExceeded = false;
const memoryInUse = () => {
  const heap = v8.getHeapStatistics();
  return heap.used_heap_size + heap.external_memory;
};

/**
 * Whether `bytes` more fit the execution's memory limit, counting the heap and every ArrayBuffer
 * (the worker's resourceLimits cover only the heap). Garbage is collected before saying no; a no
 * ends the execution (`script_memory_exceeded`), whether or not the script catches the RangeError.
 */
function reserveMemory(bytes: unknown): boolean {
  try {
    if (memoryExceeded) return false;
    const wanted = Math.max(0, Number(bytes) || 0);
    if (memoryInUse() + wanted <= memoryLimit) return true;
    // Twice: the buffers one collection frees are only counted as freed once the next one has run.
    collectGarbage?.();
    collectGarbage?.();
    if (memoryInUse() + wanted <= memoryLimit) return true;
    memoryExceeded = true;
    port.postMessage({ type: 'memoryExceeded' } satisfies WorkerMessage);
    return false;
  } catch {
    return false;
  }
}
setInterval(() => reserveMemory(0), MEMORY_CHECK_MS).unref();

// Taken before any script runs, so the script cannot substitute it.
const ContextTypeError = vm.runInContext('TypeError', context) as ErrorConstructor;

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

/**
 * Messages held back, in order, while a record call before them waits for room: the host sees
 * calls, and the end, in the order the script made them (a checkpoint saved after a batch is saved
 * after it; a batch the script did not await is still written).
 */
const outbox: Array<{ message: WorkerMessage; waitingForRoom: boolean }> = [];

function send(message: WorkerMessage, waitingForRoom = false): void {
  outbox.push({ message, waitingForRoom });
  drainOutbox();
}

function drainOutbox(): void {
  while (outbox.length > 0 && !outbox[0]!.waitingForRoom) port.postMessage(outbox.shift()!.message);
}

const heldCall = (id: number) => outbox.findIndex(({ message }) => message.type === 'call' && message.id === id);

function post(id: unknown, method: unknown, json: unknown): string | undefined {
  try {
    if (typeof id !== 'number' || typeof method !== 'string' || typeof json !== 'string') return 'invalid call';
    if (!reserveMemory(0)) return 'the script is over its memory limit';
    if (RECORD_CALLS.has(method)) {
      // The records stay here (in the script's memory) until the host has room for them.
      port.postMessage({ type: 'reserve', id, size: json.length } satisfies WorkerMessage);
      send({ type: 'call', id, method, json }, true);
      return undefined;
    }
    if (json.length > MAX_CALL_CHARS) return `the call is larger than ${MAX_CALL_CHARS / 1024 / 1024} MB of JSON: send smaller batches`;
    if (method === 'timer') {
      const ms = Math.min(Math.max(0, Number(JSON.parse(json).ms) || 0), 2 ** 31 - 1);
      setTimeout(() => deliver(id, true, undefined), ms);
      return undefined;
    }
    send({ type: 'call', id, method, json });
    return undefined;
  } catch {
    return 'the call could not be sent';
  }
}

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

function finish(json: unknown): void {
  try {
    send({ type: 'done', json: typeof json === 'string' ? json : '{"ok":false}' });
  } catch {
    // The host notices the worker ending.
  }
}

function compile(source: string, filename: string, cachedData?: Uint8Array): vm.Script {
  return new vm.Script(source, {
    filename,
    cachedData: cachedData && Buffer.from(cachedData),
    // Without this callback Node rejects `import()` with an error of this realm, a way out.
    importModuleDynamically: () => {
      throw new ContextTypeError('import() is not available in scripts');
    },
  });
}

function loadZod(major: unknown): unknown {
  try {
    if (major === 3) return compile(`${MODULE_WRAPPER}${data.zod3}\n})`, 'zod3.js', data.zod3Cache).runInContext(context);
    return compile(`${MODULE_WRAPPER}${data.zod}\n})`, 'zod.js', data.zodCache).runInContext(context);
  } catch {
    return undefined;
  }
}

function deliver(id: number, ok: boolean, json: string | undefined): void {
  try {
    api.deliver(id, ok, json);
  } catch {
    // A script error inside a continuation surfaces through the script's own promise.
  }
}

compile(data.prelude, 'syncline:prelude', data.preludeCache).runInContext(context);
const boot = (context as Record<string, unknown>).__syncline_boot as (...args: unknown[]) => Api;
// Deleted from inside: deleting from the sandbox object leaves the context's own global property.
vm.runInContext('delete globalThis.__syncline_boot', context);
const api = boot(post, call, finish, loadZod, reserveMemory, data.setup);

process.on('unhandledRejection', (reason) => {
  let json = '{"name":"Error","message":"Unhandled promise rejection"}';
  try {
    json = String(api.describeReason(reason));
  } catch {
    // Keep the generic text.
  }
  send({ type: 'unhandled', json });
});

port.on('message', (message: HostMessage) => {
  const held = heldCall(message.id);
  if (message.type === 'granted') {
    if (held >= 0) outbox[held]!.waitingForRoom = false;
  } else {
    // A record call refused room is answered without having been sent.
    if (held >= 0) outbox.splice(held, 1);
    deliver(message.id, message.ok, message.json);
  }
  drainOutbox();
});

let moduleFn: unknown;
try {
  // The wrapper is on the script's first line so line numbers in stacks match the bundle.
  moduleFn = compile(`${MODULE_WRAPPER}${data.code}\n})`, data.scriptName).runInContext(context);
} catch (err) {
  finish(JSON.stringify({ ok: false, error: { name: 'SyntaxError', message: err instanceof Error ? err.message : String(err) } }));
}
if (moduleFn) void api.run(moduleFn, data.input);
