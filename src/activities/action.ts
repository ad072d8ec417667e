import { Context } from '@temporalio/activity';
import type { ActionDefinition } from '../config/nango-yaml';
import { SynclineError } from '../errors';
import { findProvider } from '../providers';
import { modelChecker, runScript, storeServices, type LogEntry } from '../runtime';
import { PgCheckpointStore } from '../store';
import type { ActionRunError } from '../store/actions';
import { FINAL_ACTION_ERRORS, type ActionResult, type ActionWorkflowArgs } from '../workflows/types';
import { runIsOver } from './cancel';
import { heartbeatEvery, type ActivityDeps } from './sync';

/** Wall-clock limit of one action execution. */
export const ACTION_EXECUTION_MS = 15 * 60_000;

/**
 * One attempt of an action call: validates the input against the action's input model, runs the
 * script (15 minutes at most, output at most 2 MB: the runtime enforces it), validates the output,
 * and keeps the output or the error (an ActionError's payload unchanged) in `action_runs`.
 */
export async function runAction(deps: ActivityDeps, args: ActionWorkflowArgs, actionId: string, last: boolean): Promise<ActionResult> {
  const { store } = deps;
  const context = Context.current();
  let logs: LogEntry[] = [];
  const fail = async (error: ActionRunError): Promise<ActionResult> => {
    const final = last || FINAL_ACTION_ERRORS.includes(error.type);
    await store.actions.attempt(actionId, final ? { final, error, logs } : { final: false });
    return { success: false, error: { type: error.type, message: error.message } };
  };

  const connection = await store.connections.get(args.environmentId, args.integration, args.connectionId).catch((err: unknown) => {
    if (err instanceof SynclineError && err.kind === 'not_found') return null;
    throw err;
  });
  if (!connection) return fail({ type: 'unknown_connection', message: `No connection "${args.connectionId}" for integration "${args.integration}"` });
  const script = await store.scripts.find(args.environmentId, args.integration, 'action', args.action);
  if (!script) return fail({ type: 'unknown_action', message: `No action "${args.action}" is deployed for integration "${args.integration}"` });
  const config = script.config as ActionDefinition;
  const models = new Map(script.models.map((m) => [m.name, m]));
  const problems = (name: string | undefined, value: unknown) => {
    const model = name ? models.get(name) : undefined;
    return model ? modelChecker(model, models)(value) : [];
  };
  const inputProblems = problems(config.input, args.input);
  if (inputProblems.length) {
    return fail({ type: 'invalid_action_input', message: `The input does not match model "${config.input}": ${inputProblems.slice(0, 5).join('; ')}` });
  }
  const integration = await store.integrations.get(args.environmentId, args.integration);
  const provider = findProvider(integration.provider);
  if (!provider) return fail({ type: 'unknown_provider', message: `Provider "${integration.provider}" is not in the catalogue` });

  const heartbeat = setInterval(() => context.heartbeat(), heartbeatEvery(context.info.heartbeatTimeoutMs));
  const signal = context.cancellationSignal;
  let result;
  try {
    result = await runScript({
      kind: 'action',
      code: script.code,
      scriptName: `${args.integration}/actions/${args.action}.ts`,
      providerConfigKey: args.integration,
      connectionId: args.connectionId,
      environmentName: args.environment,
      provider,
      input: args.input,
      services: storeServices(store, args.environmentId, { checkpoints: new PgCheckpointStore(store.db, connection.id), triggerAction: deps.actions?.({ id: args.environmentId, name: args.environment }) }),
      limits: { timeoutMs: ACTION_EXECUTION_MS },
      signal,
    });
  } finally {
    clearInterval(heartbeat);
  }
  logs = result.logs;
  if (signal.aborted) {
    if (await runIsOver(context)) {
      await store.actions.attempt(actionId, { final: true, error: { type: 'action_cancelled', message: 'The action was cancelled: its workflow was stopped and the script was stopped' }, logs });
    }
    throw signal.reason;
  }
  if (!result.success) {
    const { type, message, details } = result.error;
    return fail(type === 'action_script_runtime_error' ? { type, message, payload: details.payload ?? {} } : { type, message });
  }
  const outputProblems = problems(config.output?.[0], result.output);
  if (outputProblems.length) {
    return fail({ type: 'invalid_action_output', message: `The output does not match model "${config.output?.[0]}": ${outputProblems.slice(0, 5).join('; ')}` });
  }
  await store.actions.attempt(actionId, { final: true, output: result.output, logs });
  return { success: true };
}
