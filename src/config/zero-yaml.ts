/**
 * Nango's current project format, where each script declares itself (`export default
 * createSync({...})`, `createAction`, `createOnEvent` from 'nango') and `index.ts` imports every
 * script: the same `NangoConfig` a nango.yaml gives, built from the declarations, so deploy,
 * validation and the server have one path. A field Nango does not know is ignored with a warning,
 * as Nango's CLI ignores it. Names follow Nango's CLI (`zeroYaml/definitions.ts`):
 * a script is named after its file and belongs to the integration of its top folder; a sync's
 * metadata is the model `SyncMetadata_<integration>_<script>`, an action's input and output
 * `ActionInput_...` and `ActionOutput_...`.
 */
import { modelFromJsonSchema } from './zod-models';
import {
  MIN_INTERVAL_MS,
  ON_EVENTS,
  parseRuns,
  type ActionDefinition,
  type ConfigIssue,
  type Endpoint,
  type IntegrationDefinition,
  type ModelDefinition,
  type NangoConfig,
  type OnEvent,
  type SyncDefinition,
} from './nango-yaml';

/** What one script declares, read from its compiled module (the runtime's `ScriptDescription`). */
export interface DeclaredScript {
  /** The script's source, relative to the project: `github/syncs/issues.ts`. */
  file: string;
  type: string;
  /** Options that are neither schemas nor functions, as written. */
  options: Record<string, unknown>;
  /** A sync's models, as JSON Schema. */
  models?: Record<string, unknown>;
  schemas: Partial<Record<'input' | 'output' | 'metadata' | 'checkpoint', unknown>>;
  functions: string[];
}

/** Declarations that cannot be used; `message` lists each as `<file> <createX>.<field>: <what>`. */
export class ScriptDefinitionError extends Error {
  override name = 'ScriptDefinitionError';
  constructor(readonly issues: ConfigIssue[]) {
    super(issues.map((i) => `${i.file} ${i.path}: ${i.message}`).join('\n'));
  }
}

const MAX_INTERVAL_MS = 31 * 24 * 3600_000;
const MODEL_NAME = /^[A-Z][a-zA-Z0-9_]+$/;
const METHODS = ['GET', 'POST', 'PUT', 'PATCH', 'DELETE'];

/** Every field each function reads, as Nango's runner-sdk declares them. */
const FIELDS: Record<string, { fn: string; fields: string[]; required: string[] }> = {
  sync: {
    fn: 'createSync',
    fields: ['version', 'description', 'endpoints', 'frequency', 'models', 'syncType', 'trackDeletes', 'autoStart', 'scopes', 'metadata', 'checkpoint', 'webhookSubscriptions', 'exec', 'onWebhook'],
    required: ['description', 'frequency', 'models', 'exec'],
  },
  action: { fn: 'createAction', fields: ['version', 'description', 'endpoint', 'input', 'output', 'metadata', 'checkpoint', 'scopes', 'exec'], required: ['description', 'input', 'output', 'exec'] },
  onEvent: { fn: 'createOnEvent', fields: ['version', 'description', 'event', 'metadata', 'checkpoint', 'exec'], required: ['description', 'event', 'exec'] },
};

/** `ActionInput_<integration>_<script>`: Nango's names, integration non-alphanumerics as `_`, the script's dropped. */
export function declaredModelName(prefix: 'SyncMetadata' | 'ActionInput' | 'ActionOutput', integration: string, script: string): string {
  return `${prefix}_${integration.replace(/[^a-zA-Z0-9]/g, '_')}_${script.replace(/[^a-zA-Z0-9]/g, '')}`;
}

/**
 * The config of a project whose scripts declare themselves. Collects every issue before throwing
 * `ScriptDefinitionError`, so one run shows them all.
 *
 * @example
 * const config = zeroYamlConfig([{ file: 'github/syncs/issues.ts', type: 'sync', options: { description: 'Issues', frequency: 'every hour' }, models: { Issue: {...} }, schemas: {}, functions: ['exec'] }]);
 * config.integrations[0].syncs[0].output // ['Issue']
 */
