import fs from 'node:fs';
import path from 'node:path';
import * as esbuild from 'esbuild';
import ts from 'typescript';
import { HELPER_DECLARATIONS, nangoModuleDeclarations, SANDBOX_GLOBALS } from './declarations';

/**
 * Packages a script may import; the sandbox provides them. `zod` is the project's zod major
 * (`CompileOptions.zod`); `zod/v3` and `zod/v4` name a major explicitly. `nango` is the module of
 * scripts that declare themselves (`createSync`, `createAction`, `createOnEvent`).
 */
export const ALLOWED_IMPORTS: ReadonlySet<string> = new Set(['zod', 'zod/v3', 'zod/v4', 'crypto', 'node:crypto', 'url', 'node:url', 'nango']);

/**
 * Packages Nango lets scripts import that Syncline refuses, with why and what to use instead. The
 * sandbox has no network or filesystem of its own: HTTP goes through the helper (`nango.proxy`),
 * which injects credentials and refuses private addresses; these packages open their own.
 */
const REFUSED_IMPORTS: ReadonlyMap<string, string> = new Map([
  [
    'soap',
    'a SOAP client opens its own connections, and scripts reach the network only through nango.proxy (credentials injected, private addresses refused). Build the SOAP envelope as text and send it with nango.post({ endpoint, data: envelope, headers: { "Content-Type": "text/xml" } }), then read the XML response text',
  ],
  [
    'botbuilder',
    "the Bot Framework SDK opens its own connections to Microsoft's services, and scripts reach the network only through nango.proxy (credentials injected, private addresses refused). Call the Bot Connector REST API with nango.post / nango.get instead",
  ],
  [
    'nango/experimental',
    `it holds createFunction, which Nango marks experimental (not production ready, its API may change or be removed): declare the script with createSync, createAction or createOnEvent from 'nango'`,
  ],
  [
    'unzipper',
    'it reads archives through files and streams, and the sandbox has no filesystem or streams. Ask the API for an uncompressed format; gzip- and deflate-encoded responses are decompressed by nango.get/nango.proxy (decompress: true)',
  ],
]);

/** Why a package import is refused, as the compile error says it. */
function refusedImport(spec: string): string {
  const name = spec.startsWith('@') ? spec.split('/').slice(0, 2).join('/') : spec.split('/')[0]!;
  const reason = REFUSED_IMPORTS.get(spec) ?? REFUSED_IMPORTS.get(name);
  if (reason) return `Import "${spec}" is not available in Syncline: ${reason}`;
  const allowed = [...ALLOWED_IMPORTS].filter((m) => !m.startsWith('node:')).join(', ');
  return `Import "${spec}" is not allowed: scripts may import files of the integrations folder and these modules: ${allowed} (also as node:crypto, node:url). A type-only import (import type) of an installed package is fine: it leaves nothing in the bundle`;
}

/** The zod major a project is written for: `require('zod')` gives it at run time, `import 'zod'` types it. */
export type ZodMajor = 3 | 4;

/**
 * The zod major of the project at `root` (the `nango-integrations/` folder): the `zod` version in
 * the `dependencies` or `devDependencies` of its package.json, or of its parent folder's; without
 * one, zod 3 for a nango.yaml project (Nango's nango.yaml-era CLI shipped zod 3), zod 4 otherwise.
 */
export function projectZodMajor(root: string): ZodMajor {
  for (const dir of [root, path.dirname(root)]) {
    const major = declaredZodMajor(path.join(dir, 'package.json'));
    if (major) return major;
  }
  return fs.existsSync(path.join(root, 'nango.yaml')) ? 3 : 4;
}

function declaredZodMajor(file: string): ZodMajor | undefined {
  let manifest: { dependencies?: Record<string, unknown>; devDependencies?: Record<string, unknown> };
  try {
    manifest = JSON.parse(fs.readFileSync(file, 'utf8'));
  } catch {
    return undefined;
  }
  const range = manifest?.dependencies?.zod ?? manifest?.devDependencies?.zod;
  if (typeof range !== 'string') return undefined;
  // "3.24.2", "^3.22.4", "~4.0.0", ">=3.0.0 <4", "npm:zod@3.25.0": the first number is the major.
  const major = Number(/(\d+)\./.exec(range.replace(/^npm:zod@/, ''))?.[1] ?? /^\D*(\d+)/.exec(range)?.[1]);
  if (major === 3) return 3;
  if (major >= 4) return 4;
  return undefined;
}

