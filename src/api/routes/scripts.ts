import { Router } from 'express';
import { z } from 'zod';
import { FlowConfigError, flowConfigsToNangoConfig, nangoFlowConfig, nangoOnEventScripts, type NangoFlowConfig } from '../../config/flow-configs';
import { modelsJsonSchema } from '../../config/json-schema';
import { NangoYamlError, parseNangoYaml, type NangoConfig } from '../../config/nango-yaml';
import { invalid } from '../../errors';
import type { Store } from '../../store';
import type { DeployedScript, Reconcile, ScriptBundle } from '../../store/scripts';
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
        fileBody: z.object({ js: z.string().min(1, 'compiled code is empty'), ts: z.string().optional(), map: z.string().optional() }),
      }),
    )
    .max(1000),
  onEventScriptsByProvider: nangoOnEventScripts.optional(),
  reconcile: z.boolean().default(true),
});

/**
 * Nango's deploy payload without nango.yaml (`nango deploy` of a project whose scripts declare
 * themselves): each flow carries its models as JSON Schema. `deployMode` says what else is removed:
 * `all` (the default) every script of the environment the payload does not have, `integration` those
 * of its integrations, `single` (a `--sync`/`--action` deploy) none.
 */
const nangoDeployBody = z.object({
  flowConfigs: z.array(nangoFlowConfig).max(1000),
  onEventScriptsByProvider: nangoOnEventScripts.optional(),
  nangoYamlBody: z.string().nullish(),
  /** Older clients: one schema for every flow's models. */
  jsonSchema: z.object({ definitions: z.record(z.string(), z.record(z.string(), z.unknown())) }).optional(),
  reconcile: z.boolean().default(true),
  debug: z.boolean().optional(),
  deployMode: z.enum(['all', 'single', 'integration']).optional(),
  /** Older clients' `deployMode: 'single'`. */
  singleDeployMode: z.boolean().optional(),
  sdkVersion: z.string().max(64).optional(),
  source: z.string().max(64).optional(),
});
type NangoDeployBody = z.infer<typeof nangoDeployBody>;

const deployMode = (input: NangoDeployBody) => input.deployMode ?? (input.singleDeployMode ? 'single' : 'all');

/** Whether a body is the nango.yaml deploy (its yaml text set) rather than Nango's per-flow payload. */
const isYamlDeploy = (raw: unknown) => typeof (raw as { nangoYamlBody?: unknown } | undefined)?.nangoYamlBody === 'string' && (raw as { nangoYamlBody: string }).nangoYamlBody.length > 0;

const scriptShape = (s: DeployedScript) => ({ type: s.type, providerConfigKey: s.integration, name: s.name, version: s.version });

/**
 * The bundles of a deploy's on-event scripts. With `declaredOnly` (a nango.yaml deploy) each must be
 * one the yaml's `on-events` names, and each the yaml names must have code; otherwise (a deploy
 * without yaml) the payload declares them and they are added to `config`.
 */
function onEventBundles(config: NangoConfig, byProvider: z.infer<typeof nangoOnEventScripts>, declaredOnly: boolean): ScriptBundle[] {
  const bundles: ScriptBundle[] = [];
  for (const { providerConfigKey, scripts } of byProvider) {
    for (const script of scripts) {
      let integration = config.integrations.find((i) => i.key === providerConfigKey);
      const declared = integration?.onEvents[script.event]?.includes(script.name) ?? false;
      if (!declared && declaredOnly) throw invalid('unknown_script', `${providerConfigKey}/on-events/${script.name} is not declared in nango.yaml under on-events.${script.event}`);
      if (!integration) config.integrations.push((integration = { key: providerConfigKey, syncs: [], actions: [], onEvents: {} }));
      if (!declared) (integration.onEvents[script.event] ??= []).push(script.name);
      bundles.push({ integration: providerConfigKey, type: 'on-event', name: script.name, ...script.fileBody });
    }
  }
  const uploaded = new Set(bundles.map((b) => `${b.integration}/${b.name}`));
  for (const integration of config.integrations) {
    for (const name of Object.values(integration.onEvents).flat()) {
      if (!uploaded.has(`${integration.key}/${name}`)) throw invalid('missing_script', `No compiled code uploaded for ${integration.key}/on-events/${name}`);
    }
  }
  return bundles;
}

