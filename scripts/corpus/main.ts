/**
 * `npm run corpus -- <template repository> [--commit <sha>] [--keep] [providers...]`
 *
 * Compiles a corpus of integration scripts nobody here wrote (Nango's template repository) the
 * way a user would: each provider folder laid out as a `nango-integrations/` project, then
 * `generate` and `compile` through the CLI's own code. Prints one line per failing script with its
 * first error, then `N/M providers, K/L scripts`. The repository may be a checkout (read as it is on
 * disk) or a git directory (read at `--commit`, default HEAD; blobs absent from a partial clone are
 * skipped). A development tool: nothing in CI needs the corpus.
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { NangoYamlError } from '../../src/config/nango-yaml';
import { compileEach, loadProject, readZeroYamlProject, type Project } from '../../src/cli/scripts';
import { indexEntries } from '../../src/config/zero-yaml';
import { declaredScripts, firstLine, INTEGRATIONS, layOut, layOutZeroYaml, providerFolders, report, SKIPPED_FOLDERS, type ProviderFolder, type ScriptOutcome, type Tree, type TreeEntry } from './layout';

interface Options {
  repo: string;
  commit?: string;
  keep: boolean;
  only: string[];
}

function parseArgs(argv: string[]): Options {
  const options: Options = { repo: '', keep: false, only: [] };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === '--commit') options.commit = argv[++i];
    else if (arg === '--keep') options.keep = true;
    else if (!options.repo) options.repo = arg;
    else options.only.push(arg);
  }
  if (!options.repo) {
    process.stderr.write('usage: npm run corpus -- <template repository checkout or git dir> [--commit <sha>] [--keep] [providers...]\n');
    process.exit(2);
  }
  return options;
}

const skipped = (file: string) => file.split('/').slice(2, -1).some((part) => SKIPPED_FOLDERS.has(part));

function git(repo: string, args: string[], input?: string): string {
  const result = spawnSync('git', ['-C', repo, ...args], { input, maxBuffer: 1 << 30, encoding: 'utf8' });
  if (result.status !== 0) throw new Error(`git ${args.join(' ')}: ${result.stderr.trim()}`);
  return result.stdout;
}

/** The `integrations/` part of the repository at `commit`, read from git objects. */
function treeFromGit(repo: string, commit: string): Tree {
  const listing = git(repo, ['ls-tree', '-r', '-z', commit, '--', INTEGRATIONS])
    .split('\0')
    .filter(Boolean)
    .map((line) => {
      const [meta, file] = line.split('\t') as [string, string];
      const [mode, , sha] = meta.split(' ') as [string, string, string];
      return { mode, sha, file };
    })
    .filter((e) => !skipped(e.file));
  // One `cat-file --batch` for every blob; a blob the clone lacks answers "<sha> missing".
  const raw = spawnSync('git', ['-C', repo, 'cat-file', '--batch'], { input: listing.map((e) => e.sha).join('\n') + '\n', maxBuffer: 1 << 30 });
  const out = raw.stdout;
  const tree = new Map<string, TreeEntry>();
  let at = 0;
  for (const entry of listing) {
    const eol = out.indexOf(0x0a, at);
    const header = out.subarray(at, eol).toString();
    at = eol + 1;
    if (header.endsWith(' missing')) continue;
    const size = Number(header.split(' ')[2]);
    const text = out.subarray(at, at + size).toString('utf8');
    at += size + 1;
    tree.set(entry.file, entry.mode === '120000' ? { kind: 'link', target: text } : { kind: 'file', text });
  }
  return tree;
}

/** The `integrations/` part of a checkout, as it is on disk. */
function treeFromDisk(repo: string): Tree {
  const tree = new Map<string, TreeEntry>();
  const walk = (rel: string) => {
    for (const dirent of fs.readdirSync(path.join(repo, rel), { withFileTypes: true })) {
      const file = `${rel}/${dirent.name}`;
      if (dirent.isSymbolicLink()) tree.set(file, { kind: 'link', target: fs.readlinkSync(path.join(repo, file)) });
      else if (dirent.isDirectory()) {
        if (!SKIPPED_FOLDERS.has(dirent.name)) walk(file);
      } else tree.set(file, { kind: 'file', text: fs.readFileSync(path.join(repo, file), 'utf8') });
    }
  };
  walk(INTEGRATIONS);
  return tree;
}

