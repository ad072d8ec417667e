import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { generateModelsTs } from '../../src/config/generate-models';
import { parseNangoYaml } from '../../src/config/nango-yaml';
import { compileScript, compileScripts, HELPER_DECLARATIONS, ScriptCompileError } from '../../src/runtime';

const FIXTURE = path.join(__dirname, '../fixtures/nango-integrations');

const MODELS = generateModelsTs(
  parseNangoYaml(`
integrations:
  demo:
    syncs:
      items:
        runs: every hour
        output: Item
        endpoint: GET /items
models:
  Item:
    id: string
    name: string
`),
  HELPER_DECLARATIONS,
);

let dirs: string[] = [];
afterAll(() => dirs.forEach((d) => fs.rmSync(d, { recursive: true, force: true })));

/** A throwaway integrations folder (inside a parent folder, to test imports that leave it). */
function project(files: Record<string, string>): string {
  const parent = fs.mkdtempSync(path.join(os.tmpdir(), 'syncline-compile-'));
  dirs.push(parent);
  const root = path.join(parent, 'nango-integrations');
  for (const [name, text] of Object.entries({ 'models.ts': MODELS, ...files })) {
    fs.mkdirSync(path.dirname(path.join(root, name)), { recursive: true });
    fs.writeFileSync(path.join(root, name), text);
  }
  fs.writeFileSync(path.join(parent, 'outside.ts'), 'export const secret = 1;\n');
  return root;
}

const SYNC = `import type { Item, NangoSync } from '../../models';

export default async function fetchData(nango: NangoSync) {
  const items: Item[] = [{ id: '1', name: 'one' }];
  await nango.batchSave(items, 'Item');
}
`;

async function compileError(files: Record<string, string>, entry = 'demo/syncs/items.ts'): Promise<ScriptCompileError> {
  const root = project(files);
  const error = await compileScript({ root }, entry).then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(ScriptCompileError);
  return error as ScriptCompileError;
}

describe('the seeds', () => {
  test('the fixture folder compiles: sync, action, and a sync importing a relative file', async () => {
    const { scripts, errors } = await compileScripts({ root: FIXTURE }, ['github/syncs/issues.ts', 'github/actions/create-issue.ts', 'github/syncs/issues-mapped.ts']);
    expect(errors).toEqual([]);
    expect(scripts.map((s) => s.entry)).toEqual(['github/syncs/issues.ts', 'github/actions/create-issue.ts', 'github/syncs/issues-mapped.ts']);
    expect(scripts[2]!.inputs.sort()).toEqual(['github/mappers/issue-mapper.ts', 'github/syncs/issues-mapped.ts']);
    expect(scripts[0]!.code).toContain('module.exports');
  });
});

describe('imports', () => {
  test('zod, crypto, node:crypto, url and node:url stay external', async () => {
    const root = project({
      'demo/syncs/items.ts': `import { z } from 'zod';
import crypto from 'crypto';
import { createHash } from 'node:crypto';
import { URL as U } from 'url';
import * as nodeUrl from 'node:url';
import type { NangoSync } from '../../models';
export default async function fetchData(nango: NangoSync) {
  const id = z.string().parse(crypto.randomUUID() + createHash('md5').update('x').digest('hex'));
  await nango.log(new U('https://x.test').href, nodeUrl.parse('https://y.test').host, id);
}
`,
    });
    const { code } = await compileScript({ root }, 'demo/syncs/items.ts');
    for (const name of ['zod', 'crypto', 'node:crypto', 'url', 'node:url']) expect(code).toContain(`require("${name}")`);
  });

  test.each([
    ['a package', `import axios from 'axios';`, 'axios'],
    ['a Node built-in', `import fs from 'fs';`, 'fs'],
    ['a node: built-in', `import { execSync } from 'node:child_process';`, 'node:child_process'],
    ['a require call', `const net = require('net');`, 'net'],
  ])('importing %s is an error naming the import and the file', async (_what, line, name) => {
    const error = await compileError({ 'demo/syncs/items.ts': `// header\n${line}\n${SYNC}` });
    expect(error.file).toBe('demo/syncs/items.ts');
    expect(error.line).toBe(2);
    expect(error.message).toContain(`Import "${name}" is not allowed`);
    expect(error.message).toMatch(/^demo\/syncs\/items\.ts:2:\d+ /);
  });

  test('a relative import leaving the integrations folder is an error', async () => {
    const error = await compileError({ 'demo/syncs/items.ts': `import { secret } from '../../../outside';\n${SYNC}\nvoid secret;` });
    expect(error.file).toBe('demo/syncs/items.ts');
    expect(error.message).toContain('Import "../../../outside" points outside the integrations folder');
  });

  test('a relative import of a missing file is an error', async () => {
    const error = await compileError({ 'demo/syncs/items.ts': `import { map } from '../helpers/missing';\n${SYNC}\nvoid map;` });
    expect(error.line).toBe(1);
    expect(error.message).toContain('../helpers/missing');
  });

  test('a forbidden import inside an imported file fails the entry, naming both files', async () => {
    const error = await compileError({
      'demo/helpers/util.ts': `import fs from 'fs';\nexport const read = () => fs;\n`,
      'demo/syncs/items.ts': `import { read } from '../helpers/util';\n${SYNC}\nvoid read;`,
    });
    expect(error.file).toBe('demo/helpers/util.ts');
    expect(error.entry).toBe('demo/syncs/items.ts');
    expect(error.message).toContain('demo/helpers/util.ts:1:');
    expect(error.message).toContain('(imported by demo/syncs/items.ts)');
  });
});

