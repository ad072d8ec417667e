import type { FieldType } from '../config/model-types';
import type { ModelDefinition } from '../config/nango-yaml';
import type { RecordCounts } from '../types';
import { ScriptRunError } from './errors';
import type { RecordSink } from './types';

type Check = (value: unknown, path: string, problems: string[]) => void;

/**
 * A validator for records of one model: returns the problems of a record (empty when it
 * matches). Fields are checked by type; missing required fields are problems; extra fields are not.
 * Records arrive as JSON, so a `Date` field accepts an ISO string.
 *
 * @example
 * modelChecker(models.get('Issue')!, models)({ id: 1, title: 2 }) // ['title: expected string, got number']
 */
export function modelChecker(model: ModelDefinition, models: ReadonlyMap<string, ModelDefinition> = new Map()): (record: unknown) => string[] {
  const cache = new Map<string, Check>();
  const forModel = (name: string): Check => {
    let check = cache.get(name);
    if (!check) {
      const def = name === model.name ? model : models.get(name);
      if (!def) return () => undefined;
      let built: Check | undefined;
      cache.set(name, (v, p, out) => built!(v, p, out));
      built = compile(def.type ?? { kind: 'object', fields: def.fields, index: def.index });
      check = built;
      cache.set(name, built);
    }
    return check;
  };

  const compile = (type: FieldType): Check => {
    switch (type.kind) {
      case 'primitive':
        return primitive(type.name);
      case 'literal':
        return (v, p, out) => {
          if (v !== type.value) out.push(`${where(p)}: expected ${JSON.stringify(type.value)}, got ${describe(v)}`);
        };
      case 'array': {
        const item = compile(type.of);
        return (v, p, out) => {
          if (!Array.isArray(v)) return void out.push(`${where(p)}: expected an array, got ${describe(v)}`);
          for (let i = 0; i < v.length; i++) item(v[i], `${p}[${i}]`, out);
        };
      }
      case 'union': {
        const members = type.of.map(compile);
        return (v, p, out) => {
          for (const member of members) {
            const problems: string[] = [];
            member(v, p, problems);
            if (problems.length === 0) return;
          }
          out.push(`${where(p)}: ${describe(v)} matches none of the union's types`);
        };
      }
      case 'ref':
        return (v, p, out) => forModel(type.model)(v, p, out);
      case 'object': {
        const fields = type.fields.map((f) => ({ name: f.name, optional: f.optional, check: compile(f.type) }));
        const index = type.index && compile(type.index);
        const known = new Set(type.fields.map((f) => f.name));
        return (v, p, out) => {
          if (typeof v !== 'object' || v === null || Array.isArray(v)) return void out.push(`${p || 'record'}: expected an object, got ${describe(v)}`);
          const obj = v as Record<string, unknown>;
          for (const field of fields) {
            const at = p ? `${p}.${field.name}` : field.name;
            const value = obj[field.name];
            if (value !== undefined) field.check(value, at, out);
            else if (!field.optional) out.push(`${at}: missing`);
          }
          if (index) for (const key of Object.keys(obj)) if (!known.has(key)) index(obj[key], p ? `${p}.${key}` : key, out);
        };
      }
    }
  };

  const root = forModel(model.name);
  return (record) => {
    const problems: string[] = [];
    root(record, '', problems);
    return problems;
  };
}

function primitive(name: string): Check {
  switch (name) {
    case 'any':
      return () => undefined;
    case 'null':
      return (v, p, out) => void (v !== null && out.push(`${where(p)}: expected null, got ${describe(v)}`));
    case 'undefined':
      return (v, p, out) => void (v !== undefined && out.push(`${where(p)}: expected undefined, got ${describe(v)}`));
    case 'object':
      return (v, p, out) => void ((typeof v !== 'object' || v === null || Array.isArray(v)) && out.push(`${where(p)}: expected an object, got ${describe(v)}`));
    case 'Date':
      return (v, p, out) => {
        if (!(typeof v === 'string' && !Number.isNaN(Date.parse(v))) && !(v instanceof Date)) out.push(`${where(p)}: expected a date, got ${describe(v)}`);
      };
    default:
      return (v, p, out) => void (typeof v !== name && out.push(`${where(p)}: expected ${name}, got ${describe(v)}`));
  }
}

/** Where a problem is; the root of a value that is not a record (an action's `string` output) has no path. */
const where = (p: string) => p || 'value';

function describe(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'an array';
  if (typeof v === 'string') return v.length > 40 ? 'a string' : JSON.stringify(v);
  return typeof v;
}

export type WriteKind = 'save' | 'update' | 'delete';

const MB = 1024 * 1024;

/**
 * Bounds on the records sync scripts send the host, measured as the length of their JSON (what the
 * sandbox already produces to send them).
 */
export interface RecordLimits {
  /** Largest single batchSave/batchUpdate/batchDelete call; a larger one fails the run with `batch_too_large`. */
  maxBatchBytes: number;
  /** Records of every run of the process held in the host at once (received, not yet written); a call past it waits. */
  inFlightBytes: number;
}

