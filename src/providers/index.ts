import { notFound } from '../errors';
import { PROVIDERS } from './catalogue';
import type { ProviderDefinition } from './types';
import { loadUserProviders } from './user-providers';

export type * from './types';
export { AUTH_MODES } from './types';
export { authorizeRequest, interpolate, secretsOf, type RequestAuth } from './credentials';
export { PROVIDERS } from './catalogue';
export { parseUserProviders, loadUserProviders } from './user-providers';
export { validateProvider, type ProviderIssue } from './schema';
export { onAuthEvent, type AuthEvent } from './events';

/** Environment variable naming a providers.yaml read on first use (see `user-providers.ts`). */
export const PROVIDERS_FILE_ENV = 'SYNCLINE_PROVIDERS_FILE';

let userProviders: Readonly<Record<string, ProviderDefinition>> | undefined;

/**
 * Installs the user's providers (from `loadUserProviders`), replacing any installed before. They
 * come before built-in entries of the same name. Without a call, the file named by
 * `SYNCLINE_PROVIDERS_FILE` is read on first use.
 *
 * @example
 * useUserProviders(loadUserProviders('/etc/syncline/providers.yaml'));
 */
export function useUserProviders(providers: Record<string, ProviderDefinition>): void {
  userProviders = Object.freeze({ ...providers });
}

function user(): Readonly<Record<string, ProviderDefinition>> {
  if (!userProviders) {
    const file = process.env[PROVIDERS_FILE_ENV];
    userProviders = Object.freeze(file ? loadUserProviders(file) : {});
  }
  return userProviders;
}

/** The definition of a provider by name (`github`), or undefined. */
export function findProvider(name: string): ProviderDefinition | undefined {
  const own = user();
  if (Object.hasOwn(own, name)) return own[name];
  return Object.hasOwn(PROVIDERS, name) ? PROVIDERS[name] : undefined;
}

/** The definition of a provider by its catalogue name (`github`), or a not_found error. */
export function getProvider(name: string): ProviderDefinition {
  const provider = findProvider(name);
  if (!provider) throw notFound('unknown_provider', `No provider "${name}" in the catalogue`);
  return provider;
}

/** Every provider, built-in and user-defined, by name. */
export function listProviders(): Array<{ name: string; definition: ProviderDefinition }> {
  const all = { ...PROVIDERS, ...user() };
  return Object.keys(all)
    .sort()
    .map((name) => ({ name, definition: all[name]! }));
}
