import { createHash } from 'node:crypto';
import fs from 'node:fs';
import { SourceMap, type SourceMapPayload } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import vm from 'node:vm';
import * as esbuild from 'esbuild';
import type { RecordCounts } from '../types';
import { ScriptRunError } from './errors';
import { errorForSandbox, HelperHost } from './host';
import type { ExecutionRequest, ExecutionResult } from './types';
import { ScriptProcesses } from './processes';
import { MODULE_WRAPPER, RECORD_CALLS, type HostMessage, type ProcessCommand, type WorkerAssets, type WorkerMessage } from './worker/protocol';

export const DEFAULT_TIMEOUT_MS = 5 * 60_000;
export const DEFAULT_MEMORY_MB = 256;
/** How long a cancelled execution waits for the helper calls under way (a records write) to end. */
const CANCEL_GRACE_MS = 10_000;

interface Assets {
  /** The script process's entry, bundled to a file of its own. */
  file: string;
  /** Its `init` command: the worker's code and what every execution's worker gets. */
  init: ProcessCommand;
}

let assets: Promise<Assets> | undefined;

/** The script processes of this server, one per environment with executions (see ScriptProcesses). */
const processes = new ScriptProcesses(loadAssets);
let reuseThreads = true;

/**
 * Whether a worker thread whose execution ended cleanly runs later executions of its environment
 * (each in a fresh context; the default), or every execution gets a new thread (slower, for those
 * who want no two executions ever to share one). `SYNCLINE_REUSE_SCRIPT_THREADS`.
 */
export function configureScriptThreads(options: { reuse: boolean }): void {
  reuseThreads = options.reuse;
}

/** Worker threads started for executions so far, by every script process of this server. */
export function scriptThreadsStarted(): number {
  return processes.threadsStarted;
}

/** Scripts' code sent to script processes so far: once per script and process while kept there. */
export function scriptCodesSent(): number {
  return processes.codesSent;
}

/** Source next to this file: `.ts` when running from source (tests, tsx), `.js` from `dist`. */
function sourceFile(name: string): string {
  for (const ext of ['.ts', '.js']) {
    const file = path.join(__dirname, 'worker', name + ext);
    if (fs.existsSync(file)) return file;
  }
  throw new Error(`The sandbox source worker/${name} is missing next to ${__dirname}`);
}

async function bundle(options: esbuild.BuildOptions): Promise<string> {
  const result = await esbuild.build({ bundle: true, write: false, platform: 'node', target: 'node20', logLevel: 'silent', ...options });
  return result.outputFiles![0]!.text;
}

/** Writes `source` to a file named after its hash in the temporary folder (once: the name is the content). */
function writeOnce(name: string, source: string): string {
  const file = path.join(os.tmpdir(), `${name}-${createHash('sha256').update(source).digest('hex').slice(0, 16)}.js`);
  if (!fs.existsSync(file)) {
    const partial = `${file}.${process.pid}.tmp`;
    fs.writeFileSync(partial, source);
    fs.renameSync(partial, file);
  }
  return file;
}

/**
 * Bundles the script process, the worker, the in-context prelude and both zod majors (4, and 3
 * from the package's `zod/v3`) once per server; compiled code is cached for every worker.
 */
function loadAssets(): Promise<Assets> {
  assets ??= (async () => {
    const zodBundle = (entry: string) => bundle({ entryPoints: [require.resolve(entry)], format: 'cjs', platform: 'neutral', mainFields: ['main'], minify: true });
    const [scriptProcess, worker, prelude, zod, zod3] = await Promise.all([
      bundle({ entryPoints: [sourceFile('process')], format: 'cjs', banner: { js: '"use strict";' } }),
      bundle({ entryPoints: [sourceFile('main')], format: 'cjs', banner: { js: '"use strict";' } }),
      bundle({ entryPoints: [sourceFile('prelude')], format: 'iife', platform: 'neutral', banner: { js: '"use strict";' } }),
      zodBundle('zod'),
      zodBundle('zod/v3'),
    ]);
    const cache = (source: string, filename: string) => new vm.Script(source, { filename }).createCachedData();
    const workerAssets: WorkerAssets = {
      prelude,
      preludeCache: cache(prelude, 'syncline:prelude'),
      zod,
      zodCache: cache(`${MODULE_WRAPPER}${zod}\n})`, 'zod.js'),
      zod3,
      zod3Cache: cache(`${MODULE_WRAPPER}${zod3}\n})`, 'zod3.js'),
    };
    return { file: writeOnce('syncline-script-process', scriptProcess), init: { type: 'init', workerCode: worker, assets: workerAssets } };
  })();
  assets.catch(() => (assets = undefined));
  return assets;
}

