import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';
import ts from 'typescript';

/**
 * The layer order of design.md, on imports: each unit of src/ (a folder, or a module at its top)
 * may import only the units listed for it. Shared base modules at the top of src/ (errors, types,
 * logger, shapes) import no layer and every layer may import them.
 */
const BASE = ['errors', 'types', 'logger', 'shapes'];
const ALLOWED: Record<string, string[]> = {
  config: [],
  store: ['config'],
  metrics: ['store'],
  engine: ['config', 'store'],
  providers: ['config', 'store', 'metrics'],
  runtime: ['config', 'store', 'providers'],
  sdk: [],
  // Workflow code does no I/O: it names its activities' and handlers' types only (see TYPE_ONLY).
  workflows: ['activities', 'webhooks'],
  webhooks: ['config', 'store', 'providers', 'runtime', 'workflows'],
  activities: ['config', 'store', 'metrics', 'providers', 'runtime', 'webhooks', 'workflows'],
  worker: ['config', 'store', 'engine', 'runtime', 'sdk', 'webhooks', 'workflows', 'activities'],
  // The dashboard is served by the API and uses its authentication and validation.
  api: ['config', 'store', 'metrics', 'engine', 'providers', 'webhooks', 'worker', 'dashboard'],
  dashboard: ['store', 'worker', 'api'],
  cli: ['config', 'store', 'engine', 'providers', 'runtime', 'sdk', 'server'],
  // The composition root: it wires every layer below the CLI together.
  server: ['config', 'store', 'metrics', 'engine', 'providers', 'runtime', 'webhooks', 'activities', 'worker', 'api'],
  index: ['config', 'server', 'sdk'],
};
/** Edges allowed only as `import type`: workflow code is bundled apart and must not pull in I/O. */
const TYPE_ONLY = new Set(['workflows->activities', 'workflows->webhooks']);
/**
 * Known imports against the order, each with the reason it is left. The test fails when one is no
 * longer used, so this list only shrinks.
 */
const EXCEPTIONS: Record<string, string> = {
  // Workflow ids (and their shortening) belong with the orchestrator; the Temporal dispatcher of
  // outgoing webhooks starts workflows by the same ids.
  'webhooks/temporal.ts->worker/workflow-ids': 'workflow ids are shared with the orchestrator',
  'dashboard/index.ts->worker/workflow-ids': 'workflow ids are shared with the orchestrator',
};

const SRC = resolve(__dirname, '../src');

function sourceFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return name === 'assets' ? [] : sourceFiles(path);
    return name.endsWith('.ts') ? [path] : [];
  });
}

/** The layer a path inside src/ belongs to: its top folder, or its module name at the top. */
function unitOf(pathInSrc: string): string {
  const [first, ...rest] = pathInSrc.split(sep);
  return rest.length ? first! : first!.replace(/\.ts$/, '');
}

interface Import {
  specifier: string;
  typeOnly: boolean;
}

/** Every module a file names: import/export declarations, require(), import() and import types. */
function importsOf(file: string): Import[] {
  const source = ts.createSourceFile(file, readFileSync(file, 'utf8'), ts.ScriptTarget.Latest, true);
  const found: Import[] = [];
  const visit = (node: ts.Node): void => {
    if ((ts.isImportDeclaration(node) || ts.isExportDeclaration(node)) && node.moduleSpecifier && ts.isStringLiteral(node.moduleSpecifier)) {
      const clause = ts.isImportDeclaration(node) ? node.importClause : node;
      const typeOnly = ts.isImportDeclaration(node)
        ? Boolean(clause?.isTypeOnly) || namedOnlyTypes(node.importClause?.namedBindings)
        : node.isTypeOnly;
      found.push({ specifier: node.moduleSpecifier.text, typeOnly });
    } else if (ts.isCallExpression(node) && node.arguments.length === 1 && ts.isStringLiteral(node.arguments[0]!)) {
      const isRequire = ts.isIdentifier(node.expression) && node.expression.text === 'require';
      if (isRequire || node.expression.kind === ts.SyntaxKind.ImportKeyword) found.push({ specifier: node.arguments[0].text, typeOnly: false });
    } else if (ts.isImportTypeNode(node) && ts.isLiteralTypeNode(node.argument) && ts.isStringLiteral(node.argument.literal)) {
      found.push({ specifier: node.argument.literal.text, typeOnly: true });
    }
    ts.forEachChild(node, visit);
  };
  visit(source);
  return found;
}

function namedOnlyTypes(bindings: ts.NamedImportBindings | undefined): boolean {
  return Boolean(bindings && ts.isNamedImports(bindings) && bindings.elements.length > 0 && bindings.elements.every((e) => e.isTypeOnly));
}

/** Imports of one src/ unit into another, as `from->to` pairs of paths inside src/. */
function crossLayerImports(): Array<{ from: string; to: string; edge: string; typeOnly: boolean }> {
  return sourceFiles(SRC).flatMap((file) => {
    const from = relative(SRC, file);
    return importsOf(file)
      .filter((i) => i.specifier.startsWith('.'))
      .map((i) => ({ to: relative(SRC, resolve(dirname(file), i.specifier)), typeOnly: i.typeOnly }))
      .filter(({ to }) => !to.startsWith('..') && unitOf(to) !== unitOf(from))
      .map(({ to, typeOnly }) => ({ from, to, edge: `${unitOf(from)}->${unitOf(to)}`, typeOnly }));
  });
}

describe('layers', () => {
  const imports = crossLayerImports();

  it('finds the imports it checks', () => {
    expect(imports.some((i) => i.edge === 'runtime->store')).toBe(true);
    expect(imports.some((i) => i.edge === 'workflows->activities' && i.typeOnly)).toBe(true);
  });

  it('every unit of src/ has its place in the order', () => {
    const units = new Set(sourceFiles(SRC).map((f) => unitOf(relative(SRC, f))));
    const placed = new Set([...BASE, ...Object.keys(ALLOWED)]);
    expect([...units].filter((u) => !placed.has(u))).toEqual([]);
  });

  it('each unit imports only the layers below it', () => {
    const wrong = imports
      .filter(({ from, to, edge, typeOnly }) => {
        const [source, target] = edge.split('->') as [string, string];
        if (BASE.includes(target)) return false;
        if (EXCEPTIONS[`${from}->${to}`]) return false;
        if (!ALLOWED[source]?.includes(target)) return true;
        return TYPE_ONLY.has(edge) && !typeOnly;
      })
      .map(({ from, to, typeOnly }) => `${from} -> ${to}${typeOnly ? ' (type)' : ''}`);
    expect(wrong).toEqual([]);
  });

  it('each listed exception is still needed', () => {
    const used = new Set(imports.map(({ from, to }) => `${from}->${to}`));
    expect(Object.keys(EXCEPTIONS).filter((e) => !used.has(e))).toEqual([]);
  });
});
