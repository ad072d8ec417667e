import fs from 'node:fs';
import path from 'node:path';
import { generateModelsTs, generateNangoJson, generateSchemaJson, generateSchemaTs } from '../config/generate-models';
import { modelsJsonSchema } from '../config/json-schema';
import { loadNangoYaml, type ActionDefinition, type NangoConfig, type SyncDefinition } from '../config/nango-yaml';
import { indexEntries, ScriptDefinitionError, zeroYamlConfig, type DeclaredScript } from '../config/zero-yaml';
import { compileScripts, describeScripts, HELPER_DECLARATIONS, ScriptCompileError, type CompiledScript, type CompileIssue } from '../runtime';
import type { Syncline } from '../sdk';
import type { DeployResponse, FlowsDeployBody, OnEventScriptsByProvider } from '../sdk/types';
import { CliError, scriptSource } from './project';

export type ScriptDefinition = SyncDefinition | ActionDefinition;

/**
 * An integrations folder and its validated config. `yaml`: a nango.yaml project; `zero-yaml`:
 * scripts that declare themselves (`createSync`, ...), listed by `index.ts`, whose config is read
 * from the scripts.
 */
export interface Project {
  dir: string;
  format: 'yaml' | 'zero-yaml';
  /** The nango.yaml text (yaml projects). */
  yaml?: string;
  config: NangoConfig;
  /** Zero-yaml projects: each script's source, relative, by `integration/type/name`. */
  sources?: Map<string, string>;
}

const sourceKey = (d: { integration: string; type: string; name: string }) => `${d.integration}/${d.type}/${d.name}`;

/**
 * Reads and validates the project in `dir`: its nango.yaml (a `NangoYamlError` lists every
 * issue), or the definitions of the scripts its index.ts imports (see `readZeroYamlProject`).
 */
export async function loadProject(dir: string): Promise<Project> {
  const format = projectFormat(dir);
  if (format === 'yaml') {
    const file = path.join(dir, 'nango.yaml');
    return { dir, format, yaml: fs.readFileSync(file, 'utf8'), config: loadNangoYaml(path.relative(process.cwd(), file) || file) };
  }
  const { project, failed } = await readZeroYamlProject(dir);
  if (failed.length) throw new ScriptDefinitionError(failed.map((f) => ({ file: f.entry, path: 'definition', line: 1, message: f.error })));
  return project;
}

/** A folder with a nango.yaml is a yaml project, one with an index.ts a zero-yaml one; both is an error. */
export function projectFormat(dir: string): Project['format'] {
  const yaml = fs.existsSync(path.join(dir, 'nango.yaml'));
  const index = fs.existsSync(path.join(dir, 'index.ts'));
  if (yaml && index) {
    throw new CliError(
      `${dir} mixes the two project formats: a nango.yaml, and an index.ts for scripts that declare themselves (createSync, createAction, createOnEvent). Keep one: remove index.ts for a nango.yaml project, or nango.yaml (and models.ts) when the scripts declare themselves`,
    );
  }
  return yaml ? 'yaml' : 'zero-yaml';
}

/**
 * A project whose scripts declare themselves: each script index.ts imports is bundled, then run in
 * the sandbox to read its definition (never in this process: its module is user code); the
 * definitions give the same config a nango.yaml would. Scripts that do not bundle or whose module
 * fails are in `failed`, each with its error; the config holds the others.
 */
export async function readZeroYamlProject(dir: string): Promise<{ project: Project; failed: Array<{ entry: string; error: string }> }> {
  const indexFile = path.join(dir, 'index.ts');
  if (!fs.existsSync(indexFile)) throw new CliError(`No index.ts in ${dir}: it imports every script (import './github/syncs/issues.js';)`);
  const entries = indexEntries(fs.readFileSync(indexFile, 'utf8'));
  if (entries.length === 0) throw new CliError("index.ts imports no script; add one like import './github/syncs/issues.js';");
  const { scripts, errors } = await compileScripts({ root: dir, typecheck: false }, entries);
  const failed = errors.map((e) => ({ entry: e.entry, error: e.message }));
  let declared: DeclaredScript[] = [];
  for (const outcome of await describeScripts(scripts)) {
    if ('error' in outcome) failed.push({ entry: outcome.entry, error: outcome.error });
    else declared.push({ file: outcome.entry, ...outcome.description });
  }
  // A script whose definition is refused fails alone: the config is built from the others.
  let config: NangoConfig | undefined;
  while (!config) {
    try {
      config = zeroYamlConfig(declared);
    } catch (err) {
      if (!(err instanceof ScriptDefinitionError)) throw err;
      const refused = new Set(err.issues.map((i) => i.file));
      for (const file of refused) failed.push({ entry: file, error: err.issues.filter((i) => i.file === file).map((i) => `${i.path}: ${i.message}`).join('; ') });
      declared = declared.filter((d) => !refused.has(d.file));
    }
  }
  const sources = new Map<string, string>();
  for (const d of declared) {
    const segments = d.file.split('/');
    sources.set(sourceKey({ integration: segments[0]!, type: d.type, name: segments.at(-1)!.replace(/\.ts$/, '') }), d.file);
  }
  return { project: { dir, format: 'zero-yaml', config, sources }, failed };
}

