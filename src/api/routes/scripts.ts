import { Router } from 'express';
import { z } from 'zod';
import { modelsJsonSchema } from '../../config/json-schema';
import { NangoYamlError, parseNangoYaml } from '../../config/nango-yaml';
import { invalid } from '../../errors';
import type { Store } from '../../store';
import type { DeployedScript } from '../../store/scripts';
import type { Orchestrator } from '../../worker/orchestrator';
import { environment } from '../auth';
import { body } from '../validate';

const deployBody = z.object({
  nangoYamlBody: z.string().min(1, 'nangoYamlBody must hold the nango.yaml text'),
  flowConfigs: z
    .array(
      z.object({
        type: z.enum(['sync', 'action']),
        providerConfigKey: z.string().min(1),
        name: z.string().min(1),
        fileBody: z.object({ js: z.string().min(1, 'compiled code is empty'), ts: z.string().optional() }),
      }),
    )
    .max(1000),
  reconcile: z.boolean().default(true),
});

const scriptShape = (s: DeployedScript) => ({ type: s.type, providerConfigKey: s.integration, name: s.name, version: s.version });

export function scriptRoutes(store: Store, orchestrator?: Orchestrator): Router {
  const router = Router();

  /** Deploys a whole nango.yaml with its compiled scripts, all or nothing. */
  router.post('/sync/deploy', async (req, res) => {
    const input = body(deployBody, req);
    const env = environment(req);
    let config;
    try {
      config = parseNangoYaml(input.nangoYamlBody, 'nango.yaml');
    } catch (err) {
      if (err instanceof NangoYamlError) throw invalid('invalid_nango_yaml', err.message, err.issues);
      throw err;
    }
    const known = new Set((await store.integrations.list(env.id)).map((i) => i.uniqueKey));
    const missingIntegration = config.integrations.find((i) => !known.has(i.key));
    if (missingIntegration) {
      throw invalid('unknown_provider_config', `nango.yaml configures "${missingIntegration.key}", which is not an integration of this environment; create it first`);
    }
    const uploaded = new Set(input.flowConfigs.map((f) => `${f.providerConfigKey}/${f.type}/${f.name}`));
    const declared = config.integrations.flatMap((i) => [...i.syncs, ...i.actions]).map((d) => `${d.integration}/${d.type}/${d.name}`);
    const noCode = declared.find((d) => !uploaded.has(d));
    if (noCode) throw invalid('missing_script', `No compiled code uploaded for ${noCode}`);
    const undeclared = [...uploaded].find((u) => !declared.includes(u));
    if (undeclared) throw invalid('unknown_script', `${undeclared} is not declared in nango.yaml`);

    const result = await store.scripts.deploy(
      env.id,
      input.nangoYamlBody,
      config,
      input.flowConfigs.map((f) => ({ integration: f.providerConfigKey, type: f.type, name: f.name, js: f.fileBody.js, ts: f.fileBody.ts })),
      input.reconcile,
    );
    // Existing connections get the new syncs, removed syncs stop; new code takes effect at each sync's next run.
    await orchestrator?.onDeploy(env, result);
    res.json({ deployment_id: result.deploymentId, scripts: result.scripts.map(scriptShape), removed: result.removed });
  });

  /** The deployed configuration, per integration (Nango's getScriptsConfig). */
  router.get('/scripts/config', async (req, res) => {
    const env = environment(req);
    const [scripts, integrations] = await Promise.all([store.scripts.active(env.id), store.integrations.list(env.id)]);
    res.json(
      integrations
        .map((integration) => {
          const own = scripts.filter((s) => s.integration === integration.uniqueKey);
          // json_schema: the script's models as JSON Schema definitions, as Nango gives them.
          const shape = (s: DeployedScript) => ({ ...s.config, models: s.models, json_schema: modelsJsonSchema(s.models), version: s.version });
          return {
            providerConfigKey: integration.uniqueKey,
            provider: integration.provider,
            syncs: own.filter((s) => s.type === 'sync').map(shape),
            actions: own.filter((s) => s.type === 'action').map(shape),
          };
        })
        .filter((c) => c.syncs.length || c.actions.length),
    );
  });

  return router;
}
