import { z } from 'zod';
import { modelFromJsonSchema } from './zod-models';
import {
  INTEGRATION_KEY,
  MIN_INTERVAL_MS,
  parseRuns,
  type ActionDefinition,
  type Endpoint,
  type HttpMethod,
  type IntegrationDefinition,
  type ModelDefinition,
  type NangoConfig,
  type SyncDefinition,
} from './nango-yaml';

/**
 * Nango's deploy payload for projects whose scripts declare themselves (`createSync`,
 * `createAction` with zod models, no nango.yaml): what `nango deploy` sends to `POST /sync/deploy` and
 * `POST /sync/deploy/confirmation` (Nango's `CLIDeployFlowConfig`, packages/types/lib/deploy). Each
 * flow carries its models as JSON Schema (`models_json_schema`), so the server needs no yaml to
 * know them. Unknown keys are ignored, so newer clients still deploy.
 */
const METHODS = ['GET', 'POST', 'PUT', 'PATCH', 'DELETE'] as const;
const NAME = /^[a-zA-Z0-9_-]+$/;

const definitions = z.object({ definitions: z.record(z.string(), z.record(z.string(), z.unknown()), 'definitions must map model names to JSON Schemas') });

export const nangoFlowConfig = z.object({
  type: z.enum(['sync', 'action']),
  /** Nango calls the script's name `syncName`, actions included; `name` is accepted too. */
  syncName: z.string().regex(NAME, 'a script name is letters, digits, "_" and "-"').optional(),
  name: z.string().regex(NAME, 'a script name is letters, digits, "_" and "-"').optional(),
  providerConfigKey: z.string().min(1).max(255).regex(INTEGRATION_KEY, 'not a valid integration key'),
  /** Sync: the record models; action: the output model. */
  models: z.array(z.string().min(1).max(255)).default([]),
  runs: z.string().nullish(),
  auto_start: z.boolean().optional(),
  track_deletes: z.boolean().optional(),
  sync_type: z.enum(['incremental', 'full']).optional(),
  /** Sync: the metadata model; action: the input model. */
  input: z.string().max(255).nullish(),
  endpoints: z
    .array(
      z.union([
        z.object({ method: z.enum(METHODS), path: z.string().min(1), group: z.string().max(64).optional() }),
        z.partialRecord(z.enum(METHODS), z.string().min(1)),
      ]),
    )
    .optional(),
  version: z.union([z.string(), z.number()]).nullish(),
  metadata: z.object({ description: z.string().max(2000).optional(), scopes: z.array(z.string().max(255)).optional() }).optional(),
  webhookSubscriptions: z.array(z.string().max(255)).optional(),
  models_json_schema: definitions.optional(),
  // map: the bundle's source map, which `syncline deploy` adds (Nango's CLI sends none).
  fileBody: z.object({ js: z.string().min(1, 'compiled code is empty'), ts: z.string().optional(), map: z.string().optional() }),
});
export type NangoFlowConfig = z.infer<typeof nangoFlowConfig>;

/** An on-event script of Nango's payload (`onEventScriptsByProvider[].scripts[]`). */
export const nangoOnEventScripts = z.array(
  z.object({
    providerConfigKey: z.string().min(1),
    scripts: z.array(
      z.object({
        name: z.string().min(1).max(255),
        event: z.enum(['post-connection-creation', 'pre-connection-deletion', 'validate-connection']),
        fileBody: z.object({ js: z.string().min(1, 'compiled code is empty'), ts: z.string().optional(), map: z.string().optional() }),
      }),
    ),
  }),
);

/** What is wrong with a payload: `path` into it (`flowConfigs.0.runs`), and why. */
export interface FlowConfigIssue {
  path: string;
  message: string;
}

export class FlowConfigError extends Error {
  constructor(readonly issues: FlowConfigIssue[]) {
    super(issues.map((i) => `${i.path}: ${i.message}`).join('\n'));
  }
}

/** The script's name: `syncName`, or `name`. */
export const flowName = (flow: NangoFlowConfig): string => flow.syncName ?? flow.name ?? '';

/** A flow's compiled code and its own models, for the deploy store. */
export interface FlowBundle {
  integration: string;
  type: 'sync' | 'action';
  name: string;
  js: string;
  ts?: string;
  /** The models of this flow's schema (what its records, input and output are checked against). */
  models: ModelDefinition[];
}

/**
 * The same `NangoConfig` a nango.yaml gives, from Nango's flow configs and their JSON Schemas, so
 * storage, orchestration, validation and `/scripts/config` take one path whatever the project's
 * format. Models come from each flow's `models_json_schema` (or the payload-wide `jsonSchema`, which
 * older clients send); a flow whose models have no definition, a bad schedule, two flows of one name
 * or a script name twice are errors, all reported at once.
 *
 * @example
 * const { config, bundles } = flowConfigsToNangoConfig(body.flowConfigs);
 * config.integrations[0].syncs[0].intervalMs // 3600000 for runs: 'every hour'
 */
