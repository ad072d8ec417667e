import fs from 'node:fs';
import ms from 'ms';
import { isMap, isScalar, isSeq, LineCounter, parseDocument, type Document } from 'yaml';
import { parseFieldType, TypeSyntaxError, type Field, type FieldType } from './model-types';

/** One problem in a nango.yaml, located precisely. */
export interface ConfigIssue {
  file: string;
  /** Dotted YAML path, e.g. `integrations.github.syncs.issues.runs`. */
  path: string;
  line: number;
  message: string;
}

/** A nango.yaml that cannot be used; nothing of it may be deployed. `message` lists every issue. */
export class NangoYamlError extends Error {
  override name = 'NangoYamlError';
  constructor(readonly issues: ConfigIssue[]) {
    super(issues.map((i) => `${i.file}:${i.line} ${i.path ? `${i.path}: ` : ''}${i.message}`).join('\n'));
  }
}

export type HttpMethod = 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';

export interface Endpoint {
  method: HttpMethod;
  path: string;
  group?: string;
}

export interface SyncDefinition {
  type: 'sync';
  integration: string;
  name: string;
  description?: string;
  /** As written, e.g. `every 30min`. */
  runs: string;
  intervalMs: number;
  output: string[];
  endpoints: Endpoint[];
  syncType: 'incremental' | 'full';
  trackDeletes: boolean;
  autoStart: boolean;
  scopes: string[];
  /** Model of the connection metadata the sync expects. */
  input?: string;
  version?: string;
  webhookSubscriptions: string[];
}

export interface ActionDefinition {
  type: 'action';
  integration: string;
  name: string;
  description?: string;
  endpoint?: Endpoint;
  input?: string;
  output?: string[];
  scopes: string[];
  version?: string;
}

export interface ModelDefinition {
  name: string;
  fields: Field[];
  /** Type of the dynamic keys declared with `__string`. */
  index?: FieldType;
  /**
   * Set on the anonymous model made for an input or output written as a type expression
   * (`output: string`, `input: Contact[]`): the model is this type, and `fields` is empty.
   */
  type?: FieldType;
}

export const ON_EVENTS = ['post-connection-creation', 'pre-connection-deletion', 'validate-connection'] as const;
export type OnEvent = (typeof ON_EVENTS)[number];

export interface IntegrationDefinition {
  key: string;
  syncs: SyncDefinition[];
  actions: ActionDefinition[];
  onEvents: Partial<Record<OnEvent, string[]>>;
}

export interface NangoConfig {
  integrations: IntegrationDefinition[];
  /** Declared models, then the anonymous ones of inputs and outputs written as type expressions. */
  models: Map<string, ModelDefinition>;
  /** Accepted but probably unintended, e.g. an output that is a string literal. */
  warnings: ConfigIssue[];
}

/** Minimum sync interval. */
export const MIN_INTERVAL_MS = 30_000;

const NAMED_INTERVALS: Record<string, number> = {
  'half hour': ms('30m'),
  'quarter hour': ms('15m'),
  hour: ms('1h'),
  'half day': ms('12h'),
  day: ms('1d'),
  week: ms('7d'),
  month: ms('30d'),
};

/** `every hour`, `every half day`, `every 30min`, `every 2 days` → milliseconds, or undefined. */
export function parseRuns(runs: string): number | undefined {
  const match = /^every\s+(.+)$/i.exec(runs.trim());
  if (!match) return undefined;
  const rest = match[1]!.trim().toLowerCase();
  const named = NAMED_INTERVALS[rest];
  if (named) return named;
  const value = ms(rest.replace(/\s+/g, '') as ms.StringValue) ?? ms(rest as ms.StringValue);
  return typeof value === 'number' && Number.isFinite(value) && value > 0 ? value : undefined;
}

