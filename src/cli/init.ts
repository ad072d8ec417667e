import fs from 'node:fs';
import path from 'node:path';
import { CliError } from './project';
import {
  CREATE_ISSUE_ACTION,
  ENV_FILE,
  GITIGNORE,
  ISSUES_SYNC,
  NANGO_YAML,
  ZERO_YAML_CREATE_ISSUE_ACTION,
  ZERO_YAML_INDEX,
  ZERO_YAML_ISSUES_SYNC,
  ZERO_YAML_PACKAGE_JSON,
} from './templates';

/**
 * Scaffolds an integrations folder with a working example, as a nango.yaml project or (`zeroYaml`)
 * one whose scripts declare themselves; refuses to overwrite an existing project of either format.
 */
export function init(dir: string, options: { zeroYaml?: boolean } = {}): string[] {
  for (const existing of ['nango.yaml', 'index.ts']) {
    if (fs.existsSync(path.join(dir, existing))) throw new CliError(`${dir} already has a${existing === 'index.ts' ? 'n' : ''} ${existing}; nothing was changed`);
  }
  const scripts: Record<string, string> = options.zeroYaml
    ? { 'index.ts': ZERO_YAML_INDEX, 'package.json': ZERO_YAML_PACKAGE_JSON, 'github/syncs/issues.ts': ZERO_YAML_ISSUES_SYNC, 'github/actions/create-issue.ts': ZERO_YAML_CREATE_ISSUE_ACTION }
    : { 'nango.yaml': NANGO_YAML, 'github/syncs/issues.ts': ISSUES_SYNC, 'github/actions/create-issue.ts': CREATE_ISSUE_ACTION };
  const files: Record<string, string> = { ...scripts, '.env': ENV_FILE, '.gitignore': GITIGNORE };
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