export const DEFAULT_RECORD_LIMITS: Readonly<RecordLimits> = Object.freeze({ maxBatchBytes: 50 * MB, inFlightBytes: 256 * MB });

/** Buffered records written once they reach this many bytes of JSON, whatever their count. */
const MAX_FLUSH_BYTES = 8 * MB;

/**
 * Room for records in the host, shared by every run of the process: a record call takes room for
 * its JSON before it leaves the sandbox and gives it back once its records are written, so N runs
 * at once cannot multiply memory. Requests are served in order; one larger than the whole budget
 * is served alone. While a request waits, every holder is asked to write what it buffers.
 */
export class RecordBudget {
  private used = 0;
  private readonly waiting: Array<{ bytes: number; grant(): void; signal?: AbortSignal }> = [];
  private readonly holders = new Set<() => void>();

  constructor(readonly capacity: number) {}

  /** Bytes taken and not given back. */
  get inUse(): number {
    return this.used;
  }

  /** Resolves once `bytes` are taken; rejects, having taken nothing, if `signal` aborts first. */
  take(bytes: number, signal?: AbortSignal): Promise<void> {
    if (signal?.aborted) return Promise.reject(new ScriptRunError('script_error', 'The execution has ended'));
    if (this.takeNow(bytes)) return Promise.resolve();
    return new Promise<void>((resolve, reject) => {
      const waiter = { bytes, signal, grant: resolve };
      this.waiting.push(waiter);
      signal?.addEventListener('abort', () => {
        const at = this.waiting.indexOf(waiter);
        if (at < 0) return;
        this.waiting.splice(at, 1);
        reject(new ScriptRunError('script_error', 'The execution has ended'));
        this.serve();
      });
      for (const flush of this.holders) flush();
    });
  }

  /** Takes `bytes` if they fit now and nobody waits before; false (nothing taken) otherwise. */
  takeNow(bytes: number): boolean {
    if (this.waiting.length > 0 || !this.fits(bytes)) return false;
    this.used += bytes;
    return true;
  }

  give(bytes: number): void {
    this.used = Math.max(0, this.used - bytes);
    this.serve();
  }

  /** `flush` is called whenever a request has to wait: the holder then writes what it buffers. */
  hold(flush: () => void): () => void {
    this.holders.add(flush);
    return () => void this.holders.delete(flush);
  }

  private fits(bytes: number): boolean {
    return this.used === 0 || this.used + bytes <= this.capacity;
  }

  private serve(): void {
    while (this.waiting.length > 0 && this.fits(this.waiting[0]!.bytes)) {
      const next = this.waiting.shift()!;
      this.used += next.bytes;
      next.grant();
    }
  }
}

let processLimits: Readonly<RecordLimits> = DEFAULT_RECORD_LIMITS;
let processBudget = new RecordBudget(DEFAULT_RECORD_LIMITS.inFlightBytes);

/** Sets the process's record limits (the server does, from its settings); executions started later use them. */
export function configureRecordLimits(limits: RecordLimits): void {
  processLimits = Object.freeze({ ...limits });
  processBudget = new RecordBudget(limits.inFlightBytes);
}

/** The limits and the budget executions use unless they bring their own. */
export function processRecordMemory(): RecordMemory {
  return { limits: processLimits, budget: processBudget };
}

export interface RecordMemory {
  limits: Readonly<RecordLimits>;
  budget: RecordBudget;
}

interface Pending {
  kind: WriteKind;
  model: string;
  records: unknown[];
}

/**
 * Buffers a sync's writes and sends them to the store in set-based batches, in the order the
 * script made them. A batch is written once it holds `flushSize` records or 8 MB of JSON. While
 * one batch is written the script keeps producing: at most one more full batch waits behind it
 * before `write` makes the script wait. A failed write is reported by the next call and by
 * `finish`, and no later batch is written.
 *
 * Memory: each call's records take room in the process's RecordBudget (`reserve`, before they
 * cross from the sandbox) until they are written; a run holds at most about two batches' worth.
 */
export class RecordWriter {
  private pending: Pending[] = [];
  private size = 0;
  private pendingBytes = 0;
  /** Bytes taken from the budget and not given back: reserved, buffered or being written. */
  private held = 0;
  private closed = false;
  /** Reservations are served one at a time, in the order of the calls. */
  private reservations: Promise<void> = Promise.resolve();
  /** Reservations asked for and not yet served. */
  private reserving = 0;
  private readonly release: () => void;
  /** Batches taken and not yet written, oldest first; each waits for the one before. */
  private writes: Array<Promise<void>> = [];
  private failure: unknown;
  readonly counts: Record<string, RecordCounts> = {};

  private connectionPk: Promise<number> | undefined;

  /** `connection` gives the connection's internal id, asked for once, at the first write. */
  constructor(
    private readonly sink: RecordSink,
    private readonly connection: () => Promise<number>,
    private readonly flushSize = 1000,
    private readonly memory: RecordMemory = processRecordMemory(),
  ) {
    this.release = memory.budget.hold(() => this.startWrite());
  }

