import { Context } from '@temporalio/activity';
import { SynclineError } from '../errors';
import { findProvider } from '../providers';
import { runScript, stackLines } from '../runtime';
import { ON_EVENT_TIMEOUT_MS } from '../workflows/on-event';
import type { OnEventResult, OnEventWorkflowArgs } from '../workflows/types';
import { oneShotRequest } from './script-request';
import { heartbeatEvery, type ActivityDeps } from './sync';

/**
 * Runs an on-event script (`exec(nango)` with Nango's action helper) for one connection and logs the
 * run under operation `on-event`, named by the script, its job id the run's id. A script
 * or connection gone meanwhile is a failure that says so.
 */
export async function runOnEventScript(deps: ActivityDeps, args: OnEventWorkflowArgs): Promise<OnEventResult> {
  const { store } = deps;
  const context = Context.current();
  const gone = (message: string): OnEventResult => ({ success: false, error: { type: 'on_event_script_gone', message } });
  const script = (await store.scripts.onEvent(args.environmentId, args.integration, args.event)).find((s) => s.name === args.script);
  if (!script) return gone(`On-event script "${args.script}" is no longer deployed for ${args.event}`);
  const connection = await store.connections.get(args.environmentId, args.integration, args.connectionId).catch((err: unknown) => {
    if (err instanceof SynclineError && err.kind === 'not_found') return null;
    throw err;
  });
  if (!connection) return gone(`Connection "${args.connectionId}" no longer exists`);
  const integration = await store.integrations.get(args.environmentId, args.integration);
  const provider = findProvider(integration.provider);
  if (!provider) return { success: false, error: { type: 'unknown_provider', message: `Provider "${integration.provider}" is not in the catalogue` } };

  const ref = { environmentId: args.environmentId, integration: args.integration, connectionId: args.connectionId, operation: 'on-event' as const, script: args.script, jobId: args.runId };
  const startedAt = new Date();
  const heartbeat = setInterval(() => context.heartbeat(), heartbeatEvery(context.info.heartbeatTimeoutMs));
  let result;
  try {
    result = await runScript({
      ...oneShotRequest(deps, args, script, `${args.integration}/on-events/${args.script}.ts`, connection.id, ref),
      provider,
      limits: { timeoutMs: ON_EVENT_TIMEOUT_MS },
      signal: context.cancellationSignal,
    });
  } finally {
    clearInterval(heartbeat);
  }
  const error = result.success ? null : { type: result.error.type, message: result.error.message };
  await store.logs.recordEnd(
    { ...ref, environment: args.environment, success: result.success, startedAt, finishedAt: new Date(), counts: {}, error },
    result.success ? result.logs : [...result.logs, ...stackLines(result.error)],
  );
  if (!error) return { success: true };
  // An ActionError's payload goes back too: a refused validate-connection answers with its message.
  const payload = result.success ? undefined : result.error.details.payload;
  return { success: false, error: payload === undefined ? error : { ...error, payload } };
}
