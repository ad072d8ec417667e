import { readFileSync } from 'node:fs';
import { isNode, LineCounter, parseDocument } from 'yaml';
import { invalid } from '../errors';
import { PROVIDERS } from './catalogue';
import { validateProvider } from './schema';
import type { ProviderDefinition } from './types';

/**
 * Reads a user's providers.yaml: extra providers, or replacements of built-in ones, without
 * touching code. Each entry uses the catalogue's fields; `extends: <name>` starts from another
 * provider and overrides what it names (`proxy` is merged one level deep).
 *
 * Any problem throws one `invalid_providers_file` error listing every issue as
 * `file:line provider.field: message`.
 *
 * @example
 * // providers.yaml
 * // providers:
 * //   acme-crm:
 * //     display_name: Acme CRM
 * //     auth_mode: API_KEY
 * //     proxy: { base_url: https://api.acme.example, headers: { x-api-key: '${apiKey}' } }
 * //   github-enterprise:
 * //     extends: github
 * //     authorization_url: https://github.acme.example/login/oauth/authorize
 * //     token_url: https://github.acme.example/login/oauth/access_token
 * //     proxy: { base_url: https://github.acme.example/api/v3 }
 * const providers = parseUserProviders(readFileSync('providers.yaml', 'utf8'), 'providers.yaml');
 */
export function parseUserProviders(text: string, file = 'providers.yaml'): Record<string, ProviderDefinition> {
  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines, prettyErrors: false });
  const lineOf = (offset: number | undefined) => (offset === undefined ? '' : `:${lines.linePos(offset).line}`);
  if (doc.errors.length) {
    throw invalid('invalid_providers_file', doc.errors.map((e) => `${file}${lineOf(e.pos[0])} ${e.message.split('\n')[0]}`).join('\n'));
  }
  const root: unknown = doc.toJS() ?? {};
  const wrapped = typeof root === 'object' && root !== null && 'providers' in root;
  const entries = wrapped ? (root as { providers: unknown }).providers : root;
  const prefix = wrapped ? ['providers'] : [];
  if (typeof entries !== 'object' || entries === null || Array.isArray(entries)) {
    throw invalid('invalid_providers_file', `${file} must map provider names to definitions (optionally under "providers:")`);
  }
  const problems: string[] = [];
  const result: Record<string, ProviderDefinition> = {};
  for (const [name, raw] of Object.entries(entries as Record<string, unknown>)) {
    const locate = (path: string[]) => {
      for (let n = path.length; n >= 0; n--) {
        const node = doc.getIn([...prefix, name, ...path.slice(0, n)], true);
        if (isNode(node) && node.range) return lineOf(node.range[0]);
      }
      return '';
    };
    if (!/^[a-z0-9][a-z0-9._-]{0,63}$/.test(name)) {
      problems.push(`${file}${locate([])} ${name}: provider names are lower-case letters, digits, ".", "_" and "-"`);
      continue;
    }
    const merged = withBase(name, raw, problems, `${file}${locate(['extends'])}`);
    if (!merged) continue;
    const { definition, issues } = validateProvider(name, merged);
    for (const issue of issues) problems.push(`${file}${locate(issue.path.split('.'))} ${name}${issue.path ? `.${issue.path}` : ''}: ${issue.message}`);
    if (definition) result[name] = definition;
  }
  if (problems.length) throw invalid('invalid_providers_file', problems.join('\n'));
  return result;
}

function withBase(name: string, raw: unknown, problems: string[], where: string): Record<string, unknown> | undefined {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
    problems.push(`${where} ${name}: must be a mapping of provider fields`);
    return undefined;
  }
  const { extends: base, ...own } = raw as Record<string, unknown>;
  if (base === undefined) return own;
  const parent = typeof base === 'string' && Object.hasOwn(PROVIDERS, base) ? PROVIDERS[base] : undefined;
  if (!parent) {
    problems.push(`${where} ${name}.extends: no built-in provider "${String(base)}"`);
    return undefined;
  }
  const proxy = own.proxy && typeof own.proxy === 'object' ? { ...parent.proxy, ...(own.proxy as object) } : parent.proxy;
  return { ...parent, ...own, ...(proxy ? { proxy } : {}) };
}

/** {@link parseUserProviders} on a file; a missing file is an error naming it. */
export function loadUserProviders(file: string): Record<string, ProviderDefinition> {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw invalid('invalid_providers_file', `Cannot read providers file ${file}: ${(err as Error).message}`);
  }
  return parseUserProviders(text, file);
}