export interface CompileIssue {
  /** Path relative to the integrations folder, `/`-separated. */
  file: string;
  line: number;
  column: number;
  message: string;
  /** The entry point this issue fails. */
  entry: string;
}

/**
 * A script that does not compile. `file`, `line` and `message` describe the first issue; `issues`
 * has them all. When the problem is in an imported file, `file` is that file and `entry` the
 * entry point it fails.
 *
 * @example
 * try { await compileScript({ root, entry: 'github/syncs/issues.ts' }) }
 * catch (e) { if (e instanceof ScriptCompileError) console.error(`${e.file}:${e.line} ${e.message}`) }
 */
export class ScriptCompileError extends Error {
  override name = 'ScriptCompileError';
  readonly file: string;
  readonly line: number;
  readonly column: number;
  readonly entry: string;

  constructor(readonly issues: CompileIssue[]) {
    super(issues.map(formatIssue).join('\n'));
    const first = issues[0]!;
    this.file = first.file;
    this.line = first.line;
    this.column = first.column;
    this.entry = first.entry;
  }
}

function formatIssue(issue: CompileIssue): string {
  const via = issue.file === issue.entry ? '' : ` (imported by ${issue.entry})`;
  return `${issue.file}:${issue.line}:${issue.column} ${issue.message}${via}`;
}

export interface CompiledScript {
  /** The entry, relative to the integrations folder. */
  entry: string;
  /** CommonJS bundle for `runScript`. */
  code: string;
  /** Source map of `code` (JSON), sources relative to the integrations folder: gives `runScript` the TypeScript lines of a stack. */
  sourceMap?: string;
  /** Every file of the integrations folder bundled into it, relative. */
  inputs: string[];
  /**
   * The zod major it was compiled for. The bundle carries it too: a zod 3 script's `import 'zod'`
   * becomes `require("zod/v3")`, which the sandbox answers with zod 3; `require("zod")` is zod 4.
   */
  zod: ZodMajor;
}

export interface CompileOptions {
  /** The `nango-integrations/` folder. */
  root: string;
  /** Text of `models.ts` (from `generateModelsTs`); by default `<root>/models.ts` is read. */
  modelsTs?: string;
  /** Run the TypeScript type-check (default true). */
  typecheck?: boolean;
  /** The zod major the scripts are written for (type-check and run time); default `projectZodMajor(root)`. */
  zod?: ZodMajor;
}

/**
 * Bundles and type-checks one script entry, throwing `ScriptCompileError` on any issue.
 *
 * @example
 * const { code } = await compileScript({ root: 'nango-integrations' }, 'github/syncs/issues.ts');
 */
export async function compileScript(options: CompileOptions, entry: string): Promise<CompiledScript> {
  const { scripts, errors } = await compileScripts(options, [entry]);
  if (errors.length) throw errors[0];
  return scripts[0]!;
}

/**
 * Bundles every entry with esbuild (relative imports inside the folder, allowed packages kept
 * external), then type-checks them all in one TypeScript program against `models.ts`. An entry with
 * any issue, in itself or in a file it imports, is in `errors`; the others are in `scripts`.
 */
export async function compileScripts(options: CompileOptions, entries: string[]): Promise<{ scripts: CompiledScript[]; errors: ScriptCompileError[] }> {
  const root = path.resolve(options.root);
  const modelsPath = path.join(root, 'models.ts');
  const modelsTs = options.modelsTs ?? (fs.existsSync(modelsPath) ? fs.readFileSync(modelsPath, 'utf8') : undefined);
  const zod = options.zod ?? projectZodMajor(root);
  const built = await Promise.all(entries.map((entry) => bundleEntry(root, relative(root, path.resolve(root, entry)), modelsPath, modelsTs, zod)));

  const issues = new Map<string, CompileIssue[]>(built.map((b) => [b.entry, b.issues]));
  if (options.typecheck !== false) {
    const checkable = built.filter((b) => b.issues.length === 0);
    for (const issue of typecheck(root, checkable, modelsPath, modelsTs, zod)) issues.get(issue.entry)!.push(issue);
  }
  const scripts: CompiledScript[] = [];
  const errors: ScriptCompileError[] = [];
  for (const b of built) {
    const found = issues.get(b.entry)!;
    if (found.length) errors.push(new ScriptCompileError(found));
    else scripts.push({ entry: b.entry, code: b.code, sourceMap: b.sourceMap, inputs: b.inputs, zod });
  }
  return { scripts, errors };
}

interface Bundled {
  entry: string;
  code: string;
  sourceMap?: string;
  inputs: string[];
  issues: CompileIssue[];
}