export const definitions = (config: NangoConfig): ScriptDefinition[] => config.integrations.flatMap((i) => [...i.syncs, ...i.actions]);

/**
 * Writes what `nango generate` writes: `models.ts` (model types and the helper typings; yaml
 * projects only), and under `.nango/` the model types alone (`schema.ts`), their JSON Schema
 * (`schema.json`) and the parsed integrations (`nango.json`). Returns the paths written.
 */
export function generate(project: Project): string[] {
  const generated = path.join(project.dir, '.nango');
  fs.mkdirSync(generated, { recursive: true });
  const files: Array<[string, string]> = [
    // Scripts that declare themselves import their types from 'nango', not models.ts.
    ...(project.format === 'yaml' ? [[path.join(project.dir, 'models.ts'), generateModelsTs(project.config, HELPER_DECLARATIONS)] as [string, string]] : []),
    [path.join(generated, 'schema.ts'), generateSchemaTs(project.config)],
    [path.join(generated, 'schema.json'), generateSchemaJson(project.config)],
    [path.join(generated, 'nango.json'), generateNangoJson(project.config)],
  ];
  for (const [file, text] of files) fs.writeFileSync(file, text);
  return files.map(([file]) => file);
}

export interface CompiledDefinition {
  definition: ScriptDefinition;
  compiled: CompiledScript;
  /** TypeScript source of the entry. */
  source: string;
}

export interface ProjectCompilation {
  compiled: CompiledDefinition[];
  /** The scripts that did not compile, each with its own error. */
  failed: Array<{ definition: ScriptDefinition; error: ScriptCompileError }>;
}

/**
 * Generates models.ts, then bundles and type-checks every script (or only `only`), writing the
 * bundles of those that compile under `<dir>/dist/`. Each script succeeds or fails on its own.
 */
export async function compileEach(project: Project, only?: ScriptDefinition[]): Promise<ProjectCompilation> {
  generate(project);
  const result: ProjectCompilation = { compiled: [], failed: [] };
  const wanted: Array<{ definition: ScriptDefinition; entry: string }> = [];
  for (const definition of only ?? definitions(project.config)) {
    try {
      const declared = project.sources?.get(sourceKey(definition));
      wanted.push({ definition, entry: declared ?? path.relative(project.dir, scriptSource(project.dir, definition)).split(path.sep).join('/') });
    } catch (err) {
      if (!(err instanceof CliError)) throw err;
      const entry = `${definition.integration}/${definition.type}s/${definition.name}.ts`;
      result.failed.push({ definition, error: new ScriptCompileError([{ file: entry, line: 1, column: 1, message: err.message, entry }]) });
    }
  }
  const { scripts, errors } = await compileScripts({ root: project.dir }, wanted.map((w) => w.entry));
  const byEntry = new Map(scripts.map((s) => [s.entry, s]));
  const errorByEntry = new Map(errors.map((e) => [e.entry, e]));
  for (const { definition, entry } of wanted) {
    const compiled = byEntry.get(entry);
    if (!compiled) {
      result.failed.push({ definition, error: errorByEntry.get(entry)! });
      continue;
    }
    const out = path.join(project.dir, 'dist', entry.replace(/\.ts$/, '.js'));
    fs.mkdirSync(path.dirname(out), { recursive: true });
    fs.writeFileSync(out, compiled.code);
    result.compiled.push({ definition, compiled, source: fs.readFileSync(path.join(project.dir, entry), 'utf8') });
  }
  return result;
}

/**
 * Like `compileEach`, but all or nothing: any error anywhere throws one `ScriptCompileError` with
 * every issue, so nothing half-compiled is returned.
 */
export async function compileProject(project: Project, only?: ScriptDefinition[]): Promise<CompiledDefinition[]> {
  const { compiled, failed } = await compileEach(project, only);
  if (failed.length) throw new ScriptCompileError(uniqueIssues(failed.flatMap((f) => f.error.issues)));
  return compiled;
}

/** Issues of a shared file appear once per entry that imports it; keep one of each. */
function uniqueIssues(issues: CompileIssue[]): CompileIssue[] {
  const seen = new Set<string>();
  return issues.filter((i) => {
    const key = `${i.file}:${i.line}:${i.column}:${i.message}`;
    return !seen.has(key) && seen.add(key) !== undefined;
  });
}

