/**
 * `syncline migrate`: turns a nango.yaml project into Nango's current format, as Nango's CLI
 * (`nango migrate-to-zero-yaml`) does: models.ts becomes zod schemas (each with its type of the
 * same name), each script's default-exported function becomes the `exec` of `export default
 * createSync/createAction/createOnEvent({...})` carrying what nango.yaml said about it, a sync's
 * exported `onWebhookPayloadReceived` its `onWebhook`, `index.ts` imports every script,
 * package.json asks for zod 4, and nango.yaml is removed. Imports of models.ts are rewritten in
 * every file: models from models.ts, Nango's types from 'nango'. Nothing is written unless every
 * script could be transformed.
 */
import fs from 'node:fs';
import path from 'node:path';
import ts from 'typescript';
import type { ActionDefinition, ModelDefinition, NangoConfig, SyncDefinition } from '../config/nango-yaml';
import type { Field, FieldType } from '../config/model-types';
import { CliError } from './project';
import type { Project } from './scripts';

/** The zod major migrated projects ask for, in package.json's devDependencies. */
const ZOD_VERSION = '^4.0.0';

type Script =
  | { kind: 'sync'; file: string; def: SyncDefinition }
  | { kind: 'action'; file: string; def: ActionDefinition }
  | { kind: 'onEvent'; file: string; event: string };

/** What `migrate` wrote (relative to the project), and what it removed. */
export interface MigrateResult {
  written: string[];
  removed: string[];
}

export function migrate(project: Project): MigrateResult {
  if (project.format !== 'yaml') throw new CliError(`${project.dir} has no nango.yaml: its scripts already declare themselves`);
  const { dir, config } = project;
  const scripts = scriptsOf(config, dir);
  const models = new Set(config.models.keys());
  const files = new Map<string, string>();
  files.set('models.ts', zodModels(config.models));
  for (const script of scripts) files.set(script.file, transformScript(script, read(dir, script.file), models));
  // Helper files (mappers, ...) keep their code; only their imports of models.ts change.
  for (const file of tsFiles(dir)) {
    if (files.has(file) || file === 'index.ts') continue;
    const source = read(dir, file);
    const rewritten = rewriteImports(source, file, models);
    if (rewritten !== source) files.set(file, rewritten);
  }
  files.set('index.ts', scripts.map((s) => `import './${s.file.replace(/\.ts$/, '.js')}';\n`).join(''));
  files.set('package.json', packageJson(dir));

  for (const [file, text] of files) fs.writeFileSync(path.join(dir, file), text);
  fs.rmSync(path.join(dir, 'nango.yaml'));
  return { written: [...files.keys()], removed: ['nango.yaml'] };
}

function read(dir: string, file: string): string {
  return fs.readFileSync(path.join(dir, file), 'utf8');
}

/** Every script nango.yaml declares, at `<integration>/<syncs|actions|on-events>/<name>.ts`. */
function scriptsOf(config: NangoConfig, dir: string): Script[] {
  const scripts: Script[] = [];
  const located = (integration: string, folder: string, name: string) => {
    const file = `${integration}/${folder}/${name}.ts`;
    if (!fs.existsSync(path.join(dir, file))) {
      const flat = fs.existsSync(path.join(dir, `${name}.ts`)) ? `: move ${name}.ts there first (a script's folder names its integration in this format)` : '';
      throw new CliError(`${folder.replace(/s$/, '')} "${name}" of ${integration} has no source at ${file}${flat}`);
    }
    return file;
  };
  for (const i of config.integrations) {
    for (const def of i.syncs) scripts.push({ kind: 'sync', file: located(i.key, 'syncs', def.name), def });
    for (const def of i.actions) scripts.push({ kind: 'action', file: located(i.key, 'actions', def.name), def });
    for (const [event, names] of Object.entries(i.onEvents)) {
      for (const name of names ?? []) scripts.push({ kind: 'onEvent', file: located(i.key, 'on-events', name), event });
    }
  }
  return scripts;
}