export function flowConfigsToNangoConfig(
  flows: NangoFlowConfig[],
  shared?: { definitions: Record<string, Record<string, unknown>> },
): { config: NangoConfig; bundles: FlowBundle[] } {
  const issues: FlowConfigIssue[] = [];
  const integrations = new Map<string, IntegrationDefinition>();
  const models = new Map<string, ModelDefinition>();
  const bundles: FlowBundle[] = [];
  const seen = new Set<string>();

  flows.forEach((flow, i) => {
    const at = (key: string) => `flowConfigs.${i}.${key}`;
    const name = flowName(flow);
    if (!name) return void issues.push({ path: at('syncName'), message: 'the script has no name (syncName)' });
    const integration = flow.providerConfigKey;
    const id = `${integration}/${flow.type}/${name}`;
    if (seen.has(id)) return void issues.push({ path: at('syncName'), message: `${flow.type} "${name}" of "${integration}" is in the payload twice` });
    seen.add(id);

    // This flow's models: its own schema first, then the payload-wide one.
    const schemas = { ...(shared?.definitions ?? {}), ...(flow.models_json_schema?.definitions ?? {}) };
    const wanted = [...flow.models, ...(flow.input ? [flow.input] : [])];
    const missing = wanted.filter((m) => !Object.hasOwn(schemas, m));
    if (missing.length) {
      issues.push({ path: at('models_json_schema'), message: `no JSON Schema definition for ${missing.map((m) => `"${m}"`).join(', ')}` });
      return;
    }
    const own = Object.entries(schemas).map(([model, schema]) => modelFromJsonSchema(model, schema));
    for (const model of own) if (!models.has(model.name)) models.set(model.name, model);

    const description = flow.metadata?.description;
    const scopes = flow.metadata?.scopes ?? [];
    const version = flow.version === undefined || flow.version === null ? undefined : String(flow.version);
    const endpoints = (flow.endpoints ?? []).flatMap(toEndpoints);
    let definition: SyncDefinition | ActionDefinition;
    if (flow.type === 'sync') {
      const runs = flow.runs ?? '';
      const intervalMs = parseRuns(runs) ?? 0;
      if (!intervalMs) issues.push({ path: at('runs'), message: `"${runs}" is not a schedule; expected "every <duration>" such as "every hour", "every 30min"` });
      else if (intervalMs < MIN_INTERVAL_MS) issues.push({ path: at('runs'), message: `"${runs}" is too frequent; the minimum is every 30 seconds` });
      if (flow.sync_type === 'incremental' && flow.track_deletes) issues.push({ path: at('track_deletes'), message: 'track_deletes is not supported for incremental syncs' });
      if (!flow.models.length) issues.push({ path: at('models'), message: 'a sync needs at least one model' });
      definition = {
        type: 'sync',
        integration,
        name,
        ...(description ? { description } : {}),
        runs,
        intervalMs,
        output: flow.models,
        endpoints,
        syncType: flow.sync_type ?? 'full',
        trackDeletes: flow.track_deletes ?? false,
        autoStart: flow.auto_start ?? true,
        scopes,
        ...(flow.input ? { input: flow.input } : {}),
        ...(version ? { version } : {}),
        webhookSubscriptions: flow.webhookSubscriptions ?? [],
      };
    } else {
      definition = {
        type: 'action',
        integration,
        name,
        ...(description ? { description } : {}),
        ...(endpoints[0] ? { endpoint: endpoints[0] } : {}),
        ...(flow.input ? { input: flow.input } : {}),
        ...(flow.models.length ? { output: flow.models } : {}),
        scopes,
        ...(version ? { version } : {}),
      };
    }
    let entry = integrations.get(integration);
    if (!entry) integrations.set(integration, (entry = { key: integration, syncs: [], actions: [], onEvents: {} }));
    if (definition.type === 'sync') entry.syncs.push(definition);
    else entry.actions.push(definition);
    const { js, ts, map } = flow.fileBody;
    bundles.push({ integration, type: flow.type, name, js, ...(ts !== undefined ? { ts } : {}), ...(map !== undefined ? { map } : {}), models: own });
  });

  if (issues.length) throw new FlowConfigError(issues);
  return { config: { integrations: [...integrations.values()], models, warnings: [] }, bundles };
}

/** `{method, path}`, or the older `{GET: '/path'}` form (one endpoint per method). */
function toEndpoints(endpoint: { method: HttpMethod; path: string; group?: string } | Partial<Record<HttpMethod, string>>): Endpoint[] {
  if ('method' in endpoint && 'path' in endpoint && typeof endpoint.path === 'string') {
    return [{ method: endpoint.method as HttpMethod, path: endpoint.path, ...(endpoint.group ? { group: endpoint.group } : {}) }];
  }
  return Object.entries(endpoint as Partial<Record<HttpMethod, string>>).map(([method, path]) => ({ method: method as HttpMethod, path: path! }));
}