async function bundleEntry(root: string, entry: string, modelsPath: string, modelsTs: string | undefined, zod: ZodMajor): Promise<Bundled> {
  if (entry.startsWith('../') || path.isAbsolute(entry)) {
    return { entry, code: '', inputs: [], issues: [{ file: entry, line: 1, column: 1, message: 'The script is outside the integrations folder', entry }] };
  }
  if (!fs.existsSync(path.join(root, entry))) {
    return { entry, code: '', inputs: [], issues: [{ file: entry, line: 1, column: 1, message: 'The script file does not exist', entry }] };
  }
  const modelsBase = modelsPath.replace(/\.ts$/, '');
  const guard: esbuild.Plugin = {
    name: 'syncline-imports',
    setup(build) {
      build.onResolve({ filter: /.*/ }, (args) => {
        if (args.kind === 'entry-point') return undefined;
        const spec = args.path;
        // The major travels in the bundle, so a deployed script always runs with the zod it was checked against.
        if (spec === 'zod') return { path: zod === 3 ? 'zod/v3' : 'zod', external: true };
        if (ALLOWED_IMPORTS.has(spec)) return { path: spec, external: true };
        if (spec.startsWith('.') || path.isAbsolute(spec)) {
          const target = path.resolve(args.resolveDir, spec);
          if (!inside(root, target)) return { errors: [{ text: `Import "${spec}" points outside the integrations folder` }] };
          if (modelsTs !== undefined && target.replace(/\.(ts|js)$/, '') === modelsBase) return { path: modelsPath };
          return undefined;
        }
        return { errors: [{ text: refusedImport(spec) }] };
      });
      if (modelsTs !== undefined) {
        build.onLoad({ filter: /models\.ts$/ }, (args) => (args.path === modelsPath ? { contents: modelsTs, loader: 'ts' } : undefined));
      }
    },
  };
  try {
    const result = await esbuild.build({
      entryPoints: [path.join(root, entry)],
      absWorkingDir: root,
      bundle: true,
      write: false,
      format: 'cjs',
      platform: 'neutral',
      mainFields: ['main'],
      target: 'es2022',
      // Not written: names the outputs, so the map's sources are relative to the folder's root.
      outfile: path.join(root, 'bundle.js'),
      sourcemap: 'external',
      sourcesContent: false,
      metafile: true,
      logLevel: 'silent',
      // Keep imports whose bindings are unused, so every import passes the guard below.
      tsconfigRaw: { compilerOptions: { verbatimModuleSyntax: true } },
      plugins: [guard],
    });
    const output = (suffix: string) => result.outputFiles.find((f) => f.path.endsWith(suffix))!.text;
    return { entry, code: output('.js'), sourceMap: output('.js.map'), inputs: Object.keys(result.metafile.inputs).map(toPosix), issues: [] };
  } catch (err) {
    const failure = err as esbuild.BuildFailure;
    if (!Array.isArray(failure.errors)) throw err;
    const issues = failure.errors.map((e) => ({
      file: e.location ? toPosix(e.location.file) : entry,
      line: e.location?.line ?? 1,
      column: (e.location?.column ?? 0) + 1,
      message: e.text,
      entry,
    }));
    return { entry, code: '', inputs: [], issues };
  }
}

const GLOBALS_FILE = '__syncline_sandbox_globals__.d.ts';
/**
 * The `nango` module (type-check only) and the helper typings it re-exports. Nango's
 * `@nangohq/runner-sdk`, which scripts sometimes `import type` from, has the same typings.
 */
const NANGO_FILE = '__syncline_nango__.ts';
const HELPERS_FILE = '__syncline_helpers__.ts';
const NANGO_TEXT = nangoModuleDeclarations(`./${HELPERS_FILE.replace(/\.ts$/, '')}`);
const libCache = new Map<string, ts.SourceFile>();

/**
 * Nango's script compiler options (its CLI's `tsconfig.dev.json`: strict, `exactOptionalPropertyTypes`,
 * `noUncheckedIndexedAccess`, `noPropertyAccessFromIndexSignature`, no unused locals or parameters,
 * ...), so a script that compiles there compiles here and one it refuses may be refused here. The
 * library is ES2022 plus what the sandbox provides (`SANDBOX_GLOBALS`) rather than Nango's DOM and
 * Node typings: a global the sandbox lacks fails the type-check, not the run.
 */