/**
 * Runs one compiled script in a fresh worker thread and vm context with the helper, under a
 * wall-clock and a memory limit. The thread runs in the script process of the request's
 * environment, so a V8 fatal error (which no resource limit of a thread prevents) ends that
 * environment's executions of the moment, not the server. Never throws for the script's sake: a throw, a hang or an
 * out-of-memory ends that execution with a typed error (`script_error`, `script_timeout`,
 * `script_memory_exceeded`, `action_script_runtime_error`, `invalid_sync_record`, `batch_too_large`). Records the
 * script saved are written to the store whatever the outcome, except when `request.signal`
 * aborts: the worker is terminated at once, the calls under way end, and the execution ends
 * with `script_cancelled` having written nothing more.
 *
 * @example
 * const result = await runScript({ kind: 'action', code, scriptName: 'github/actions/create-issue.ts', ... });
 * if (result.success) console.log(result.output);
 */
export async function runScript(request: ExecutionRequest): Promise<ExecutionResult> {
  const started = Date.now();
  const host = new HelperHost(request);
  const { signal } = request;
  if (signal?.aborted) {
    host.dispose();
    return { success: false, error: cancelled(signal), counts: {}, logs: await host.logs.finish(), durationMs: 0 };
  }
  const timeoutMs = request.limits?.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const memoryMb = request.limits?.memoryMb ?? DEFAULT_MEMORY_MB;
  const worker = await processes.thread(request.environmentName ?? '', {
    code: request.code,
    scriptName: request.scriptName,
    input: (request.kind === 'action' || request.webhook) && request.input !== undefined ? JSON.stringify(request.input) : undefined,
    setup: JSON.stringify({
      kind: request.kind,
      providerConfigKey: request.providerConfigKey,
      connectionId: request.connectionId,
      environmentName: request.environmentName,
      provider: request.provider.display_name,
      lastSyncDate: request.sync?.lastSyncDate?.toISOString() ?? null,
      variant: request.sync?.variant,
      syncName: request.sync?.name,
      scriptName: request.scriptName,
      webhook: request.webhook === true,
    }),
  }, memoryMb, { maxOldGenerationSizeMb: memoryMb, maxYoungGenerationSizeMb: Math.min(32, Math.max(4, Math.floor(memoryMb / 8))), stackSizeMb: 4 });

  // Whether the script ended by itself (returned or threw) before anything else ended it: its thread may then run another execution.
  let endedByItself = false;
  const outcome = await new Promise<{ ok: true; output: unknown } | { ok: false; error: ScriptRunError }>((resolve) => {
    let settled = false;
    const settle = (value: Parameters<typeof resolve>[0], byItself = false) => {
      if (settled) return;
      settled = true;
      endedByItself = byItself;
      clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
      resolve(value);
    };
    const timer = setTimeout(() => settle({ ok: false, error: new ScriptRunError('script_timeout', `The script ran longer than ${timeoutMs} ms and was stopped`) }), timeoutMs);
    const onAbort = () => settle({ ok: false, error: cancelled(signal!) });
    signal?.addEventListener('abort', onAbort, { once: true });
    const call = (method: string, json: string) => {
      try {
        return host.handle(method, JSON.parse(json) as Record<string, unknown>, RECORD_CALLS.has(method) ? json.length : 0);
      } catch (err) {
        return Promise.reject(err);
      }
    };
    const reply = (msg: HostMessage) => worker.postMessage(msg);
    const answer = (id: number, answered: Promise<unknown>) =>
      void answered
        .then(
          (value) => reply({ type: 'result', id, ok: true, json: value === undefined ? undefined : JSON.stringify(value) }),
          (err: unknown) => reply({ type: 'result', id, ok: false, json: JSON.stringify(errorForSandbox(err)) }),
        )
        .catch(() => undefined);
    const memoryExceeded = () => new ScriptRunError('script_memory_exceeded', `The script used more than ${memoryMb} MB of memory (heap, ArrayBuffers and Buffers) and was stopped`);
    // While a small record call that crossed unasked waits for room, the messages after it wait too:
    // the host takes calls, and the end, in the order the script made them.
    let heldBack: WorkerMessage[] | undefined;
    const receive = (message: WorkerMessage) => {
      if (heldBack && message.type !== 'memoryExceeded') heldBack.push(message);
      else if (message.type === 'call' && message.unreserved) takeUnreserved(message);
      else handle(message);
    };
    const takeUnreserved = ({ id, method, json }: { id: number; method: string; json: string }) => {
      let roomNow: boolean;
      try {
        roomNow = host.reserveRecordsNow(json.length);
      } catch (err) {
        return answer(id, Promise.reject(err));
      }
      if (roomNow) return answer(id, call(method, json));
      heldBack = [];
      const room = host.reserveRecords(json.length);
      answer(id, room.then(() => call(method, json)));
      // After the call above has been taken (callbacks run in the order they were added).
      void room
        .catch(() => undefined)
        .then(() => {
          const held = heldBack ?? [];
          heldBack = undefined;
          for (const message of held) receive(message);
        });
    };
    const handle = (message: WorkerMessage) => {
      if (message.type === 'reserve') {
        host
          .reserveRecords(message.size)
          .then(
            () => reply({ type: 'granted', id: message.id }),
            (err: unknown) => reply({ type: 'result', id: message.id, ok: false, json: JSON.stringify(errorForSandbox(err)) }),
          )
          .catch(() => undefined);
      } else if (message.type === 'memoryExceeded') {
        settle({ ok: false, error: memoryExceeded() });
      } else if (message.type === 'call' && message.id === 0 && message.method === 'log') {
        void call(message.method, message.json).catch(() => undefined);
      } else if (message.type === 'call') {
        answer(message.id, call(message.method, message.json));
      } else if (message.type === 'done') {
        // Calls the script did not wait for end with it: writes already sit in the buffer that
        // `finish` writes (a call's records are buffered as soon as it arrives); requests are aborted.
        settle(parseDone(message.json, request, host), true);
      } else if (message.type === 'unhandled') {
        const info = JSON.parse(message.json) as { message?: string; stack?: string };
        settle({ ok: false, error: new ScriptRunError('script_error', `Unhandled promise rejection: ${info.message ?? ''}`, { stack: scriptStack(info.stack) }) });
      }
    };
    worker.on('message', receive);
    worker.on('error', (err: Error & { code?: string; memory?: boolean }) => {
      if (err.code === 'ERR_WORKER_OUT_OF_MEMORY') {
        settle({ ok: false, error: memoryExceeded() });
      } else if (err.code === 'ERR_SCRIPT_PROCESS_ENDED') {
        settle({ ok: false, error: new ScriptRunError(err.memory ? 'script_memory_exceeded' : 'script_error', err.message) });
      } else {
        settle({ ok: false, error: new ScriptRunError('script_error', err.message, { stack: scriptStack(err.stack) }) });
      }
    });
    // A released thread exits too, after the run has settled: no error is built for it then.
    worker.on('exit', (code) => settled || settle({ ok: false, error: new ScriptRunError('script_error', `The script's worker exited unexpectedly (code ${code})`) }));
  });
  host.close();
  worker.release(reuseThreads && endedByItself && !host.fatal);
  if (!outcome.ok && outcome.error.type === 'script_cancelled') {
    // Nothing more is written: calls under way end (their requests are aborted), buffered records are dropped.
    await host.idle(CANCEL_GRACE_MS);
    host.dispose();
    return { success: false, error: outcome.error, counts: {}, logs: await host.logs.finish(), durationMs: Date.now() - started };
  }

  let counts: Record<string, RecordCounts> = {};
  let error = outcome.ok ? host.fatal : outcome.error;
  try {
    counts = await host.finish();
  } catch (err) {
    error ??= new ScriptRunError('script_internal_error', `Saving records failed: ${err instanceof Error ? err.message : String(err)}`);
  } finally {
    host.dispose();
  }
  const logs = await host.logs.finish();
  const durationMs = Date.now() - started;
  if (error) return { success: false, error: presented(error, host, request), counts, logs, durationMs };
  return { success: true, output: outcome.ok ? outcome.output : null, counts, logs, durationMs };
}

