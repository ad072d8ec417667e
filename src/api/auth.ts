import type { RequestHandler, Request } from 'express';
import { SynclineError } from '../errors';
import type { EnvironmentStore } from '../store/environments';
import type { Environment } from '../types';

const environmentOf = new WeakMap<Request, Environment>();

/** Requires `Authorization: Bearer <secret key>` of an environment; 401 otherwise. */
export function requireSecretKey(environments: EnvironmentStore): RequestHandler {
  return async (req, _res, next) => {
    const match = /^Bearer\s+(\S+)\s*$/i.exec(req.get('authorization') ?? '');
    if (!match) throw new SynclineError('unauthorized', 'missing_api_key', 'Authentication failed: send "Authorization: Bearer <secret key>"');
    const environment = await environments.bySecretKey(match[1]!);
    if (!environment) throw new SynclineError('unauthorized', 'unknown_api_key', 'Authentication failed: the secret key is not valid');
    environmentOf.set(req, environment);
    next();
  };
}

/** The environment the request's secret key opened. */
export function environment(req: Request): Environment {
  const env = environmentOf.get(req);
  if (!env) throw new Error('route mounted without requireSecretKey');
  return env;
}