function tsFiles(dir: string, rel = ''): string[] {
  const out: string[] = [];
  for (const entry of fs.readdirSync(path.join(dir, rel), { withFileTypes: true })) {
    const file = rel ? `${rel}/${entry.name}` : entry.name;
    if (entry.isDirectory() && !['node_modules', 'dist', 'build', '.nango'].includes(entry.name) && !entry.name.startsWith('.')) out.push(...tsFiles(dir, file));
    else if (entry.isFile() && file.endsWith('.ts') && !file.endsWith('.d.ts') && file !== 'models.ts') out.push(file);
  }
  return out;
}

function packageJson(dir: string): string {
  const file = path.join(dir, 'package.json');
  const pkg = (fs.existsSync(file) ? JSON.parse(fs.readFileSync(file, 'utf8')) : { name: 'nango-integrations', private: true }) as {
    dependencies?: Record<string, string>;
    devDependencies?: Record<string, string>;
  };
  if (pkg.dependencies) delete pkg.dependencies.zod;
  pkg.devDependencies = { ...pkg.devDependencies, zod: ZOD_VERSION };
  return `${JSON.stringify(pkg, null, 2)}\n`;
}

// ---------------------------------------------------------------- models.ts

/** models.ts of zod schemas, each model before those that use it (a cycle goes through `z.lazy`). */
export function zodModels(models: ReadonlyMap<string, ModelDefinition>): string {
  const done = new Set<string>();
  const visiting = new Set<string>();
  const lines = ["import { z } from 'zod';\n"];
  const emit = (name: string) => {
    if (done.has(name) || visiting.has(name)) return;
    const model = models.get(name);
    if (!model) return;
    visiting.add(name);
    for (const ref of refsOf(model)) emit(ref);
    const schema = model.type ? zodOf(model.type, done) : zodObject(model.fields, model.index, done);
    lines.push(`export const ${name} = ${schema};\nexport type ${name} = z.infer<typeof ${name}>;\n`);
    visiting.delete(name);
    done.add(name);
  };
  for (const name of models.keys()) emit(name);
  return lines.join('\n');
}

function refsOf(model: ModelDefinition): string[] {
  const refs: string[] = [];
  const walk = (type: FieldType) => {
    if (type.kind === 'ref') refs.push(type.model);
    else if (type.kind === 'array') walk(type.of);
    else if (type.kind === 'union') type.of.forEach(walk);
    else if (type.kind === 'object') {
      type.fields.forEach((f) => walk(f.type));
      if (type.index) walk(type.index);
    }
  };
  if (model.type) walk(model.type);
  model.fields.forEach((f) => walk(f.type));
  if (model.index) walk(model.index);
  return refs;
}

const PRIMITIVES: Record<string, string> = {
  string: 'z.string()',
  number: 'z.number()',
  boolean: 'z.boolean()',
  Date: 'z.date()',
  any: 'z.any()',
  null: 'z.null()',
  undefined: 'z.undefined()',
  object: 'z.record(z.string(), z.any())',
};

/** The zod source of a field type; `defined` models are referenced by name, others (a cycle) lazily. */
function zodOf(type: FieldType, defined: ReadonlySet<string>): string {
  switch (type.kind) {
    case 'primitive':
      return PRIMITIVES[type.name]!;
    case 'literal':
      return `z.literal(${JSON.stringify(type.value)})`;
    case 'array':
      return `z.array(${zodOf(type.of, defined)})`;
    case 'ref':
      return defined.has(type.model) ? type.model : `z.lazy(() => ${type.model})`;
    case 'object':
      return zodObject(type.fields, type.index, defined);
    case 'union': {
      const nullable = type.of.some((t) => t.kind === 'primitive' && t.name === 'null');
      const rest = type.of.filter((t) => !(t.kind === 'primitive' && (t.name === 'null' || t.name === 'undefined')));
      let schema = rest.length === 0 ? 'z.null()' : rest.length === 1 ? zodOf(rest[0]!, defined) : `z.union([${rest.map((t) => zodOf(t, defined)).join(', ')}])`;
      if (nullable && rest.length > 0) schema += '.nullable()';
      if (type.of.some((t) => t.kind === 'primitive' && t.name === 'undefined')) schema += '.optional()';
      return schema;
    }
  }
}

