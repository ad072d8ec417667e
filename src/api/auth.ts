import type { IncomingMessage } from 'node:http';
import type { RequestHandler } from 'express';
import { SynclineError } from '../errors';
import type { EnvironmentStore } from '../store/environments';
import type { Environment } from '../types';

const environmentOf = new WeakMap<IncomingMessage, Environment>();

/** How long a recognised secret key is trusted without asking the database again (keys change only at start-up). */
export const SECRET_KEY_CACHE_MS = 5000;
const MAX_CACHED_KEYS = 1000;

/**
 * Turns an `Authorization` header into the environment whose secret key it carries; 401 otherwise.
 * Recognised keys are remembered for a few seconds: on PGlite the lookup was most of a proxied
 * call's cost.
 */
export function secretKeyAuth(environments: EnvironmentStore): (authorization: string | undefined) => Promise<Environment> {
  const known = new Map<string, { environment: Environment; until: number }>();
  const lookup = async (key: string): Promise<Environment | null> => {
    const hit = known.get(key);
    if (hit && hit.until > Date.now()) return hit.environment;
    const environment = await environments.bySecretKey(key);
    known.delete(key);
    if (environment) {
      if (known.size >= MAX_CACHED_KEYS) known.delete(known.keys().next().value!);
      known.set(key, { environment, until: Date.now() + SECRET_KEY_CACHE_MS });
    }
    return environment;
  };
  return async (authorization) => {
    const match = /^Bearer\s+(\S+)\s*$/i.exec(authorization ?? '');
    if (!match) throw new SynclineError('unauthorized', 'missing_api_key', 'Authentication failed: send "Authorization: Bearer <secret key>"');
    const environment = await lookup(match[1]!);
    if (!environment) throw new SynclineError('unauthorized', 'unknown_api_key', 'Authentication failed: the secret key is not valid');
    return environment;
  };
}

/** Requires `Authorization: Bearer <secret key>` of an environment (see secretKeyAuth). */
export function requireSecretKey(authenticate: ReturnType<typeof secretKeyAuth>): RequestHandler {
  return async (req, _res, next) => {
    environmentOf.set(req, await authenticate(req.headers.authorization));
    next();
  };
}

/** The environment the request's secret key opened. */
export function environment(req: IncomingMessage): Environment {
  const env = environmentOf.get(req);
  if (!env) throw new Error('route mounted without requireSecretKey');
  return env;
}