function compilerOptions(root: string, zod: ZodMajor): ts.CompilerOptions {
  const zodDir = path.dirname(require.resolve('zod/package.json'));
  const v3 = path.join(zodDir, 'v3');
  const v4 = path.join(zodDir, 'v4');
  return {
    target: ts.ScriptTarget.ES2022,
    module: ts.ModuleKind.CommonJS,
    moduleResolution: ts.ModuleResolutionKind.Node10,
    lib: ['lib.es2022.d.ts'],
    types: [],
    strict: true,
    noEmit: true,
    esModuleInterop: true,
    skipLibCheck: true,
    forceConsistentCasingInFileNames: true,
    allowUnusedLabels: false,
    allowUnreachableCode: false,
    exactOptionalPropertyTypes: true,
    noFallthroughCasesInSwitch: true,
    noImplicitOverride: true,
    noImplicitReturns: true,
    noPropertyAccessFromIndexSignature: true,
    noUncheckedIndexedAccess: true,
    noUnusedLocals: true,
    noUnusedParameters: true,
    resolveJsonModule: false,
    allowJs: false,
    paths: { zod: [zod === 3 ? v3 : zodDir], 'zod/v3': [v3], 'zod/v4': [v4], nango: [path.join(root, NANGO_FILE)], '@nangohq/runner-sdk': [path.join(root, NANGO_FILE)] },
  };
}

function typecheck(root: string, bundles: Bundled[], modelsPath: string, modelsTs: string | undefined, zod: ZodMajor): CompileIssue[] {
  if (bundles.length === 0) return [];
  const options = compilerOptions(root, zod);
  const host = ts.createCompilerHost(options, true);
  const globalsPath = path.join(root, GLOBALS_FILE);
  const nangoPath = path.join(root, NANGO_FILE);
  const helpersPath = path.join(root, HELPERS_FILE);
  const readVirtual = (fileName: string): string | undefined => {
    if (fileName === globalsPath) return SANDBOX_GLOBALS;
    if (fileName === nangoPath) return NANGO_TEXT;
    if (fileName === helpersPath) return HELPER_DECLARATIONS;
    if (modelsTs !== undefined && path.resolve(fileName) === modelsPath) return modelsTs;
    return undefined;
  };
  const getSourceFile = host.getSourceFile;
  host.getSourceFile = (fileName, language, onError, shouldCreate) => {
    const virtual = readVirtual(fileName);
    if (virtual !== undefined) return ts.createSourceFile(fileName, virtual, language, true);
    const shared = !fileName.startsWith(root + path.sep);
    if (shared && libCache.has(fileName)) return libCache.get(fileName);
    const file = getSourceFile.call(host, fileName, language, onError, shouldCreate);
    if (shared && file) libCache.set(fileName, file);
    return file;
  };
  const fileExists = host.fileExists;
  host.fileExists = (fileName) => readVirtual(fileName) !== undefined || fileExists.call(host, fileName);
  const readFile = host.readFile;
  host.readFile = (fileName) => readVirtual(fileName) ?? readFile.call(host, fileName);

  const rootNames = [globalsPath, ...bundles.map((b) => path.join(root, b.entry))];
  const program = ts.createProgram({ rootNames, options, host });
  const issues: CompileIssue[] = [];
  const checker = program.getTypeChecker();
  for (const b of bundles) {
    const source = program.getSourceFile(path.join(root, b.entry));
    const symbol = source && checker.getSymbolAtLocation(source);
    if (source && !symbol?.exports?.has('default' as ts.__String)) {
      issues.push({ file: b.entry, line: 1, column: 1, message: 'The script needs a default export: fetchData(nango) for a sync, runAction(nango, input) for an action', entry: b.entry });
    }
  }
  for (const diagnostic of ts.getPreEmitDiagnostics(program)) {
    const message = ts.flattenDiagnosticMessageText(diagnostic.messageText, '\n');
    if (!diagnostic.file || diagnostic.start === undefined) {
      for (const b of bundles) issues.push({ file: b.entry, line: 1, column: 1, message, entry: b.entry });
      continue;
    }
    const file = relative(root, diagnostic.file.fileName);
    const { line, character } = diagnostic.file.getLineAndCharacterOfPosition(diagnostic.start);
    for (const b of bundles) {
      if (b.inputs.includes(file) || file === b.entry) issues.push({ file, line: line + 1, column: character + 1, message, entry: b.entry });
    }
  }
  return issues;
}

function inside(root: string, target: string): boolean {
  const rel = path.relative(root, target);
  return rel === '' || (!rel.startsWith('..') && !path.isAbsolute(rel));
}

function relative(root: string, file: string): string {
  return toPosix(path.relative(root, path.resolve(file)));
}

function toPosix(p: string): string {
  return p.split(path.sep).join('/');
}