/**
 * Compiles everything and uploads it in one request: the server applies all of it or none. A
 * nango.yaml project sends its yaml; one whose scripts declare themselves sends Nango's yaml-less
 * payload (no deployment id comes back). On-event scripts go with them.
 */
export async function deployProject(project: Project, client: Syncline): Promise<Omit<DeployResponse, 'deployment_id'> & { deployment_id?: number }> {
  const compiled = await compileProject(project);
  const onEventScriptsByProvider = await compileOnEvents(project);
  if (project.yaml === undefined) {
    const flows = await client.deployFlows({ flowConfigs: compiled.map((c) => flowConfig(project.config, c)), onEventScriptsByProvider });
    return { scripts: flows.map((f) => ({ type: f.type, providerConfigKey: f.providerConfigKey, name: f.name, version: f.version ?? null })), removed: [] };
  }
  return client.deploy({
    nangoYamlBody: project.yaml,
    flowConfigs: compiled.map(({ definition, compiled: c, source }) => ({
      type: definition.type,
      providerConfigKey: definition.integration,
      name: definition.name,
      fileBody: { js: c.code, ts: source, ...(c.sourceMap ? { map: c.sourceMap } : {}) },
    })),
    onEventScriptsByProvider,
  });
}

/**
 * Type-checks and bundles the project's on-event scripts (`<integration>/on-events/<name>.ts` in a
 * nango.yaml project; the files declaring them with createOnEvent otherwise), all or nothing.
 */
async function compileOnEvents(project: Project): Promise<OnEventScriptsByProvider> {
  const wanted = project.config.integrations.flatMap((i) =>
    Object.entries(i.onEvents).flatMap(([event, names]) =>
      (names ?? []).map((name) => ({ integration: i.key, event: event as OnEventScriptsByProvider[number]['scripts'][number]['event'], name, entry: project.sources?.get(sourceKey({ integration: i.key, type: 'onEvent', name })) ?? `${i.key}/on-events/${name}.ts` })),
    ),
  );
  if (!wanted.length) return [];
  const { scripts, errors } = await compileScripts({ root: project.dir }, wanted.map((w) => w.entry));
  if (errors.length) throw new ScriptCompileError(uniqueIssues(errors.flatMap((e) => e.issues)));
  const byEntry = new Map(scripts.map((s) => [s.entry, s]));
  const byProvider = new Map<string, OnEventScriptsByProvider[number]['scripts']>();
  for (const w of wanted) {
    const compiled = byEntry.get(w.entry)!;
    const fileBody = { js: compiled.code, ts: fs.readFileSync(path.join(project.dir, w.entry), 'utf8'), ...(compiled.sourceMap ? { map: compiled.sourceMap } : {}) };
    byProvider.set(w.integration, [...(byProvider.get(w.integration) ?? []), { name: w.name, event: w.event, fileBody }]);
  }
  return [...byProvider].map(([providerConfigKey, list]) => ({ providerConfigKey, scripts: list }));
}

/** One script as Nango's yaml-less deploy sends it: its options, and the models it uses as JSON Schema. */
function flowConfig(config: NangoConfig, { definition: d, compiled, source }: CompiledDefinition): FlowsDeployBody['flowConfigs'][number] {
  const models = d.type === 'sync' ? d.output : (d.output ?? []);
  const used = [...models, ...(d.input ? [d.input] : [])].map((name) => config.models.get(name)!);
  const common = {
    type: d.type,
    syncName: d.name,
    providerConfigKey: d.integration,
    models,
    input: d.input ?? null,
    version: d.version ?? null,
    metadata: { ...(d.description !== undefined ? { description: d.description } : {}), scopes: d.scopes },
    models_json_schema: { definitions: modelsJsonSchema(used).definitions },
    fileBody: { js: compiled.code, ts: source, ...(compiled.sourceMap ? { map: compiled.sourceMap } : {}) },
  };
  if (d.type === 'action') return { ...common, ...(d.endpoint ? { endpoints: [d.endpoint] } : {}) };
  return { ...common, runs: d.runs, auto_start: d.autoStart, track_deletes: d.trackDeletes, sync_type: d.syncType, endpoints: d.endpoints, webhookSubscriptions: d.webhookSubscriptions };
}

/** The one script named `name` (optionally of `integration`), or an error saying what exists. */
export function findScript(config: NangoConfig, name: string, integration?: string): ScriptDefinition {
  const matches = definitions(config).filter((d) => d.name === name && (!integration || d.integration === integration));
  if (matches.length === 1) return matches[0]!;
  const names = definitions(config).map((d) => `${d.integration}/${d.name}`).join(', ') || 'none';
  if (matches.length === 0) throw new CliError(`No sync or action "${name}"${integration ? ` in ${integration}` : ''} in nango.yaml (there are: ${names})`);
  throw new CliError(`"${name}" exists in several integrations (${matches.map((m) => m.integration).join(', ')}); pick one with --integration`);
}
