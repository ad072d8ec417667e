/**
 * The pure half of `npm run corpus`: which provider folders a template repository holds, how one
 * is laid out as a `nango-integrations/` project (as that repository's own
 * `scripts/integration-command.bash` does for `nango compile`), and the report.
 *
 * A tree is a map from `/`-separated paths (relative to the repository root) to entries: a file's
 * text, or a symbolic link's target.
 */
import { parseDocument } from 'yaml';

export type TreeEntry = { kind: 'file'; text: string } | { kind: 'link'; target: string };
export type Tree = ReadonlyMap<string, TreeEntry>;

/** Where provider folders live in the template repository. */
export const INTEGRATIONS = 'integrations';

/** Folders of a provider that scripts never import: recorded API responses and tests. */
export const SKIPPED_FOLDERS: ReadonlySet<string> = new Set(['mocks', 'tests']);

export interface ProviderFolder {
  name: string;
  /** For a folder whose nango.yaml is a link to another provider's: that provider (an alias). */
  aliasOf?: string;
  /** The project format: a `nango.yaml`, or scripts that declare themselves (`createSync`, ...). */
  format: 'yaml' | 'zero-yaml';
}

/** The provider folders under `integrations/`, aliases marked, sorted by name. */
export function providerFolders(tree: Tree): ProviderFolder[] {
  const names = new Set<string>();
  for (const file of tree.keys()) {
    const parts = file.split('/');
    // Dot folders (`.nango/`, generated) are not providers.
    if (parts[0] === INTEGRATIONS && parts.length >= 3 && !parts[1]!.startsWith('.')) names.add(parts[1]!);
  }
  return [...names].sort().map((name) => {
    const yaml = tree.get(`${INTEGRATIONS}/${name}/nango.yaml`);
    if (!yaml) return { name, format: 'zero-yaml' as const };
    const target = yaml.kind === 'link' ? resolveLink(`${INTEGRATIONS}/${name}/nango.yaml`, yaml.target) : undefined;
    const aliasOf = target?.split('/')[1];
    return { name, format: 'yaml' as const, ...(aliasOf && aliasOf !== name ? { aliasOf } : {}) };
  });
}

/** `target` of a link at `at`, as a repository path (`..` resolved). */
export function resolveLink(at: string, target: string): string {
  const parts = at.split('/').slice(0, -1);
  for (const part of target.split('/')) {
    if (part === '..') parts.pop();
    else if (part !== '.' && part !== '') parts.push(part);
  }
  return parts.join('/');
}

/** The files under `prefix/` (links to folders followed), keyed by their path below `prefix`. */
export function filesUnder(tree: Tree, prefix: string, depth = 0): Map<string, string> {
  const out = new Map<string, string>();
  if (depth > 8) return out;
  for (const [file, entry] of tree) {
    if (!file.startsWith(`${prefix}/`)) continue;
    const rest = file.slice(prefix.length + 1);
    if (SKIPPED_FOLDERS.has(rest.split('/')[0]!)) continue;
    if (entry.kind === 'file') {
      out.set(rest, entry.text);
      continue;
    }
    const target = resolveLink(file, entry.target);
    const asFile = tree.get(target);
    if (asFile?.kind === 'file') out.set(rest, asFile.text);
    else for (const [inner, text] of filesUnder(tree, target, depth + 1)) out.set(`${rest}/${inner}`, text);
  }
  return out;
}

/**
 * The files of a `nango-integrations/` project for one provider folder, relative to that project:
 * the folder's `nango.yaml` at the top with `${PWD}` replaced by the provider's name, the folder
 * itself beside it (without its tests and mocks).
 */
export function layOut(tree: Tree, provider: string): Map<string, string> {
  const project = new Map<string, string>();
  for (const [file, text] of filesUnder(tree, `${INTEGRATIONS}/${provider}`)) {
    if (file === 'nango.yaml') project.set('nango.yaml', text.replaceAll('${PWD}', provider));
    else project.set(`${provider}/${file}`, text);
  }
  return project;
}

/**
 * The files of a `nango-integrations/` project for one provider folder whose scripts declare
 * themselves, as the repository's own `nango compile` sees them: the folder itself, the lines of
 * the top `index.ts` that import its scripts, and the top `package.json` (its zod version).
 */
export function layOutZeroYaml(tree: Tree, provider: string): Map<string, string> {
  const project = new Map<string, string>();
  for (const [file, text] of filesUnder(tree, `${INTEGRATIONS}/${provider}`)) project.set(`${provider}/${file}`, text);
  const index = tree.get(`${INTEGRATIONS}/index.ts`);
  const own = (index?.kind === 'file' ? index.text : '').split('\n').filter((line) => new RegExp(`^\\s*import\\s+['"]\\./${escapeRegExp(provider)}/`).test(line));
  project.set('index.ts', own.length ? `${own.join('\n')}\n` : defaultIndex(project, provider));
  const manifest = tree.get(`${INTEGRATIONS}/package.json`);
  if (manifest?.kind === 'file') project.set('package.json', manifest.text);
  return project;
}

/** Without a top index.ts: every script under the folder's syncs/, actions/ and on-events/. */
function defaultIndex(project: Map<string, string>, provider: string): string {
  const scripts = [...project.keys()].filter((f) => /^[^/]+\/(syncs|actions|on-events)\/[^/]+\.ts$/.test(f) && f.startsWith(`${provider}/`));
  return scripts.map((f) => `import './${f.replace(/\.ts$/, '.js')}';\n`).join('');
}

const escapeRegExp = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/**
 * The names of the syncs and actions a nango.yaml declares (`integration/name`), read leniently:
 * a file Syncline refuses still counts its scripts as failing ones.
 */
export function declaredScripts(yamlText: string): string[] {
  const root = parseDocument(yamlText).toJS() as unknown;
  const integrations = isRecord(root) && isRecord(root.integrations) ? root.integrations : {};
  const names: string[] = [];
  for (const [integration, body] of Object.entries(integrations)) {
    if (!isRecord(body)) continue;
    for (const kind of ['syncs', 'actions']) {
      const scripts = body[kind];
      if (isRecord(scripts)) for (const name of Object.keys(scripts)) names.push(`${integration}/${name}`);
    }
  }
  return names;
}

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

export interface ScriptOutcome {
  provider: string;
  /** `integration/name`. */
  script: string;
  /** The first error, on one line; absent when the script compiled. */
  error?: string;
}

/** One line per failing script, then the totals over providers and scripts. */
export function report(outcomes: ScriptOutcome[], providers: string[]): string[] {
  const failed = outcomes.filter((o) => o.error !== undefined);
  const failedProviders = new Set(failed.map((o) => o.provider));
  const lines = failed.map((o) => `FAIL ${o.provider} ${o.script}: ${o.error}`);
  const okProviders = providers.filter((p) => !failedProviders.has(p)).length;
  lines.push(`${okProviders}/${providers.length} providers, ${outcomes.length - failed.length}/${outcomes.length} scripts`);
  return lines;
}

/** An error message cut to its first line and at most `max` characters, for a one-line report. */
export function firstLine(message: string, max = 300): string {
  const line = message.split('\n')[0]!.trim();
  return line.length > max ? `${line.slice(0, max - 1)}…` : line;
}