function cancelled(signal: AbortSignal): ScriptRunError {
  const reason = signal.reason instanceof Error ? signal.reason.message : typeof signal.reason === 'string' ? signal.reason : '';
  return new ScriptRunError('script_cancelled', `The execution was cancelled${reason ? ` (${reason})` : ''} and the script stopped`);
}

/**
 * The error as callers see it: stack frames mapped to the script's TypeScript files, and no secret
 * the execution saw (a script may throw its token). The action payload is the script's answer and stays.
 */
function presented(error: ScriptRunError, host: HelperHost, request: ExecutionRequest): ScriptRunError {
  const message = host.logs.redact(error.message);
  const mapped = error.stack !== undefined && request.sourceMap ? mapStack(error.stack, request.scriptName, request.sourceMap) : error.stack;
  const stack = mapped === undefined ? undefined : host.logs.redact(mapped);
  if (message === error.message && stack === error.stack) return error;
  return new ScriptRunError(error.type, message, { ...error.details, stack });
}

function parseDone(json: string, request: ExecutionRequest, host: HelperHost): { ok: true; output: unknown } | { ok: false; error: ScriptRunError } {
  const done = JSON.parse(json) as {
    ok: boolean;
    output?: unknown;
    error?: { name?: string; message?: string; stack?: string; actionError?: boolean; payload?: unknown; type?: string };
  };
  if (done.ok) {
    try {
      if (request.kind === 'action') host.checkActionOutput(JSON.stringify(done.output));
    } catch (err) {
      return { ok: false, error: err as ScriptRunError };
    }
    return { ok: true, output: done.output ?? null };
  }
  const e = done.error ?? {};
  if (host.fatal) return { ok: false, error: host.fatal };
  if (e.actionError) {
    return { ok: false, error: new ScriptRunError('action_script_runtime_error', e.message || 'ActionError', { stack: scriptStack(e.stack), payload: e.payload ?? {} }) };
  }
  const message = `${e.name && e.name !== 'Error' ? `${e.name}: ` : ''}${e.message ?? 'The script failed'}`;
  return { ok: false, error: new ScriptRunError('script_error', message, { stack: scriptStack(e.stack) }) };
}

