import type { FieldType } from '../config/model-types';
import type { ModelDefinition } from '../config/nango-yaml';
import type { RecordCounts } from '../types';
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

interface Pending {
  kind: WriteKind;
  model: string;
  records: unknown[];
}

/**
 * Buffers a sync's writes and sends them to the store in set-based batches, in the order the
 * script made them. While one batch is written the script keeps producing: at most one more full
 * batch waits behind it before `write` makes the script wait. A failed write is reported by the
 * next call and by `finish`, and no later batch is written.
 */
export class RecordWriter {
  private pending: Pending[] = [];
  private size = 0;
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
  ) {}

  async write(kind: WriteKind, model: string, records: unknown[]): Promise<void> {
    this.throwIfFailed();
    const last = this.pending[this.pending.length - 1];
    if (last && last.kind === kind && last.model === model) for (const r of records) last.records.push(r);
    else this.pending.push({ kind, model, records: records.slice() });
    this.size += records.length;
    if (this.size < this.flushSize) return;
    const batch = this.take();
    const previous = this.writes[this.writes.length - 1] ?? Promise.resolve();
    const written = previous
      .then(() => (this.failure === undefined ? this.send(batch) : undefined))
      .catch((err: unknown) => {
        this.failure ??= err;
      })
      .finally(() => void this.writes.shift());
    this.writes.push(written);
    if (this.writes.length > 1) await this.writes[0];
    this.throwIfFailed();
  }

  /** Writes everything still buffered and waits for it; throws the first write failure. */
  async flush(): Promise<void> {
    await this.writes[this.writes.length - 1];
    this.throwIfFailed();
    await this.send(this.take());
  }

  /** `flush`, then the counts per model. */
  async finish(): Promise<Record<string, RecordCounts>> {
    await this.flush();
    return this.counts;
  }

  private take(): Pending[] {
    const batch = this.pending;
    this.pending = [];
    this.size = 0;
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
