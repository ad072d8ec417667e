import { conflict, invalid, SynclineError } from '../errors';
import { credentialsChanged } from '../providers/refresh';
import type { Store } from '../store';
import type { NewConnection } from '../store/connections';
import type { Connection } from '../types';
import type { Orchestrator } from '../worker/orchestrator';

/**
 * Creates or overrides a connection (`ConnectionStore.upsert`), first judged by its integration's
 * validate-connection scripts when it has some, as in Nango: the connection is written pending,
 * with the new credentials, config and metadata the scripts read (and may change); if all pass it
 * is settled (its `auth` event with `authEvent`, and for a new one its syncs and
 * post-connection-creation scripts); if one refuses, nothing of the attempt stays: a new
 * connection is deleted, an override gets back what it replaced (and with `authEvent` a failed
 * override `auth` event), and the caller gets 400 `connection_validation_failed` with the
 * script's message. Without an orchestrator no script runs and the write counts at once.
 *
 * @example
 * const { connection, created } = await upsertValidated(store, orchestrator, env.id, 'github', input);
 */
export async function upsertValidated(
  store: Store,
  orchestrator: Orchestrator | undefined,
  environmentId: number,
  integrationKey: string,
  input: NewConnection,
  authEvent?: { endUserId: string | null },
): Promise<{ connection: Connection; created: boolean }> {
  const validates = orchestrator !== undefined && (await orchestrator.validatesConnections(environmentId, integrationKey));
  if (!validates) return store.connections.upsert(environmentId, integrationKey, input, authEvent ? { authEvent } : {});

  const pending = await store.connections.upsert(environmentId, integrationKey, input, { pending: true });
  const { id, connectionId } = pending.connection;
  credentialsChanged(id);
  let refusal: string | null;
  try {
    const env = await store.environments.byId(environmentId);
    if (!env) throw new SynclineError('internal', 'unknown_environment', `Environment ${environmentId} is gone`);
    refusal = await orchestrator.validateConnection(env, integrationKey, connectionId);
  } catch (err) {
    // A validation that could not run does not let the connection in either.
    await store.connections.refuse(id);
    credentialsChanged(id);
    throw err;
  }
  if (refusal !== null) {
    const error = { type: 'connection_validation_failed', description: refusal };
    await store.connections.refuse(id, authEvent ? { authEvent: { ...authEvent, error } } : {});
    credentialsChanged(id);
    throw invalid('connection_validation_failed', refusal);
  }
  const accepted = await store.connections.accept(id, authEvent ? { authEvent } : {});
  if (!accepted) throw conflict('connection_changed', `Connection "${connectionId}" was changed or deleted while it was being validated: try again`);
  return accepted;
}
