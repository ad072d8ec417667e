import type { CompiledScript } from './compile';
import { runScript } from './sandbox';
import type { RuntimeServices } from './types';

/** A JSON Schema node as zod's `toJSONSchema` gives it (draft 7). */
export type DescribedSchema = Record<string, unknown>;

/**
 * What a script that declares itself (`export default createSync({...})`) declares, as data: the
 * plain options as written, each zod schema as JSON Schema, and the names of the functions.
 */
export interface ScriptDescription {
  /** `sync`, `action` or `onEvent`. */
  type: string;
  /** Every option that is neither a schema nor a function, as written (JSON). */
  options: Record<string, unknown>;
  /** `models` of a sync: one JSON Schema per model name. */
  models?: Record<string, DescribedSchema>;
  /** `input`, `output`, `metadata`, `checkpoint`, each when given. */
  schemas: Partial<Record<'input' | 'output' | 'metadata' | 'checkpoint', DescribedSchema>>;
  /** Options whose value is a function: `exec`, `onWebhook`. */
  functions: string[];
}

export type DescribeOutcome = { entry: string; description: ScriptDescription } | { entry: string; error: string };

/** A script's module runs only to build its definition: a few seconds are plenty. */
const DESCRIBE_TIMEOUT_MS = 10_000;

/**
 * Runs in the sandbox after the script's module: turns its default export into a
 * `ScriptDescription`. Schemas become JSON Schema with zod 4's `toJSONSchema`, as Nango's CLI does
 * (draft 7, unrepresentable types as any, dates as date-time strings, `z.void()` as null).
 */
const DESCRIBE_SOURCE = String.raw`
const definition = __script.default ?? __script;
if (!definition || typeof definition !== 'object' || !['sync', 'action', 'onEvent'].includes(definition.type)) {
  throw new Error('The script should export default createSync({...}), createAction({...}) or createOnEvent({...}) from "nango"');
}
const z = require('zod');
const toSchema = (key, value) => {
  if (!value || typeof value !== 'object' || !(value instanceof z.ZodType)) throw new Error(key + ' should be a zod 4 schema (import { z } from "zod")');
  if (value instanceof z.ZodVoid) return { type: 'null' };
  const schema = z.toJSONSchema(value, {
    target: 'draft-7',
    unrepresentable: 'any',
    override(ctx) {
      if (ctx.zodSchema instanceof z.ZodDate) Object.assign(ctx.jsonSchema, { type: 'string', format: 'date-time' });
    },
  });
  delete schema.$schema;
  return schema;
};
const out = { type: definition.type, options: {}, schemas: {}, functions: [] };
for (const [key, value] of Object.entries(definition)) {
  if (key === 'type' || value === undefined) continue;
  if (typeof value === 'function') out.functions.push(key);
  else if (key === 'models' && definition.type === 'sync') {
    if (!value || typeof value !== 'object') throw new Error('models should be an object of zod schemas');
    out.models = Object.fromEntries(Object.entries(value).map(([name, schema]) => [name, toSchema('models.' + name, schema)]));
  } else if (['input', 'output', 'metadata', 'checkpoint'].includes(key)) out.schemas[key] = toSchema(key, value);
  else out.options[key] = JSON.parse(JSON.stringify(value));
}
return out;
`;

/**
 * One action that loads each bundle as a module and describes it; a script that throws is an
 * error of its own, the others are still described.
 */
function describerCode(scripts: CompiledScript[]): string {
  const each = scripts.map(
    (s) => `(() => { try { const __script = (() => { const module = { exports: {} }; (function (exports, require, module) {\n${s.code}\n})(module.exports, require, module); return module.exports; })();
${DESCRIBE_SOURCE.replace('return out;', 'return { description: out };')} } catch (err) { return { error: err instanceof Error ? err.message : String(err) }; } })()`,
  );
  return `module.exports.default = async function describe() { return [${each.join(',\n')}]; };`;
}

const unavailable = (): Promise<never> => Promise.reject(new Error('A script may not call nango.* while its definition is read (at the top of the module)'));
const NO_SERVICES: RuntimeServices = {
  getConnection: unavailable,
  getIntegration: unavailable,
  getEnvironmentVariables: unavailable,
  setMetadata: unavailable,
};

/**
 * Reads the definitions of compiled scripts that declare themselves, each in the sandbox (its
 * module's top level is user code: it runs under the sandbox's limits, never in this process),
 * with no connection and a short time limit, all in one execution.
 *
 * @example
 * const [outcome] = await describeScripts([await compileScript({ root, zod: 4 }, 'github/syncs/issues.ts')]);
 * if ('description' in outcome) outcome.description.models // { Issue: { type: 'object', ... } }
 */
export async function describeScripts(scripts: CompiledScript[]): Promise<DescribeOutcome[]> {
  if (scripts.length === 0) return [];
  const result = await runScript({
    kind: 'action',
    code: describerCode(scripts),
    scriptName: scripts.length === 1 ? scripts[0]!.entry : 'definitions',
    providerConfigKey: '',
    connectionId: '',
    provider: { display_name: '', auth_mode: 'NONE' },
    services: NO_SERVICES,
    limits: { timeoutMs: DESCRIBE_TIMEOUT_MS },
    logLevel: 'off',
  });
  if (result.success) {
    const described = result.output as Array<{ description: ScriptDescription } | { error: string }>;
    return scripts.map((s, i) => ({ entry: s.entry, ...described[i]! }));
  }
  // One script hung or exhausted the memory: describe each alone, so only that one fails.
  if (scripts.length > 1) return (await Promise.all(scripts.map((s) => describeScripts([s])))).flat();
  return [{ entry: scripts[0]!.entry, error: result.error.message }];
}