function zodObject(fields: Field[], index: FieldType | undefined, defined: ReadonlySet<string>): string {
  const key = (name: string) => (/^[A-Za-z_$][\w$]*$/.test(name) ? name : JSON.stringify(name));
  const body = fields.map((f) => `  ${key(f.name)}: ${zodOf(f.type, defined)}${f.optional ? '.optional()' : ''}`).join(',\n');
  const object = fields.length ? `z.object({\n${body}\n})` : 'z.object({})';
  return index ? `${object}.catchall(${zodOf(index, defined)})` : object;
}

// ---------------------------------------------------------------- scripts

/** A text edit of the source: [start, end) replaced. */
type Edit = { start: number; end: number; text: string };

function applyEdits(source: string, edits: Edit[]): string {
  let out = source;
  // From the end, so earlier offsets stay valid; at one offset a removal goes before an insertion.
  for (const e of [...edits].sort((a, b) => b.start - a.start || b.end - a.end)) out = out.slice(0, e.start) + e.text + out.slice(e.end);
  return out;
}

const isModelsImport = (spec: string) => /(^|\/)models(\.js|\.ts)?$/.test(spec);

/**
 * Replaces the file's imports of models.ts: models from models.ts (the zod schemas now), Nango's
 * types from 'nango' except those in `local` (a script's own Nango type, declared after its
 * definition). `extra` names from 'nango' are added (createSync, ...).
 */
function importEdits(sf: ts.SourceFile, models: ReadonlySet<string>, local: ReadonlySet<string>, extra: { nango: string[]; models: string[] } = { nango: [], models: [] }): Edit[] {
  const edits: Edit[] = [];
  const fromModels: string[] = [...extra.models];
  const fromNango: string[] = [];
  let modelsSpec: string | undefined;
  let first: ts.ImportDeclaration | undefined;
  for (const statement of sf.statements) {
    if (!ts.isImportDeclaration(statement) || !ts.isStringLiteral(statement.moduleSpecifier)) continue;
    first ??= statement;
    if (!isModelsImport(statement.moduleSpecifier.text)) continue;
    modelsSpec = statement.moduleSpecifier.text;
    const bindings = statement.importClause?.namedBindings;
    if (bindings && ts.isNamedImports(bindings)) {
      for (const el of bindings.elements) {
        const imported = (el.propertyName ?? el.name).text;
        const alias = el.propertyName ? `${imported} as ${el.name.text}` : imported;
        if (models.has(imported)) {
          if (!fromModels.includes(alias)) fromModels.push(alias);
        }
        else if (!local.has(imported)) fromNango.push(alias);
      }
    }
    edits.push({ start: statement.getStart(sf), end: statement.getEnd(), text: '' });
  }
  const lines: string[] = [];
  const nangoValues = extra.nango.concat(fromNango.filter((n) => n.startsWith('ActionError')));
  const nangoTypes = fromNango.filter((n) => !n.startsWith('ActionError'));
  if (nangoValues.length) lines.push(`import { ${nangoValues.join(', ')} } from 'nango';`);
  if (nangoTypes.length) lines.push(`import type { ${nangoTypes.join(', ')} } from 'nango';`);
  const modelsPath = modelsSpec ?? `${'../'.repeat(sf.fileName.split('/').length - 1)}models`;
  if (fromModels.length) lines.push(`import { ${fromModels.join(', ')} } from '${modelsPath.replace(/(\.js|\.ts)?$/, '.js')}';`);
  if (lines.length) {
    const at = first ? first.getStart(sf) : 0;
    edits.push({ start: at, end: at, text: `${lines.join('\n')}\n` });
  }
  return edits;
}

