import { storeServices, type ExecutionRequest } from '../runtime';
import { PgCheckpointStore } from '../store';
import type { ExecutionRef } from '../store/logs';
import type { ActivityDeps } from './sync';

/** Where a deployed script runs: one connection of an integration in an environment. */
export interface ScriptTarget {
  environmentId: number;
  environment: string;
  integration: string;
  connectionId: string;
}

/**
 * What every one-shot run of a deployed script (an action, an on-event script) asks the runtime:
 * its code and source map, its connection (`connectionPk` keys its checkpoints), the store's
 * services, and a sink storing its log lines as it runs, under `log`.
 */
export function oneShotRequest(
  deps: ActivityDeps,
  target: ScriptTarget,
  script: { code: string; sourceMap: string | null },
  scriptName: string,
  connectionPk: number,
  log: Pick<ExecutionRef, 'operation' | 'script' | 'jobId'>,
): Pick<ExecutionRequest, 'kind' | 'code' | 'sourceMap' | 'scriptName' | 'providerConfigKey' | 'connectionId' | 'environmentName' | 'services' | 'onLogs'> {
  const { store } = deps;
  return {
    kind: 'action',
    code: script.code,
    sourceMap: script.sourceMap ?? undefined,
    scriptName,
    providerConfigKey: target.integration,
    connectionId: target.connectionId,
    environmentName: target.environment,
    services: storeServices(store, target.environmentId, { checkpoints: new PgCheckpointStore(store.db, connectionPk), triggerAction: deps.actions?.({ id: target.environmentId, name: target.environment }) }),
    onLogs: (entries) => store.logs.write({ environmentId: target.environmentId, integration: target.integration, connectionId: target.connectionId, ...log }, entries),
  };
}
