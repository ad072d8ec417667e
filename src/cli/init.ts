import fs from 'node:fs';
import path from 'node:path';
import { CliError } from './project';
import { CREATE_ISSUE_ACTION, ENV_FILE, GITIGNORE, ISSUES_SYNC, NANGO_YAML } from './templates';

/** Scaffolds an integrations folder with a working example; refuses to overwrite an existing one. */
export function init(dir: string): string[] {
  if (fs.existsSync(path.join(dir, 'nango.yaml'))) throw new CliError(`${dir} already has a nango.yaml; nothing was changed`);
  const files: Record<string, string> = {
    'nango.yaml': NANGO_YAML,
    'github/syncs/issues.ts': ISSUES_SYNC,
    'github/actions/create-issue.ts': CREATE_ISSUE_ACTION,
    '.env': ENV_FILE,
    '.gitignore': GITIGNORE,
  };
  const written: string[] = [];
  for (const [name, text] of Object.entries(files)) {
    const file = path.join(dir, name);
    if (fs.existsSync(file)) continue;
    fs.mkdirSync(path.dirname(file), { recursive: true });
    fs.writeFileSync(file, text);
    written.push(file);
  }
  return written;
}