function readTree(options: Options): Tree {
  const isGit = spawnSync('git', ['-C', options.repo, 'rev-parse', '--git-dir']).status === 0;
  const hasWorkTree = fs.existsSync(path.join(options.repo, INTEGRATIONS));
  if (options.commit || (isGit && !hasWorkTree)) return treeFromGit(options.repo, options.commit ?? 'HEAD');
  return treeFromDisk(options.repo);
}

/** `integration/name` of a script file (`github/syncs/issues.ts`). */
const scriptKey = (file: string) => `${file.split('/')[0]}/${file.split('/').at(-1)!.replace(/\.ts$/, '')}`;

/**
 * Lays one provider out in `workDir` and compiles it; one outcome per script its nango.yaml
 * declares, or (scripts that declare themselves) its index.ts imports.
 */
async function compileProvider(tree: Tree, folder: ProviderFolder, workDir: string): Promise<ScriptOutcome[]> {
  const provider = folder.name;
  const dir = path.join(workDir, provider, 'nango-integrations');
  fs.rmSync(path.join(workDir, provider), { recursive: true, force: true });
  const files = folder.format === 'yaml' ? layOut(tree, provider) : layOutZeroYaml(tree, provider);
  for (const [file, text] of files) {
    fs.mkdirSync(path.dirname(path.join(dir, file)), { recursive: true });
    fs.writeFileSync(path.join(dir, file), text);
  }
  const declared = folder.format === 'yaml' ? declaredScripts(files.get('nango.yaml') ?? '') : indexEntries(files.get('index.ts') ?? '').map(scriptKey);
  const allFail = (error: string) => declared.map((script) => ({ provider, script, error }));
  let project: Project;
  const outcomes: ScriptOutcome[] = [];
  try {
    process.chdir(dir); // errors name files relative to the project, as the CLI run in it would
    if (folder.format === 'yaml') project = await loadProject(dir);
    else {
      const read = await readZeroYamlProject(dir);
      project = read.project;
      outcomes.push(...read.failed.map((f) => ({ provider, script: scriptKey(f.entry), error: firstLine(f.error) })));
    }
  } catch (err) {
    if (err instanceof NangoYamlError) return allFail(`nango.yaml: ${firstLine(err.message)}`);
    return allFail(firstLine(err instanceof Error ? err.message : String(err)));
  }
  try {
    const { compiled, failed } = await compileEach(project);
    const key = (d: { integration: string; name: string }) => `${d.integration}/${d.name}`;
    return [
      ...outcomes,
      ...compiled.map((c) => ({ provider, script: key(c.definition) })),
      ...failed.map((f) => ({ provider, script: key(f.definition), error: firstLine(f.error.message) })),
    ].sort((a, b) => a.script.localeCompare(b.script));
  } catch (err) {
    return allFail(firstLine(err instanceof Error ? err.message : String(err)));
  }
}

async function main(): Promise<void> {
  const options = parseArgs(process.argv.slice(2));
  const tree = readTree(options);
  const folders = providerFolders(tree).filter((p) => !p.aliasOf);
  const chosen = options.only.length ? folders.filter((p) => options.only.includes(p.name)) : folders;
  const providers = chosen.map((p) => p.name);
  const unknown = options.only.filter((name) => !folders.some((p) => p.name === name));
  if (unknown.length) process.stderr.write(`not a provider folder: ${unknown.join(', ')}\n`);
  const workDir = fs.mkdtempSync(path.join(os.tmpdir(), 'syncline-corpus-'));
  const outcomes: ScriptOutcome[] = [];
  const cwd = process.cwd();
  try {
    for (const folder of chosen) {
      const provider = folder.name;
      const results = await compileProvider(tree, folder, workDir);
      outcomes.push(...results);
      for (const line of report(results, [provider]).slice(0, -1)) process.stdout.write(`${line}\n`);
      process.stderr.write(`${provider}: ${results.filter((r) => !r.error).length}/${results.length}\n`);
    }
  } finally {
    process.chdir(cwd);
    if (options.keep) process.stderr.write(`projects kept in ${workDir}\n`);
    else fs.rmSync(workDir, { recursive: true, force: true });
  }
  process.stdout.write(`${report(outcomes, providers).at(-1)}\n`);
}

main().catch((err: unknown) => {
  process.stderr.write(`corpus: ${err instanceof Error ? err.stack : String(err)}\n`);
  process.exit(1);
});