  /**
   * Room for a call of `bytes` of records, before it leaves the sandbox. A call larger than the
   * batch limit is refused (`batch_too_large`); otherwise this waits for this run's own writes
   * while it holds two batches' worth, then for the process's budget.
   */
  reserve(bytes: number, signal?: AbortSignal): Promise<void> {
    const { maxBatchBytes } = this.memory.limits;
    const tooLarge = this.tooLarge(bytes);
    if (tooLarge) return Promise.reject(tooLarge);
    this.reserving++;
    const turn = this.reservations
      .then(async () => {
        if (this.held + bytes > 2 * maxBatchBytes) await this.flush().catch(() => undefined);
        await this.memory.budget.take(bytes, signal);
        if (this.closed) this.memory.budget.give(bytes);
        else this.held += bytes;
      })
      .finally(() => this.reserving--);
    this.reservations = turn.catch(() => undefined);
    return turn;
  }

  /**
   * `reserve`, when the room can be had at once (no reservation of this run waiting, this run under
   * two batches' worth, the budget free): true once taken, false (nothing taken) otherwise.
   */
  reserveNow(bytes: number): boolean {
    const tooLarge = this.tooLarge(bytes);
    if (tooLarge) throw tooLarge;
    if (this.closed) return true;
    if (this.reserving > 0 || this.held + bytes > 2 * this.memory.limits.maxBatchBytes || !this.memory.budget.takeNow(bytes)) return false;
    this.held += bytes;
    return true;
  }

  private tooLarge(bytes: number): ScriptRunError | undefined {
    const { maxBatchBytes } = this.memory.limits;
    if (bytes <= maxBatchBytes) return undefined;
    return new ScriptRunError(
      'batch_too_large',
      `A batch of ${bytes} bytes of JSON is larger than the ${maxBatchBytes} bytes one batchSave, batchUpdate or batchDelete call may carry (SYNCLINE_MAX_BATCH_MB): save fewer or smaller records per call`,
    );
  }

  /** Buffers records (`bytes`: the JSON length their call reserved) and writes a full batch. */
  async write(kind: WriteKind, model: string, records: unknown[], bytes = 0): Promise<void> {
    this.pendingBytes += bytes;
    this.throwIfFailed();
    const last = this.pending[this.pending.length - 1];
    if (last && last.kind === kind && last.model === model) for (const r of records) last.records.push(r);
    else this.pending.push({ kind, model, records: records.slice() });
    this.size += records.length;
    if (this.size < this.flushSize && this.pendingBytes < Math.min(MAX_FLUSH_BYTES, this.memory.limits.maxBatchBytes)) return;
    this.startWrite();
    if (this.writes.length > 1) await this.writes[0];
    this.throwIfFailed();
  }

  /** Writes everything still buffered and waits for it; throws the first write failure. */
  async flush(): Promise<void> {
    this.startWrite();
    await this.writes[this.writes.length - 1];
    this.throwIfFailed();
  }

  /** `flush`, then the counts per model. */
  async finish(): Promise<Record<string, RecordCounts>> {
    await this.flush();
    return this.counts;
  }

  /** Gives back every byte still held (records never written, room never used); later writes give nothing back. */
  dispose(): void {
    if (this.closed) return;
    this.closed = true;
    this.release();
    this.memory.budget.give(this.held);
    this.held = 0;
  }

  /** Takes the buffered batch and queues its write behind the previous ones; its room is given back once written. */
  private startWrite(): void {
    const bytes = this.pendingBytes;
    const batch = this.take();
    if (batch.length === 0 && bytes === 0) return;
    const previous = this.writes[this.writes.length - 1] ?? Promise.resolve();
    const written = previous
      .then(() => (this.failure === undefined ? this.send(batch) : undefined))
      .catch((err: unknown) => {
        this.failure ??= err;
      })
      .finally(() => {
        void this.writes.shift();
        this.giveBack(bytes);
      });
    this.writes.push(written);
  }

  private giveBack(bytes: number): void {
    if (this.closed || bytes === 0) return;
    this.held -= bytes;
    this.memory.budget.give(bytes);
  }

  private take(): Pending[] {
    const batch = this.pending;
    this.pending = [];
    this.size = 0;
    this.pendingBytes = 0;
    return batch;
  }

  private async send(batch: Pending[]): Promise<void> {
    if (batch.length === 0) return;
    const connection = await (this.connectionPk ??= this.connection());
    for (const { kind, model, records } of batch) {
      const counts =
        kind === 'save'
          ? await this.sink.upsert(connection, model, records)
          : kind === 'update'
            ? await this.sink.update(connection, model, records)
            : await this.sink.delete(connection, model, records);
      const total = (this.counts[model] ??= { added: 0, updated: 0, deleted: 0 });
      total.added += counts.added;
      total.updated += counts.updated;
      total.deleted += counts.deleted;
    }
  }

  private throwIfFailed(): void {
    if (this.failure !== undefined) throw this.failure;
  }
}