export function scriptRoutes(store: Store, orchestrator?: Orchestrator): Router {
  const router = Router();

  /**
   * Deploys compiled scripts, all or nothing: either a whole nango.yaml with its bundles (answers
   * `{deployment_id, scripts, removed}`), or Nango's per-flow payload without yaml (answers Nango's
   * array of `{name, version, providerConfigKey, type, models, ...}`, what its CLI prints).
   */
  router.post('/sync/deploy', async (req, res) => {
    const env = environment(req);
    if (!isYamlDeploy(req.body)) {
      const input = body(nangoDeployBody, req);
      const { config, bundles } = flowsToConfig(input);
      bundles.push(...onEventBundles(config, input.onEventScriptsByProvider ?? [], false));
      await checkIntegrations(env.id, config);
      const mode = deployMode(input);
      const reconcile: Reconcile = !input.reconcile || mode === 'single' ? false : mode === 'integration' ? { integrations: config.integrations.map((i) => i.key) } : true;
      const result = await store.scripts.deploy(env.id, '', config, bundles, reconcile);
      await orchestrator?.onDeploy(env, result);
      res.json(
        result.scripts.map((s) => ({
          id: s.id,
          name: s.name,
          providerConfigKey: s.integration,
          type: s.type,
          version: s.version ?? undefined,
          models: s.config.output ?? [],
          input: s.config.input ?? null,
          runs: s.config.type === 'sync' ? s.config.runs : null,
          last_deployed: s.createdAt.toISOString(),
        })),
      );
      return;
    }

    const input = body(deployBody, req);
    let config;
    try {
      config = parseNangoYaml(input.nangoYamlBody, 'nango.yaml');
    } catch (err) {
      if (err instanceof NangoYamlError) throw invalid('invalid_nango_yaml', err.message, err.issues);
      throw err;
    }
    await checkIntegrations(env.id, config);
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
      [
        ...input.flowConfigs.map((f) => ({ integration: f.providerConfigKey, type: f.type, name: f.name, ...f.fileBody })),
        ...onEventBundles(config, input.onEventScriptsByProvider ?? [], true),
      ],
      input.reconcile,
    );
    // Existing connections get the new syncs, removed syncs stop; new code takes effect at each sync's next run.
    await orchestrator?.onDeploy(env, result);
    res.json({ deployment_id: result.deploymentId, scripts: result.scripts.map(scriptShape), removed: result.removed });
  });

  /**
   * What a deploy of this payload would change, computed against what is deployed and changing
   * nothing (Nango's `ScriptDifferences`): new, updated and deleted syncs and actions, the connections
   * each sync touches, the models deployed syncs would stop writing while they have connections,
   * and new, updated and deleted on-event scripts.
   */
  router.post('/sync/deploy/confirmation', async (req, res) => {
    const env = environment(req);
    const input = body(nangoDeployBody, req);
    const { config } = flowsToConfig(input);
    onEventBundles(config, input.onEventScriptsByProvider ?? [], false);
    await checkIntegrations(env.id, config);
    const [active, activeOnEvents, connections] = await Promise.all([store.scripts.active(env.id), store.scripts.activeOnEvents(env.id), store.scripts.connectionCounts(env.id)]);
    const key = (integration: string, type: string, name: string) => `${integration}/${type}/${name}`;
    const deployed = new Map(active.map((s) => [key(s.integration, s.type, s.name), s]));
    const incoming = config.integrations.flatMap((i) => [...i.syncs, ...i.actions]);
    const wanted = new Set(incoming.map((d) => key(d.integration, d.type, d.name)));
    const count = (integration: string) => connections.get(integration) ?? 0;

    const diff = {
      newSyncs: [] as object[],
      updatedSyncs: [] as object[],
      deletedSyncs: [] as object[],
      newActions: [] as object[],
      updatedActions: [] as object[],
      deletedActions: [] as object[],
      deletedModels: [] as string[],
      newOnEventScripts: [] as object[],
      updatedOnEventScripts: [] as object[],
      deletedOnEventScripts: [] as object[],
    };
    const onEventKey = (integration: string, event: string, name: string) => `${integration}/${event}/${name}`;
    const deployedOnEvents = new Set(activeOnEvents.map((s) => onEventKey(s.integration, s.event, s.name)));
    const incomingOnEvents = config.integrations.flatMap((i) => Object.entries(i.onEvents).flatMap(([event, names]) => (names ?? []).map((name) => ({ name, providerConfigKey: i.key, event }))));
    for (const s of incomingOnEvents) (deployedOnEvents.has(onEventKey(s.providerConfigKey, s.event, s.name)) ? diff.updatedOnEventScripts : diff.newOnEventScripts).push(s);
    for (const d of incoming) {
      const existing = deployed.get(key(d.integration, d.type, d.name));
      if (d.type === 'action') {
        (existing ? diff.updatedActions : diff.newActions).push({ name: d.name, providerConfigKey: d.integration });
        continue;
      }
      (existing ? diff.updatedSyncs : diff.newSyncs).push({ name: d.name, providerConfigKey: d.integration, connections: count(d.integration), auto_start: d.autoStart });
      const before = existing?.config.type === 'sync' ? existing.config.output : [];
      if (count(d.integration) > 0) diff.deletedModels.push(...before.filter((m) => !d.output.includes(m)));
    }
    const mode = deployMode(input);
    if (mode !== 'single') {
      const scope = mode === 'integration' ? new Set(config.integrations.map((i) => i.key)) : null;
      for (const s of active) {
        if (wanted.has(key(s.integration, s.type, s.name)) || (scope && !scope.has(s.integration))) continue;
        if (s.type === 'sync') diff.deletedSyncs.push({ name: s.name, providerConfigKey: s.integration, connections: count(s.integration), auto_start: false });
        else diff.deletedActions.push({ name: s.name, providerConfigKey: s.integration });
      }
      const wantedOnEvents = new Set(incomingOnEvents.map((s) => onEventKey(s.providerConfigKey, s.event, s.name)));
      for (const s of activeOnEvents) {
        if (wantedOnEvents.has(onEventKey(s.integration, s.event, s.name)) || (scope && !scope.has(s.integration))) continue;
        diff.deletedOnEventScripts.push({ name: s.name, providerConfigKey: s.integration, event: s.event });
      }
    }
    res.json(diff);
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

  /** The environment must have every integration the config names. */
  async function checkIntegrations(environmentId: number, config: NangoConfig): Promise<void> {
    const known = new Set((await store.integrations.list(environmentId)).map((i) => i.uniqueKey));
    const missing = config.integrations.find((i) => !known.has(i.key));
    if (missing) {
      throw invalid('unknown_provider_config', `The deploy configures "${missing.key}", which is not an integration of this environment; create it first`);
    }
  }

  return router;
}

/** Nango's per-flow payload as the config a nango.yaml gives, or a 400 listing what is wrong. */
function flowsToConfig(input: NangoDeployBody): { config: NangoConfig; bundles: ScriptBundle[] } {
  try {
    return flowConfigsToNangoConfig(input.flowConfigs as NangoFlowConfig[], input.jsonSchema);
  } catch (err) {
    if (err instanceof FlowConfigError) throw invalid('invalid_body', err.message, err.issues);
    throw err;
  }
}


