import fs from 'node:fs';
import path from 'node:path';
import { parseEnv } from 'node:util';
import type { ActionDefinition, SyncDefinition } from '../config/nango-yaml';
import { Syncline } from '../sdk';

/** Thrown for a CLI usage problem: printed as one line, exit code 1. */
export class CliError extends Error {
  override name = 'CliError';
}

export const FOLDER = 'nango-integrations';

/**
 * The integrations folder: `dir` if given, else `./nango-integrations` when it exists, else the
 * current directory, whichever holds a nango.yaml or (scripts that declare themselves) an index.ts.
 */
export function integrationsDir(dir?: string): string {
  const candidates = dir ? [path.resolve(dir)] : [path.resolve(FOLDER), process.cwd()];
  const found = candidates.find((c) => fs.existsSync(path.join(c, 'nango.yaml')) || fs.existsSync(path.join(c, 'index.ts')));
  if (!found) throw new CliError(`No nango.yaml or index.ts in ${candidates.join(' or ')}; run \`syncline init\` first`);
  return found;
}

/** Where a script's source lives: `<integration>/<syncs|actions>/<name>.ts`, or `<name>.ts` at the top (older layout). */
export function scriptSource(dir: string, script: SyncDefinition | ActionDefinition): string {
  const nested = path.join(dir, script.integration, `${script.type}s`, `${script.name}.ts`);
  const flat = path.join(dir, `${script.name}.ts`);
  if (fs.existsSync(nested)) return nested;
  if (fs.existsSync(flat)) return flat;
  throw new CliError(`${script.type} "${script.name}" of ${script.integration} has no source: expected ${path.relative(process.cwd(), nested)}`);
}

/** The API client, from SYNCLINE_URL / SYNCLINE_SECRET_KEY in the environment or the folder's .env. */
export function client(dir: string): Syncline {
  const envFile = path.join(dir, '.env');
  const fromFile = fs.existsSync(envFile) ? parseEnv(fs.readFileSync(envFile, 'utf8')) : {};
  const secretKey = process.env.SYNCLINE_SECRET_KEY || fromFile.SYNCLINE_SECRET_KEY;
  const host = process.env.SYNCLINE_URL || fromFile.SYNCLINE_URL || 'http://localhost:3003';
  if (!secretKey) throw new CliError(`Set SYNCLINE_SECRET_KEY (in the environment or ${envFile}); \`npm run keys\` on the server prints it`);
  return new Syncline({ secretKey, host });
}