const NAME = /^[a-zA-Z0-9_-]+$/;
/** Integration unique keys: anything printable that is safe as one URL path segment. */
export const INTEGRATION_KEY = /^[^/?#%\\\u0000-\u001f\u007f]+$/;
const MODEL_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;
const SYNC_KEYS = ['description', 'runs', 'output', 'endpoint', 'endpoints', 'sync_type', 'track_deletes', 'auto_start', 'scopes', 'input', 'version', 'webhook-subscriptions'];
const ACTION_KEYS = ['description', 'endpoint', 'input', 'output', 'scopes', 'version'];
const INTEGRATION_KEYS = ['syncs', 'actions', 'on-events', 'post-connection-scripts'];
const METHODS: HttpMethod[] = ['GET', 'POST', 'PUT', 'PATCH', 'DELETE'];

type Path = Array<string | number>;

/**
 * Parses and validates a nango.yaml (v2 shape). Collects every issue before throwing, so one run
 * shows them all; returns a config only when the whole file is valid.
 *
 * @example
 * const config = parseNangoYaml(fs.readFileSync('nango.yaml', 'utf8'), 'nango.yaml');
 * config.integrations[0].syncs[0].intervalMs;
 */
export function parseNangoYaml(text: string, file = 'nango.yaml'): NangoConfig {
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, uniqueKeys: true });
  const issues: ConfigIssue[] = [];
  for (const err of doc.errors) {
    issues.push({ file, path: '', line: err.linePos?.[0].line ?? 1, message: err.message.split('\n')[0]! });
  }
  if (issues.length) throw new NangoYamlError(issues);

  const warnings: ConfigIssue[] = [];
  const checker = new Checker(doc, lineCounter, file, issues, warnings);
  const root = doc.toJS() as unknown;
  const config = checker.config(root);
  if (issues.length) throw new NangoYamlError(issues.sort((a, b) => a.line - b.line));
  return { ...config, warnings: warnings.sort((a, b) => a.line - b.line) };
}

/** Reads and parses `<dir>/nango.yaml`. */
export function loadNangoYaml(file: string): NangoConfig {
  return parseNangoYaml(fs.readFileSync(file, 'utf8'), file);
}

