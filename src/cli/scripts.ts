import fs from 'node:fs';
import path from 'node:path';
import { generateModelsTs, generateNangoJson, generateSchemaJson, generateSchemaTs } from '../config/generate-models';
import { loadNangoYaml, type ActionDefinition, type NangoConfig, type SyncDefinition } from '../config/nango-yaml';
import { compileScripts, HELPER_DECLARATIONS, ScriptCompileError, type CompiledScript, type CompileIssue } from '../runtime';
import type { Syncline } from '../sdk';
import type { DeployResponse } from '../sdk/types';
import { CliError, scriptSource } from './project';

export type ScriptDefinition = SyncDefinition | ActionDefinition;

/** An integrations folder with its parsed, validated nango.yaml. */
export interface Project {
  dir: string;
  yaml: string;
  config: NangoConfig;
}

/** Reads and validates `<dir>/nango.yaml` (a `NangoYamlError` lists every issue). */
export function loadProject(dir: string): Project {
  const file = path.join(dir, 'nango.yaml');
  return { dir, yaml: fs.readFileSync(file, 'utf8'), config: loadNangoYaml(path.relative(process.cwd(), file) || file) };
}

export const definitions = (config: NangoConfig): ScriptDefinition[] => config.integrations.flatMap((i) => [...i.syncs, ...i.actions]);

/**
 * Writes what `nango generate` writes: `models.ts` (model types and the helper typings), and under
 * `.nango/` the model types alone (`schema.ts`), their JSON Schema (`schema.json`) and the parsed
 * integrations (`nango.json`). Returns the paths written, `models.ts` first.
 */
export function generate(project: Project): string[] {
  const generated = path.join(project.dir, '.nango');
  fs.mkdirSync(generated, { recursive: true });
  const files: Array<[string, string]> = [
    [path.join(project.dir, 'models.ts'), generateModelsTs(project.config, HELPER_DECLARATIONS)],
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
      wanted.push({ definition, entry: path.relative(project.dir, scriptSource(project.dir, definition)).split(path.sep).join('/') });
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

/** Compiles everything and uploads it in one request: the server applies all of it or none. */
export async function deployProject(project: Project, client: Syncline): Promise<DeployResponse> {
  const compiled = await compileProject(project);
  return client.deploy({
    nangoYamlBody: project.yaml,
    flowConfigs: compiled.map(({ definition, compiled: c, source }) => ({
      type: definition.type,
      providerConfigKey: definition.integration,
      name: definition.name,
      fileBody: { js: c.code, ts: source },
    })),
  });
}

/** The one script named `name` (optionally of `integration`), or an error saying what exists. */
export function findScript(config: NangoConfig, name: string, integration?: string): ScriptDefinition {
  const matches = definitions(config).filter((d) => d.name === name && (!integration || d.integration === integration));
  if (matches.length === 1) return matches[0]!;
  const names = definitions(config).map((d) => `${d.integration}/${d.name}`).join(', ') || 'none';
  if (matches.length === 0) throw new CliError(`No sync or action "${name}"${integration ? ` in ${integration}` : ''} in nango.yaml (there are: ${names})`);
  throw new CliError(`"${name}" exists in several integrations (${matches.map((m) => m.integration).join(', ')}); pick one with --integration`);
}
