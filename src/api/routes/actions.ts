import { Router, type Response } from 'express';
import { z } from 'zod';
import { invalid, notFound } from '../../errors';
import type { ActionRun } from '../../store/actions';
import type { Orchestrator } from '../../worker/orchestrator';
import { environment } from '../auth';
import { body, header, identifier } from '../validate';

const triggerBody = z.object({
  action_name: identifier('action_name'),
  input: z.unknown().optional(),
});

/** HTTP status of a failed action by error type; the body carries the type and, for an ActionError, its payload unchanged. */
const FAILURE_STATUS: Record<string, number> = {
  action_script_runtime_error: 400,
  invalid_action_input: 400,
  unknown_action: 404,
  unknown_connection: 404,
  script_timeout: 500,
  invalid_action_output: 500,
};

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
      res.status(202).json({ id, statusUrl: `/action/${id}` });
      return;
    }
    sendRun(res, run!);
  });

  router.get('/action/:id', async (req, res) => {
    const run = await orchestrator.store.actions.get(environment(req).id, req.params.id);
    if (!run) throw notFound('unknown_action_run', `No action run "${req.params.id}" in this environment`);
    sendRun(res, run);
  });

  return router;
}

function sendRun(res: Response, run: ActionRun): void {
  if (run.status === 'RUNNING') {
    res.status(202).json({ id: run.id, status: 'running', statusUrl: `/action/${run.id}` });
  } else if (run.status === 'SUCCESS') {
    res.status(200).json(run.output ?? null);
  } else {
    const error = run.error ?? { type: 'action_failed', message: 'The action failed' };
    const payload = error.type === 'action_script_runtime_error' ? { payload: error.payload ?? {} } : {};
    res.status(FAILURE_STATUS[error.type] ?? 500).json({ error: { code: error.type, message: error.message, ...payload } });
  }
}
