import { Context } from '@temporalio/activity';
import type { ActionDefinition } from '../config/nango-yaml';
import { SynclineError } from '../errors';
import { findProvider } from '../providers';
import { modelChecker, runScript, stackLines, type LogEntry } from '../runtime';
import { temporalDispatcher } from '../webhooks';
import type { ActionRunError } from '../store/actions';
import { FINAL_ACTION_ERRORS, type ActionResult, type ActionWorkflowArgs } from '../workflows/types';
import { runIsOver } from './cancel';
import { oneShotRequest } from './script-request';
import { heartbeatEvery, type ActivityDeps } from './sync';

/** Wall-clock limit of one action execution. */
export const ACTION_EXECUTION_MS = 15 * 60_000;

/** How the runtime words its refusal of an action output over MAX_ACTION_OUTPUT_BYTES. */
const OUTPUT_TOO_LARGE = /^The action output is larger than \d+ bytes/;

/** Problems of a model mismatch named in its error and warning. */
const MAX_PROBLEMS = 5;

/**
 * One attempt of an action call: checks the input against the action's input model, runs the
 * script (15 minutes at most, output at most 2 MB: the runtime enforces it), checks the output,
 * and keeps the output or the error (an ActionError's payload unchanged) in `action_runs`.
 *
 * A mismatch with a model fails the call (`invalid_action_input` / `invalid_action_output`) only
 * when the environment's `validate_action_input` / `validate_action_output` setting is on; off (the
 * default, as in Nango, whose deployed actions are not held to their models) it is a `warn` line in
 * the run's logs naming the model and the first problems, and the call goes on.
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
  const settings = await store.environmentSettings.get(args.environmentId);
  const models = new Map(script.models.map((m) => [m.name, m]));
  /** Null when `value` matches model `name` (or there is no such model); otherwise the error the call fails with when strict. */
  const mismatch = (what: 'input' | 'output', name: string | undefined, value: unknown): ActionRunError | null => {
    const model = name ? models.get(name) : undefined;
    const problems = model ? modelChecker(model, models)(value) : [];
    if (!problems.length) return null;
    const message = `The ${what} does not match model "${name}": ${problems.slice(0, MAX_PROBLEMS).join('; ')}`;
    return { type: `invalid_action_${what}`, message, payload: { data: value ?? null, validation: problems.slice(0, MAX_PROBLEMS), model: name } };
  };
  const warning = (error: ActionRunError, setting: string): LogEntry => ({ level: 'warn', message: `${error.message} (${setting} is off: the action goes on)`, createdAt: new Date().toISOString() });
  const badInput = mismatch('input', config.input, args.input);
  if (badInput && settings.validateActionInput) return fail(badInput);
  if (badInput) logs = [warning(badInput, 'validate_action_input')];
  const integration = await store.integrations.get(args.environmentId, args.integration);
  const provider = findProvider(integration.provider);
  if (!provider) return fail({ type: 'unknown_provider', message: `Provider "${integration.provider}" is not in the catalogue` });

  const heartbeat = setInterval(() => context.heartbeat(), heartbeatEvery(context.info.heartbeatTimeoutMs));
  const signal = context.cancellationSignal;
  let result;
  try {
    result = await runScript({
      ...oneShotRequest(deps, args, script, `${args.integration}/actions/${args.action}.ts`, connection.id, { operation: 'action', script: args.action, jobId: actionId }),
      provider,
      input: args.input,
      limits: { timeoutMs: ACTION_EXECUTION_MS },
      signal,
    });
  } finally {
    clearInterval(heartbeat);
  }
  logs = [...logs, ...result.logs, ...(result.success ? [] : stackLines(result.error))];
  if (signal.aborted) {
    if (await runIsOver(context)) {
      const error = { type: 'action_cancelled', message: 'The action was cancelled: its workflow was stopped and the script was stopped' };
      // Its workflow is gone and sends nothing more: this is the end of the call.
      const ended = await store.actions.attempt(actionId, { final: true, error, logs });
      if (ended && args.async) await temporalDispatcher(store, context.client, context.info.taskQueue).asyncAction(args.environmentId, { id: actionId, integration: args.integration, connectionId: args.connectionId });
    }
    throw signal.reason;
  }
  if (!result.success) {
    const { type, message, details } = result.error;
    if (type === 'action_script_runtime_error') return fail({ type, message, payload: details.payload ?? {} });
    // The runtime's refusal of an output over 2 MB (a script_error, by its message) is Nango's script_output_too_large.
    if (type === 'script_error' && OUTPUT_TOO_LARGE.test(message)) return fail({ type: 'script_output_too_large', message, payload: { message: 'Output is too large' } });
    return fail({ type, message });
  }
  const badOutput = mismatch('output', config.output?.[0], result.output);
  if (badOutput && settings.validateActionOutput) return fail(badOutput);
  if (badOutput) logs.push(warning(badOutput, 'validate_action_output'));
  await store.actions.attempt(actionId, { final: true, output: result.output, logs });
  return { success: true };
}