describe('syntax and type errors', () => {
  test('a syntax error names the file and line', async () => {
    const error = await compileError({ 'demo/syncs/items.ts': `${SYNC}\nconst broken = ;\n` });
    expect(error.file).toBe('demo/syncs/items.ts');
    expect(error.line).toBe(8);
  });

  test('a syntax error in an imported file fails the entry, naming both', async () => {
    const error = await compileError({
      'demo/helpers/util.ts': `export const ok = 1;\nexport const bad = {;\n`,
      'demo/syncs/items.ts': `import { ok } from '../helpers/util';\n${SYNC}\nvoid ok;`,
    });
    expect(error.file).toBe('demo/helpers/util.ts');
    expect(error.line).toBe(2);
    expect(error.message).toContain('(imported by demo/syncs/items.ts)');
  });

  test('a type error names file:line and the compiler message', async () => {
    const error = await compileError({
      'demo/syncs/items.ts': `import type { Item, NangoSync } from '../../models';

export default async function fetchData(nango: NangoSync) {
  const items: Item[] = [{ id: 1, name: 'one' }];
  await nango.batchSave(items, 'Item');
}
`,
    });
    expect(error.file).toBe('demo/syncs/items.ts');
    expect(error.line).toBe(4);
    expect(error.message).toContain("Type 'number' is not assignable to type 'string'");
  });

  test('a type error in an imported file fails the entry, naming both', async () => {
    const error = await compileError({
      'demo/helpers/util.ts': `export function double(n: number): number {\n  return n + 'x';\n}\n`,
      'demo/syncs/items.ts': `import { double } from '../helpers/util';\n${SYNC}\nvoid double;`,
    });
    expect(error.file).toBe('demo/helpers/util.ts');
    expect(error.line).toBe(2);
    expect(error.entry).toBe('demo/syncs/items.ts');
    expect(error.message).toContain('(imported by demo/syncs/items.ts)');
  });

  test('host APIs the sandbox does not provide fail the type-check', async () => {
    const error = await compileError({ 'demo/syncs/items.ts': `${SYNC}\nexport const env = process.env.SECRET;\n` });
    expect(error.line).toBe(8);
    expect(error.message).toContain("Cannot find name 'process'");
  });

  test('a helper method used wrongly fails the type-check', async () => {
    const error = await compileError({
      'demo/syncs/items.ts': `import type { NangoSync } from '../../models';\nexport default async function fetchData(nango: NangoSync) {\n  await nango.get({ endpoint: 1 });\n}\n`,
    });
    expect(error.line).toBe(3);
  });

  test('a script without a default export is an error', async () => {
    const error = await compileError({ 'demo/syncs/items.ts': `export async function fetchData() {}\n` });
    expect(error.message).toContain('needs a default export');
  });

  test('a missing entry is an error', async () => {
    const error = await compileError({}, 'demo/syncs/nope.ts');
    expect(error.message).toContain('does not exist');
  });

  test('one broken entry does not stop the others', async () => {
    const root = project({ 'demo/syncs/items.ts': SYNC, 'demo/syncs/broken.ts': 'export default async function () { return undefinedThing; }\n' });
    const { scripts, errors } = await compileScripts({ root }, ['demo/syncs/items.ts', 'demo/syncs/broken.ts']);
    expect(scripts.map((s) => s.entry)).toEqual(['demo/syncs/items.ts']);
    expect(errors).toHaveLength(1);
    expect(errors[0]!.issues[0]).toMatchObject({ file: 'demo/syncs/broken.ts', line: 1, entry: 'demo/syncs/broken.ts' });
  });

  test('models.ts can be given as text instead of read from the folder', async () => {
    const root = project({ 'demo/syncs/items.ts': SYNC });
    fs.rmSync(path.join(root, 'models.ts'));
    await expect(compileScript({ root, modelsTs: MODELS }, 'demo/syncs/items.ts')).resolves.toMatchObject({ entry: 'demo/syncs/items.ts' });
  });
});