const parse = (file: string, source: string) => ts.createSourceFile(file, source, ts.ScriptTarget.Latest, true, ts.ScriptKind.TS);

/** A helper file with its imports of models.ts rewritten (see `importEdits`). */
function rewriteImports(source: string, file: string, models: ReadonlySet<string>): string {
  const edits = importEdits(parse(file, source), models, new Set());
  return edits.length ? tidy(applyEdits(source, edits)) : source;
}

/** No blank lines at the top, at most one in a row. */
const tidy = (source: string) => source.replace(/^\n+/, '').replace(/\n{3,}/g, '\n\n');

/** Source of an object property list (`key: value` lines). */
const props = (entries: Array<[string, string | undefined]>, indent: string) =>
  entries
    .filter((e): e is [string, string] => e[1] !== undefined)
    .map(([k, v]) => `${indent}${k}: ${v}`)
    .join(',\n');

const str = (s: string) => `'${s.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;
const list = (items: string[]) => (items.length ? `[${items.map(str).join(', ')}]` : undefined);
const endpointSource = (e: { method: string; path: string; group?: string }) => `{ method: ${str(e.method)}, path: ${str(e.path)}${e.group ? `, group: ${str(e.group)}` : ''} }`;

function transformScript(script: Script, source: string, models: ReadonlySet<string>): string {
  const [fn, localType, variable] =
    script.kind === 'sync' ? ['createSync', 'NangoSyncLocal', 'sync'] : script.kind === 'action' ? ['createAction', 'NangoActionLocal', 'action'] : ['createOnEvent', 'NangoActionLocal', 'onEvent'];
  const helperType = script.kind === 'sync' ? 'NangoSync' : 'NangoAction';
  const sf = parse(script.file, source);
  const used = script.kind === 'sync' ? [...script.def.output, ...(script.def.input ? [script.def.input] : [])] : script.kind === 'action' ? [script.def.input, ...(script.def.output ?? [])] : [];
  const imports = importEdits(sf, models, new Set([helperType]), { nango: [fn], models: used.filter((m): m is string => m !== undefined && models.has(m)) });
  const edits: Edit[] = [];
  let main: ts.FunctionDeclaration | undefined;
  let webhook: ts.FunctionDeclaration | undefined;
  const exported = (s: ts.Statement, kind: ts.SyntaxKind) => ts.canHaveModifiers(s) && ts.getModifiers(s)?.some((m) => m.kind === kind);
  for (const statement of sf.statements) {
    if (!ts.isFunctionDeclaration(statement) || !statement.body || !exported(statement, ts.SyntaxKind.ExportKeyword)) continue;
    if (exported(statement, ts.SyntaxKind.DefaultKeyword)) main = statement;
    else if (statement.name?.text === 'onWebhookPayloadReceived' && script.kind === 'sync') webhook = statement;
  }
  if (!main) throw new CliError(`${script.file}: no \`export default async function\` to migrate (its body becomes the exec of ${fn})`);
  // The helper type becomes the script's own, typed by its definition.
  const rename = (node: ts.Node): void => {
    if (ts.isTypeReferenceNode(node) && ts.isIdentifier(node.typeName) && node.typeName.text === helperType) {
      edits.push({ start: node.typeName.getStart(sf), end: node.typeName.getEnd(), text: localType });
    }
    ts.forEachChild(node, rename);
  };
  const ownEdits = (node: ts.Node) => {
    const before = edits.length;
    rename(node);
    const inner = edits.splice(before).map((e) => ({ ...e, start: e.start - node.getStart(sf), end: e.end - node.getStart(sf) }));
    return applyEdits(node.getText(sf), inner);
  };
  const asArrow = (f: ts.FunctionDeclaration, returnType?: string) => {
    const body = ownEdits(f.body!);
    const params = f.parameters.map((p, i) => (i === 0 ? p.name.getText(sf) : ownEdits(p)));
    const async = f.modifiers?.some((m) => m.kind === ts.SyntaxKind.AsyncKeyword) ? 'async ' : '';
    return `${async}(${params.join(', ')})${returnType ? `: Promise<${returnType}>` : ''} => ${body}`;
  };
  const indent = '    ';
  // Without a declared model, metadata a script reads or writes is typed loosely (Nango's migration leaves it unusable).
  const looseMetadata = /\b(get|set|update)Metadata\b/.test(source) ? 'z.looseObject({})' : undefined;
  let definition: string;
  if (script.kind === 'sync') {
    const d = script.def;
    definition = props(
      [
        ['description', str(d.description ?? '')],
        ['version', str(d.version ?? '0.0.1')],
        ['frequency', str(d.runs)],
        ['autoStart', String(d.autoStart)],
        ['syncType', str(d.syncType)],
        ['trackDeletes', String(d.trackDeletes)],
        ['endpoints', `[${d.endpoints.map(endpointSource).join(', ')}]`],
        ['webhookSubscriptions', list(d.webhookSubscriptions)],
        ['scopes', list(d.scopes)],
        ['models', `{ ${d.output.join(', ')} }`],
        ['metadata', d.input ?? looseMetadata ?? 'z.object({})'],
        ['exec', asArrow(main)],
        ['onWebhook', webhook ? asArrow(webhook) : undefined],
      ],
      indent,
    );
  } else if (script.kind === 'action') {
    const d = script.def;
    const output = d.output?.length === 1 ? d.output[0] : undefined;
    definition = props(
      [
        ['description', str(d.description ?? '')],
        ['version', str(d.version ?? '0.0.1')],
        ['endpoint', d.endpoint ? endpointSource(d.endpoint) : undefined],
        ['input', d.input ?? 'z.void()'],
        ['output', output ?? 'z.void()'],
        ['scopes', list(d.scopes)],
        ['metadata', looseMetadata],
        ['exec', asArrow(main)],
      ],
      indent,
    );
  } else {
    definition = props([['event', str(script.event)], ['description', str(`${script.event} event handler`)], ['metadata', looseMetadata], ['exec', asArrow(main)]], indent);
  }
  const declaration = `const ${variable} = ${fn}({\n${definition}\n});\nexport type ${localType} = Parameters<(typeof ${variable})['exec']>[0];\nexport default ${variable};`;
  edits.push({ start: main.getFullStart(), end: main.getEnd(), text: `\n\n${leadingComments(main, sf)}${declaration}` });
  if (webhook) edits.push({ start: webhook.getFullStart(), end: webhook.getEnd(), text: '' });
  // Names used by the script itself keep working: types elsewhere in the file are renamed too.
  for (const statement of sf.statements) if (statement !== main && statement !== webhook) rename(statement);
  let out = tidy(applyEdits(source, [...imports, ...edits]));
  if (/\bz\./.test(out) && !/from 'zod'/.test(out)) out = addImport(out, "import { z } from 'zod';");
  return out;
}

function leadingComments(node: ts.Node, sf: ts.SourceFile): string {
  const ranges = ts.getLeadingCommentRanges(sf.text, node.getFullStart()) ?? [];
  return ranges.map((r) => `${sf.text.slice(r.pos, r.end)}\n`).join('');
}

/** Adds an import line after the file's first one (which `rewriteImports` made the 'nango' import). */
function addImport(source: string, line: string): string {
  const eol = source.indexOf('\n');
  return eol < 0 ? `${source}\n${line}\n` : `${source.slice(0, eol + 1)}${line}\n${source.slice(eol + 1)}`;
}