/** Rewrites `<scriptName>:line:column` positions of the bundle to `<file>.ts:line:column` through the source map. */
export function mapStack(stack: string, scriptName: string, sourceMap: string): string {
  let map: SourceMap;
  try {
    map = new SourceMap(JSON.parse(sourceMap) as SourceMapPayload);
  } catch {
    return stack;
  }
  const escaped = scriptName.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  return stack.replace(new RegExp(`${escaped}:(\\d+):(\\d+)`, 'g'), (position, line: string, column: string) => {
    const lineIndex = Number(line) - 1;
    // The first line carries the CommonJS wrapper the worker adds before the bundle.
    const columnIndex = Number(column) - 1 - (lineIndex === 0 ? MODULE_WRAPPER.length : 0);
    const entry = map.findEntry(lineIndex, Math.max(0, columnIndex)) as Partial<{ originalSource: string; originalLine: number; originalColumn: number }>;
    if (entry.originalSource === undefined || entry.originalLine === undefined) return position;
    return `${entry.originalSource}:${entry.originalLine + 1}:${(entry.originalColumn ?? 0) + 1}`;
  });
}

/** The script's frames only: the sandbox's own frames below them are noise to the script's author. */
export function scriptStack(stack: string | undefined): string | undefined {
  if (!stack) return undefined;
  const lines = stack.split('\n');
  const cut = lines.findIndex((line, i) => i > 0 && /syncline:prelude|\[worker eval\]|node:internal/.test(line));
  return (cut < 0 ? lines : lines.slice(0, cut)).join('\n');
}