/** Nango's name for the model of an input or output written as a type expression. */
export function anonymousName(integration: string, type: 'sync' | 'action', script: string, slot: 'input' | 'output'): string {
  const clean = (s: string) => s.replace(/[^A-Za-z0-9_]/g, '');
  return `Anonymous_${clean(integration)}_${type}_${clean(script)}_${slot}`;
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

class Checker {
  private modelNames = new Set<string>();
  /** Models made for inputs and outputs written as type expressions. */
  private anonymous = new Map<string, ModelDefinition>();

  constructor(
    private readonly doc: Document,
    private readonly lines: LineCounter,
    private readonly file: string,
    private readonly issues: ConfigIssue[],
    private readonly warnings: ConfigIssue[],
  ) {}

  config(root: unknown): NangoConfig {
    const empty: NangoConfig = { integrations: [], models: new Map(), warnings: [] };
    if (!isObject(root)) return this.issue([], 'expected a mapping with "integrations" and "models"'), empty;
    this.unknownKeys(root, [], ['integrations', 'models']);
    const modelsRaw = root.models ?? {};
    if (!isObject(modelsRaw)) this.issue(['models'], 'expected a mapping of model names to fields');
    const rawModels = isObject(modelsRaw) ? modelsRaw : {};
    for (const name of Object.keys(rawModels)) {
      if (MODEL_NAME.test(name)) this.modelNames.add(name);
      else this.issue(['models', name], `model name "${name}" must start with a letter or "_" and contain only letters, digits and "_"`, true);
    }
    const models = this.models(rawModels);
    const integrations: IntegrationDefinition[] = [];
    if (!isObject(root.integrations)) this.issue(['integrations'], 'expected a mapping of integration keys (provider config keys) to their syncs and actions');
    else for (const [key, value] of Object.entries(root.integrations)) integrations.push(this.integration(key, value));
    for (const [name, model] of this.anonymous) models.set(name, model);
    return { integrations, models, warnings: [] };
  }

  private models(raw: Record<string, unknown>): Map<string, ModelDefinition> {
    const models = new Map<string, ModelDefinition>();
    const resolving = new Set<string>();
    const resolve = (name: string): ModelDefinition | undefined => {
      if (models.has(name)) return models.get(name);
      const path = ['models', name];
      const body = raw[name];
      if (!isObject(body)) return this.issue(path, 'expected a mapping of field names to types'), undefined;
      if (resolving.has(name)) return this.issue(path, `"${name}" extends itself through __extends`), undefined;
      resolving.add(name);
      const fields = new Map<string, Field>();
      let index: FieldType | undefined;
      if (body.__extends !== undefined) {
        const parents = typeof body.__extends === 'string' ? body.__extends.split(',').map((s) => s.trim()) : [];
        if (!parents.length) this.issue([...path, '__extends'], 'expected a model name or a comma-separated list of model names');
        for (const parent of parents) {
          if (!this.modelNames.has(parent)) {
            this.issue([...path, '__extends'], `unknown model "${parent}"`);
            continue;
          }
          const def = resolve(parent);
          for (const field of def?.fields ?? []) fields.set(field.name, field);
          index ??= def?.index;
        }
      }
      for (const [key, value] of Object.entries(body)) {
        if (key === '__extends') continue;
        const type = this.fieldType(value, [...path, key]);
        if (!type) continue;
        if (key === '__string') index = type;
        else {
          const optional = key.endsWith('?');
          const fieldName = optional ? key.slice(0, -1) : key;
          fields.set(fieldName, { name: fieldName, type, optional });
        }
      }
      resolving.delete(name);
      const model: ModelDefinition = { name, fields: [...fields.values()], ...(index ? { index } : {}) };
      models.set(name, model);
      return model;
    };
    for (const name of this.modelNames) resolve(name);
    return models;
  }

  private fieldType(value: unknown, path: Path): FieldType | undefined {
    if (typeof value === 'string') {
      try {
        return parseFieldType(value, this.modelNames);
      } catch (err) {
        if (err instanceof TypeSyntaxError) return this.issue(path, err.message), undefined;
        throw err;
      }
    }
    if (typeof value === 'number' || typeof value === 'boolean') return { kind: 'literal', value };
    if (value === null) return this.issue(path, 'expected a type (e.g. string, number, boolean, Date, a model name) or nested fields'), undefined;
    if (Array.isArray(value)) {
      // A list is an array whose items are typed like fields: one item gives `Item[]`, several `(A | B)[]`.
      if (!value.length) return this.issue(path, 'an empty list gives the array no item type; list the item type(s), e.g. "- string"'), undefined;
      const items = value.map((item, i) => this.fieldType(item, [...path, i]));
      if (items.some((t) => t === undefined)) return undefined;
      const members = (items as FieldType[]).flatMap((t) => (t.kind === 'union' ? t.of : [t]));
      return { kind: 'array', of: members.length === 1 ? members[0]! : { kind: 'union', of: members } };
    }
    if (isObject(value)) {
      const fields: Field[] = [];
      let index: FieldType | undefined;
      for (const [key, inner] of Object.entries(value)) {
        const type = this.fieldType(inner, [...path, key]);
        if (!type) continue;
        if (key === '__string') index = type;
        else fields.push({ name: key.replace(/\?$/, ''), type, optional: key.endsWith('?') });
      }
      return { kind: 'object', fields, ...(index ? { index } : {}) };
    }
    return this.issue(path, 'expected a type string or nested fields'), undefined;
  }

  private integration(key: string, raw: unknown): IntegrationDefinition {
    const path = ['integrations', key];
    const def: IntegrationDefinition = { key, syncs: [], actions: [], onEvents: {} };
    if (!INTEGRATION_KEY.test(key)) this.issue(path, `integration key "${key}" must not contain "/", "?", "#", "%", "\\" or control characters`, true);
    if (raw === null) return def;
    if (!isObject(raw)) return this.issue(path, 'expected a mapping with "syncs" and/or "actions"'), def;
    this.unknownKeys(raw, path, INTEGRATION_KEYS);
    const names = new Set<string>();
    const named = (kind: 'syncs' | 'actions', name: string) => {
      if (!NAME.test(name)) this.issue([...path, kind, name], `name "${name}" may only contain letters, digits, "_" and "-"`, true);
      if (names.has(name)) this.issue([...path, kind, name], `"${name}" is already the name of a sync or action of this integration`, true);
      names.add(name);
    };
    for (const [name, body] of Object.entries(this.mapping(raw.syncs, [...path, 'syncs']))) {
      named('syncs', name);
      const sync = this.sync(key, name, body);
      if (sync) def.syncs.push(sync);
    }
    for (const [name, body] of Object.entries(this.mapping(raw.actions, [...path, 'actions']))) {
      named('actions', name);
      const action = this.action(key, name, body);
      if (action) def.actions.push(action);
    }
    const events = this.mapping(raw['on-events'], [...path, 'on-events']);
    for (const [event, scripts] of Object.entries(events)) {
      if (!(ON_EVENTS as readonly string[]).includes(event)) {
        this.issue([...path, 'on-events', event], `unknown event "${event}"; expected one of ${ON_EVENTS.join(', ')}`, true);
        continue;
      }
      def.onEvents[event as OnEvent] = this.stringList(scripts, [...path, 'on-events', event]) ?? [];
    }
    return def;
  }

  private sync(integration: string, name: string, raw: unknown): SyncDefinition | undefined {
    const path = ['integrations', integration, 'syncs', name];
    if (!isObject(raw)) return this.issue(path, 'expected a mapping with at least runs, output and endpoint'), undefined;
    this.unknownKeys(raw, path, SYNC_KEYS);
    let intervalMs = 0;
    if (typeof raw.runs !== 'string') this.issue([...path, 'runs'], 'is required: a schedule such as "every hour" or "every 30min"', raw.runs === undefined);
    else {
      intervalMs = parseRuns(raw.runs) ?? 0;
      if (!intervalMs) this.issue([...path, 'runs'], `"${raw.runs}" is not a schedule; expected "every <duration>" such as "every hour", "every half day", "every 30min"`);
      else if (intervalMs < MIN_INTERVAL_MS) this.issue([...path, 'runs'], `"${raw.runs}" is too frequent; the minimum is every 30 seconds`);
    }
    const output = this.models_([...path, 'output'], raw.output, true);
    const endpointsRaw = raw.endpoint ?? raw.endpoints;
    const endpointKey = raw.endpoint !== undefined ? 'endpoint' : 'endpoints';
    if (endpointsRaw === undefined) this.issue([...path, 'endpoint'], 'is required: e.g. "GET /issues"', true);
    const endpoints = endpointsRaw === undefined ? [] : (Array.isArray(endpointsRaw) ? endpointsRaw : [endpointsRaw]).map((e, i) =>
      this.endpoint(e, Array.isArray(endpointsRaw) ? [...path, endpointKey, i] : [...path, endpointKey]),
    );
    const syncType = raw.sync_type ?? 'full';
    if (syncType !== 'incremental' && syncType !== 'full') this.issue([...path, 'sync_type'], 'expected "incremental" or "full"');
    const input = this.typeOrModel([...path, 'input'], raw.input, anonymousName(integration, 'sync', name, 'input'));
    if (input && input.length > 1) this.issue([...path, 'input'], 'expected one model name or type');
    return {
      type: 'sync',
      integration,
      name,
      description: this.optionalString(raw.description, [...path, 'description']),
      runs: typeof raw.runs === 'string' ? raw.runs : '',
      intervalMs,
      output: output ?? [],
      endpoints: endpoints.filter((e): e is Endpoint => e !== undefined),
      syncType: syncType === 'incremental' ? 'incremental' : 'full',
      trackDeletes: this.boolean(raw.track_deletes, [...path, 'track_deletes'], false),
      autoStart: this.boolean(raw.auto_start, [...path, 'auto_start'], true),
      scopes: this.stringList(raw.scopes, [...path, 'scopes']) ?? [],
      input: input?.[0],
      version: this.version(raw.version, [...path, 'version']),
      webhookSubscriptions: this.stringList(raw['webhook-subscriptions'], [...path, 'webhook-subscriptions']) ?? [],
    };
  }

  private action(integration: string, name: string, raw: unknown): ActionDefinition | undefined {
    const path = ['integrations', integration, 'actions', name];
    if (raw === null) raw = {};
    if (!isObject(raw)) return this.issue(path, 'expected a mapping (endpoint, input, output, ...)'), undefined;
    this.unknownKeys(raw, path, ACTION_KEYS);
    const input = this.typeOrModel([...path, 'input'], raw.input, anonymousName(integration, 'action', name, 'input'));
    if (input && input.length > 1) this.issue([...path, 'input'], 'expected one model name or type');
    return {
      type: 'action',
      integration,
      name,
      description: this.optionalString(raw.description, [...path, 'description']),
      endpoint: raw.endpoint === undefined ? undefined : this.endpoint(raw.endpoint, [...path, 'endpoint']),
      input: input?.[0],
      output: this.typeOrModel([...path, 'output'], raw.output, anonymousName(integration, 'action', name, 'output')),
      scopes: this.stringList(raw.scopes, [...path, 'scopes']) ?? [],
      version: this.version(raw.version, [...path, 'version']),
    };
  }

  private endpoint(raw: unknown, path: Path): Endpoint | undefined {
    let method: unknown;
    let route: unknown;
    let group: unknown;
    if (typeof raw === 'string') [method, route] = raw.trim().split(/\s+/);
    else if (isObject(raw)) ({ method, path: route, group } = raw);
    if (typeof method !== 'string' || !METHODS.includes(method.toUpperCase() as HttpMethod) || typeof route !== 'string' || !route.startsWith('/')) {
      return this.issue(path, 'expected "<METHOD> /path" (GET, POST, PUT, PATCH or DELETE) or {method, path, group}'), undefined;
    }
    if (group !== undefined && typeof group !== 'string') this.issue(path, 'group must be a string');
    return { method: method.toUpperCase() as HttpMethod, path: route, ...(typeof group === 'string' ? { group } : {}) };
  }

  /** Model names (one or a list) that must be declared under `models`. */
  private models_(path: Path, raw: unknown, required: boolean): string[] | undefined {
    if (raw === undefined || raw === null) {
      if (required) this.issue(path, 'is required: the model(s) this sync saves', true);
      return undefined;
    }
    const names = this.stringList(raw, path);
    for (const [i, name] of (names ?? []).entries()) {
      if (this.modelNames.has(name)) continue;
      const at = Array.isArray(raw) ? [...path, i] : path;
      if (MODEL_NAME.test(name)) this.issue(at, `unknown model "${name}"; declare it under "models"`);
      else this.issue(at, `"${name}" is not a model name: a sync saves records of models declared under "models" (each with an id), so its output cannot be a type expression`);
    }
    return names;
  }

  /**
   * Model names, where a name that is not a declared model is a type expression (`string`,
   * `Contact[]`, `A | B`) and becomes the anonymous model `anonymous`, as in Nango.
   */
  private typeOrModel(path: Path, raw: unknown, anonymous: string): string[] | undefined {
    const names = raw === undefined || raw === null ? undefined : this.stringList(raw, path);
    let made = false;
    return names?.map((source, i) => {
      if (this.modelNames.has(source)) return source;
      const at = Array.isArray(raw) ? [...path, i] : path;
      if (made) return this.issue(at, 'only one entry may be a type expression; declare the others as models'), source;
      made = true;
      if (this.modelNames.has(anonymous) || this.anonymous.has(anonymous)) {
        return this.issue(at, `"${source}" needs the model name "${anonymous}", which another model already has; declare the type as a model`), source;
      }
      let type: FieldType;
      try {
        type = parseFieldType(source, this.modelNames);
      } catch (err) {
        if (err instanceof TypeSyntaxError) return this.issue(at, `"${source}" is neither a declared model nor a type: ${err.message}`), source;
        throw err;
      }
      const base = type.kind === 'array' ? type.of : type;
      if (base.kind === 'literal' && typeof base.value === 'string') {
        this.warn(at, `"${base.value}" is not a declared model, so it is the string literal '${base.value}'`);
      }
      this.anonymous.set(anonymous, { name: anonymous, fields: [], type });
      return anonymous;
    });
  }

  private stringList(raw: unknown, path: Path): string[] | undefined {
    if (raw === undefined || raw === null) return undefined;
    if (typeof raw === 'string') return raw.split(',').map((s) => s.trim()).filter(Boolean);
    if (Array.isArray(raw) && raw.every((s) => typeof s === 'string')) return raw;
    return this.issue(path, 'expected a string or a list of strings'), undefined;
  }

  private boolean(raw: unknown, path: Path, fallback: boolean): boolean {
    if (raw === undefined || raw === null) return fallback;
    if (typeof raw === 'boolean') return raw;
    return this.issue(path, 'expected true or false'), fallback;
  }

  private optionalString(raw: unknown, path: Path): string | undefined {
    if (raw === undefined || raw === null || typeof raw === 'string') return raw ?? undefined;
    return this.issue(path, 'expected a string'), undefined;
  }

  private version(raw: unknown, path: Path): string | undefined {
    if (raw === undefined || raw === null) return undefined;
    if (typeof raw === 'number' && Number.isInteger(raw)) return String(raw);
    if (typeof raw === 'string' && /^\d+(\.\d+){0,2}$/.test(raw)) return raw;
    return this.issue(path, 'expected an integer or a version such as "1.0.0"'), undefined;
  }

  private mapping(raw: unknown, path: Path): Record<string, unknown> {
    if (raw === undefined || raw === null) return {};
    if (isObject(raw)) return raw;
    return this.issue(path, 'expected a mapping'), {};
  }

  private unknownKeys(raw: Record<string, unknown>, path: Path, allowed: string[]): void {
    for (const key of Object.keys(raw)) {
      if (allowed.includes(key)) continue;
      const near = allowed.find((a) => a.startsWith(key.slice(0, 3)) || key.startsWith(a.slice(0, 3)));
      this.issue([...path, key], `unknown key "${key}"${near ? ` (did you mean "${near}"?)` : ''}; expected one of ${allowed.join(', ')}`, true);
    }
  }

  private warn(path: Path, message: string): void {
    this.warnings.push({ file: this.file, path: path.join('.'), line: this.line(path, false), message });
  }

  /** Records an issue at `path`; `atKey` points at the key rather than its value (or the parent when absent). */
  private issue(path: Path, message: string, atKey = false): void {
    this.issues.push({ file: this.file, path: path.join('.'), line: this.line(path, atKey), message });
  }

  /** Line of the deepest part of `path` present in the file (the key when `atKey` or when the rest is missing). */
  private line(path: Path, atKey: boolean): number {
    for (let depth = path.length; depth > 0; depth--) {
      const parentPath = path.slice(0, depth - 1);
      const parent = parentPath.length ? this.doc.getIn(parentPath, true) : this.doc.contents;
      const key = path[depth - 1];
      let node: unknown;
      if (isMap(parent)) {
        const pair = parent.items.find((p) => isScalar(p.key) && String(p.key.value) === String(key));
        node = pair && (atKey || depth < path.length || pair.value == null ? pair.key : pair.value);
      } else if (isSeq(parent) && typeof key === 'number') {
        node = parent.items[key];
      }
      const range = (node as { range?: number[] } | undefined)?.range;
      if (range) return this.lines.linePos(range[0]!).line;
    }
    return 1;
  }
}

/**
 * The models a sync or action touches (outputs and input) with every model they reference, in
 * first-use order: what its records, input and output are checked against.
 *
 * @example
 * usedModels(config.integrations[0].syncs[0], config.models).map((m) => m.name) // ['Issue', 'User']
 */
export function usedModels(definition: SyncDefinition | ActionDefinition, models: ReadonlyMap<string, ModelDefinition>): ModelDefinition[] {
  const seen = new Map<string, ModelDefinition>();
  const visit = (name: string) => {
    const model = models.get(name);
    if (!model || seen.has(name)) return;
    seen.set(name, model);
    // Walk the field-type tree: every `{kind: 'ref', model}` names another model to include.
    JSON.stringify(model, (key, value: unknown) => {
      if (key === 'model' && typeof value === 'string') visit(value);
      return value;
    });
  };
  [...(definition.output ?? []), ...(definition.input ? [definition.input] : [])].forEach(visit);
  return [...seen.values()];
}