export function zeroYamlConfig(scripts: DeclaredScript[]): NangoConfig {
  const issues: ConfigIssue[] = [];
  const warnings: ConfigIssue[] = [];
  const integrations = new Map<string, IntegrationDefinition>();
  const models = new Map<string, ModelDefinition>();
  const modelSchemas = new Map<string, string>();

  for (const script of scripts) {
    const kind = FIELDS[script.type];
    const issue = (field: string, message: string) => issues.push({ file: script.file, path: `${kind?.fn ?? 'definition'}${field ? `.${field}` : ''}`, line: 1, message });
    const segments = script.file.split('/');
    if (segments.length < 2) {
      issue('', 'a script must be inside an integration folder (<integration>/syncs/<name>.ts)');
      continue;
    }
    if (!kind) {
      issue('', script.type === 'function' ? `createFunction is experimental in Nango and not supported by Syncline: use createSync, createAction or createOnEvent` : `unknown script type "${script.type}"`);
      continue;
    }
    const integrationKey = segments[0]!;
    const name = segments.at(-1)!.replace(/\.ts$/, '');
    const given = new Set([...Object.keys(script.options), ...Object.keys(script.models ? { models: 1 } : {}), ...Object.keys(script.schemas), ...script.functions]);
    // Nango's CLI reads the fields it knows and ignores the others: so do we, saying so.
    for (const field of given) {
      if (!kind.fields.includes(field)) warnings.push({ file: script.file, path: `${kind.fn}.${field}`, line: 1, message: `unknown field, ignored; ${kind.fn} reads ${kind.fields.join(', ')}` });
    }
    for (const field of kind.required) if (!given.has(field)) issue(field, 'is required');
    if (given.has('exec') && !script.functions.includes('exec')) issue('exec', 'should be a function');
    if (script.options.onWebhook !== undefined) issue('onWebhook', 'should be a function');

    const o = script.options;
    const str = (field: string): string | undefined => {
      const v = o[field];
      if (v !== undefined && typeof v !== 'string') issue(field, 'should be a string');
      return typeof v === 'string' ? v : undefined;
    };
    const bool = (field: string): boolean | undefined => {
      const v = o[field];
      if (v !== undefined && typeof v !== 'boolean') issue(field, 'should be true or false');
      return typeof v === 'boolean' ? v : undefined;
    };
    const strings = (field: string): string[] => {
      const v = o[field];
      if (v === undefined) return [];
      if (!Array.isArray(v) || v.some((s) => typeof s !== 'string')) return issue(field, 'should be a list of strings'), [];
      return v as string[];
    };
    const endpoint = (field: string, v: unknown): Endpoint | undefined => {
      const e = v as Partial<Endpoint> | null;
      if (!e || typeof e !== 'object' || !METHODS.includes(e.method as string) || typeof e.path !== 'string' || !e.path.startsWith('/')) {
        return issue(field, `should be { method: ${METHODS.join(' | ')}, path: '/...' }`), undefined;
      }
      return { method: e.method as Endpoint['method'], path: e.path, ...(typeof e.group === 'string' ? { group: e.group } : {}) };
    };
    const addModel = (modelName: string, schema: unknown, field: string) => {
      const text = JSON.stringify(schema);
      const existing = modelSchemas.get(modelName);
      if (existing !== undefined && existing !== text) return issue(field, `model "${modelName}" is declared elsewhere with another schema`);
      modelSchemas.set(modelName, text);
      models.set(modelName, modelFromJsonSchema(modelName, schema));
    };
    const checkpoint = script.schemas.checkpoint as { type?: unknown; properties?: Record<string, { type?: unknown }> } | undefined;
    if (checkpoint && (checkpoint.type !== 'object' || Object.values(checkpoint.properties ?? {}).some((p) => !['string', 'number', 'integer', 'boolean'].includes(p.type as string)))) {
      issue('checkpoint', 'should be z.object({...}) of strings, numbers and booleans (no nested objects or arrays)');
    }

    let integration = integrations.get(integrationKey);
    if (!integration) integrations.set(integrationKey, (integration = { key: integrationKey, syncs: [], actions: [], onEvents: {} }));
    // A sync and an action may share a name (Nango's CLI accepts it); two syncs or two actions may not.
    const sameKind = script.type === 'sync' ? integration.syncs : script.type === 'action' ? integration.actions : [];
    if (sameKind.some((d) => d.name === name)) issue('', `another ${script.type} of ${integrationKey} is also named "${name}"`);
    const version = str('version');
    const description = str('description');

    if (script.type === 'sync') {
      const frequency = str('frequency') ?? '';
      const intervalMs = parseRuns(frequency);
      if (given.has('frequency') && (intervalMs === undefined || intervalMs < MIN_INTERVAL_MS || intervalMs > MAX_INTERVAL_MS)) {
        issue('frequency', `"${frequency}" is not a frequency from "every 30 seconds" to "every 31 days" (e.g. "every hour", "every 5 minutes")`);
      }
      const output = Object.keys(script.models ?? {});
      for (const model of output) {
        if (!MODEL_NAME.test(model)) issue(`models.${model}`, 'a model name starts with a capital letter and has only letters, digits and "_"');
        else addModel(model, script.models![model], `models.${model}`);
      }
      const endpoints = o.endpoints === undefined ? [] : Array.isArray(o.endpoints) ? o.endpoints.map((e, i) => endpoint(`endpoints.${i}`, e)) : (issue('endpoints', 'should be a list'), []);
      if (o.endpoints !== undefined && endpoints.length !== output.length) issue('endpoints', `one endpoint per model: ${endpoints.length} for ${output.length} models`);
      const keys = endpoints.filter((e): e is Endpoint => !!e).map((e) => `${e.method} ${e.path}`);
      for (const dup of keys.filter((k, i) => keys.indexOf(k) !== i)) issue('endpoints', `"${dup}" is listed twice`);
      const syncType = o.syncType ?? 'full';
      if (syncType !== 'full' && syncType !== 'incremental') issue('syncType', 'should be "full" or "incremental"');
      const trackDeletes = bool('trackDeletes') ?? false;
      if (syncType === 'incremental' && trackDeletes) issue('trackDeletes', 'an incremental sync cannot track deletes (records it does not fetch again are not deleted); use nango.trackDeletesStart/End or a full sync');
      let input: string | undefined;
      if (script.schemas.metadata) addModel((input = declaredModelName('SyncMetadata', integrationKey, name)), script.schemas.metadata, 'metadata');
      const sync: SyncDefinition = {
        type: 'sync',
        integration: integrationKey,
        name,
        ...(description !== undefined ? { description } : {}),
        runs: frequency,
        intervalMs: intervalMs ?? MIN_INTERVAL_MS,
        output,
        endpoints: endpoints.filter((e): e is Endpoint => !!e),
        syncType: syncType === 'incremental' ? 'incremental' : 'full',
        trackDeletes,
        // As Nango's CLI reads the definition: only an explicit `autoStart: true` starts a sync by itself.
        autoStart: bool('autoStart') === true,
        scopes: strings('scopes'),
        ...(input ? { input } : {}),
        ...(version !== undefined ? { version } : {}),
        webhookSubscriptions: strings('webhookSubscriptions'),
      };
      integration.syncs.push(sync);
    } else if (script.type === 'action') {
      const slot = (field: 'input' | 'output', prefix: 'ActionInput' | 'ActionOutput') => {
        if (!script.schemas[field]) return undefined;
        const modelName = declaredModelName(prefix, integrationKey, name);
        addModel(modelName, script.schemas[field], field);
        return modelName;
      };
      const input = slot('input', 'ActionInput');
      const output = slot('output', 'ActionOutput');
      const action: ActionDefinition = {
        type: 'action',
        integration: integrationKey,
        name,
        ...(description !== undefined ? { description } : {}),
        ...(o.endpoint !== undefined ? { endpoint: endpoint('endpoint', o.endpoint) } : {}),
        ...(input ? { input } : {}),
        ...(output ? { output: [output] } : {}),
        scopes: strings('scopes'),
        ...(version !== undefined ? { version } : {}),
      };
      integration.actions.push(action);
    } else {
      const event = o.event as OnEvent;
      if (given.has('event') && !ON_EVENTS.includes(event)) issue('event', `should be one of ${ON_EVENTS.join(', ')}`);
      else if (ON_EVENTS.includes(event)) (integration.onEvents[event] ??= []).push(name);
    }
  }
  if (issues.length) throw new ScriptDefinitionError(issues);
  return { integrations: [...integrations.values()], models, warnings };
}

/**
 * The scripts `index.ts` imports (`import './github/syncs/issues.js';`), as `.ts` paths relative to
 * the project, in order: Nango's CLI compiles exactly these.
 */
export function indexEntries(indexTs: string): string[] {
  const entries: string[] = [];
  for (const match of indexTs.matchAll(/^\s*import\s+['"]\.\/(?<path>[^'"]+)['"]/gm)) {
    entries.push(match.groups!.path!.replace(/\.(js|ts)$/, '') + '.ts');
  }
  return entries;
}
