import { Router } from 'express';
import { z } from 'zod';
import type { Store } from '../../store';
import type { EnvironmentSettings } from '../../store/environment-settings';
import { environment } from '../auth';
import { body } from '../validate';

const flag = (name: string) => z.boolean({ error: `${name} must be true or false` }).optional();

/** Named as Nango's runner flags (`validateActionInput`, ...), in the API's snake case. */
const settingsBody = z.strictObject({
  validate_action_input: flag('validate_action_input'),
  validate_action_output: flag('validate_action_output'),
  validate_sync_records: flag('validate_sync_records'),
});

function settingsShape(s: EnvironmentSettings) {
  return {
    validate_action_input: s.validateActionInput,
    validate_action_output: s.validateActionOutput,
    validate_sync_records: s.validateSyncRecords,
  };
}

/**
 * The environment's execution settings (secret-key routes): whether action inputs and outputs and
 * sync records must match their models (on) or only warn in the run's logs (off, the default).
 * A change applies to runs that start after it.
 *
 * @example
 * PATCH /environment/settings {"validate_action_output":true}
 * // {"data":{"validate_action_input":false,"validate_action_output":true,"validate_sync_records":false}}
 */
export function environmentSettingsRoutes(store: Store): Router {
  const router = Router();

  router.get('/environment/settings', async (req, res) => {
    res.json({ data: settingsShape(await store.environmentSettings.get(environment(req).id)) });
  });

  router.patch('/environment/settings', async (req, res) => {
    const input = body(settingsBody, req);
    const settings = await store.environmentSettings.update(environment(req).id, {
      validateActionInput: input.validate_action_input,
      validateActionOutput: input.validate_action_output,
      validateSyncRecords: input.validate_sync_records,
    });
    res.json({ data: settingsShape(settings) });
  });

  return router;
}
