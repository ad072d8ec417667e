import { Router, type Response } from 'express';
import { z } from 'zod';
import { invalid, notFound } from '../../errors';
import type { ActionRun, ActionRunError } from '../../store/actions';
import type { Orchestrator } from '../../worker/orchestrator';
import { environment } from '../auth';
import { body, header, identifier } from '../validate';

const triggerBody = z.object({
  action_name: identifier('action_name'),
  input: z.unknown().optional(),
});

/**
 * A failed action as Nango answers it (`errResFromNangoErr` in packages/shared/lib/utils/
 * error.manager.ts, statuses and messages from `NangoError` in packages/shared/lib/utils/error.ts):
 * `{error: {message, code, payload}}`, the message fixed per code and the details in `payload`.
 * Our types that Nango names otherwise go out under its name: a script's own error
 * (`script_error`) is its `script_internal_error` with payload `{name, message}`, the 15-minute
 * limit (`script_timeout`) its `execution_timeout`.
 */
const NANGO_FAILURES: Record<string, { code: string; status: number; message: string }> = {
  action_script_runtime_error: { code: 'action_script_runtime_error', status: 500, message: 'The action script failed with a runtime error' },
  invalid_action_input: { code: 'invalid_action_input', status: 400, message: 'Failed to validate the input passed to the action' },
  invalid_action_output: { code: 'invalid_action_output', status: 400, message: 'Failed to validate the output passed to the action' },
  script_output_too_large: { code: 'script_output_too_large', status: 400, message: 'Script output is too large' },
  script_error: { code: 'script_internal_error', status: 500, message: 'An internal error occurred during the script execution' },
  script_internal_error: { code: 'script_internal_error', status: 500, message: 'An internal error occurred during the script execution' },
  script_timeout: {
    code: 'execution_timeout',
    status: 500,
    message: 'The function was killed because it exceeded the maximum execution time allowed without completing or saving a checkpoint',
  },
};

/** Status of the other failures, which Nango has no body of its own for: `{error: {code, message}}`. */
const FAILURE_STATUS: Record<string, number> = {
  unknown_action: 404,
  unknown_connection: 404,
};

/** The message of a script's error as the runtime gives it (`TypeError: x`, or just `x` for an `Error`), split as Nango's payload has it. */
function errorPayload(message: string): { name: string; message: string } {
  const named = /^([A-Za-z_$][\w$]*(?:Error|Exception)): ([\s\S]*)$/.exec(message);
  return named ? { name: named[1]!, message: named[2]! } : { name: 'Error', message };
}

/** Status and body of a failed action run. */
export function failureResponse(error: ActionRunError): { status: number; body: { error: Record<string, unknown> } } {
  const nango = NANGO_FAILURES[error.type];
  if (!nango) return { status: FAILURE_STATUS[error.type] ?? 500, body: { error: { code: error.type, message: error.message } } };
  // An ActionError's payload is already as Nango passes it on (the sandbox makes an array or a primitive `{message}`).
  const payload = error.type === 'script_error' ? errorPayload(error.message) : (error.payload ?? {});
  return { status: nango.status, body: { error: { message: nango.message, code: nango.code, payload } } };
}

/** Actions (Nango's `/action/*`): a call runs as its own workflow, waited for or (X-Async) fetched later by id. */
export function actionRoutes(orchestrator: Orchestrator): Router {
  const router = Router();

  router.post('/action/trigger', async (req, res) => {
    const input = body(triggerBody, req);
    const retries = req.get('X-Max-Retries') ?? '0';
    if (!/^[0-5]$/.test(retries)) throw invalid('invalid_header', 'X-Max-Retries must be an integer from 0 to 5');
    const asyncMode = (req.get('X-Async') ?? '').toLowerCase() === 'true';
    const { id, run } = await orchestrator.triggerAction(environment(req), {
      integration: header(req, 'Provider-Config-Key'),
      connectionId: header(req, 'Connection-Id'),
      action: input.action_name,
      input: input.input,
      maxRetries: Number(retries),
      async: asyncMode,
    });
    if (asyncMode) {
      res.status(202).location(`/action/${id}`).json({ id, statusUrl: `/action/${id}` });
      return;
    }
    sendRun(res, run!);
  });

  router.get('/action/:id', async (req, res) => {
    const run = await orchestrator.actionRun(environment(req), req.params.id);
    if (!run) throw notFound('unknown_action_run', `No action run "${req.params.id}" in this environment`);
    sendRun(res, run);
  });

  return router;
}

function sendRun(res: Response, run: ActionRun): void {
  if (run.status === 'RUNNING') {
    // Nango answers 404 until the run ends ("404 means the execution is still running"): a client
    // polling getAsyncActionResult sees an error, never a body it could take for the output.
    res.status(404).json({ error: { code: 'not_found', message: `Action run "${run.id}" has not finished yet; poll /action/${run.id} again later` } });
  } else if (run.status === 'SUCCESS') {
    res.status(200).json(run.output ?? null);
  } else {
    const { status, body } = failureResponse(run.error ?? { type: 'action_failed', message: 'The action failed' });
    res.status(status).json(body);
  }
}
