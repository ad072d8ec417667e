import { usedModels, type ActionDefinition, type ModelDefinition, type NangoConfig, type OnEvent, type SyncDefinition } from '../config/nango-yaml';
import { LRUCache } from 'lru-cache';
import type { Db, Queryable } from './db';

/** A compiled script as uploaded by `syncline deploy`. */
export interface ScriptBundle {
  integration: string;
  type: 'sync' | 'action' | 'on-event';
  name: string;
  /** Compiled CommonJS. */
  js: string;
  /** TypeScript source, kept for display. */
  ts?: string;
  /** Source map of `js` (JSON): stack traces of its runs then name the TypeScript lines. */
  map?: string;
  /**
   * The script's own models, when its project declares them per script (zod models arrive with each
   * flow); otherwise the ones it uses are taken from the config's models.
   */
  models?: ModelDefinition[];
}

/**
 * Which active scripts a deploy deactivates besides those it replaces: all the environment's that the
 * config no longer has (`true`), none (`false`), or only those of some integrations.
 */
export type Reconcile = boolean | { integrations: string[] };

export interface DeployedScript {
  id: number;
  deploymentId: number;
  integration: string;
  type: 'sync' | 'action';
  name: string;
  version: string | null;
  config: SyncDefinition | ActionDefinition;
  models: ModelDefinition[];
  code: string;
  /** Source map of `code`, when the deploy sent one. */
  sourceMap: string | null;
  createdAt: Date;
}

/** A deployed on-event script: run when `event` happens to a connection of its integration. */
export interface OnEventScript {
  id: number;
  integration: string;
  event: OnEvent;
  name: string;
  code: string;
  sourceMap: string | null;
}

export interface DeployResult {
  deploymentId: number;
  /** Scripts deactivated because the new config no longer has them. */
  removed: Array<{ integration: string; type: 'sync' | 'action'; name: string }>;
  scripts: DeployedScript[];
}

interface ScriptRow {
  id: number;
  deployment_id: number;
  integration_key: string;
  type: 'sync' | 'action';
  name: string;
  version: string | null;
  config: SyncDefinition | ActionDefinition;
  models: ModelDefinition[];
  code: string;
  source_map: string | null;
  created_at: Date;
}

/** What of a script's row a deploy writes once and nothing changes after (a deploy adds rows): its body. */
const BODY_COLUMNS = 'config, models, code, source_map';
const HEAD_COLUMNS = 'id, deployment_id, integration_key, type, name, version, created_at';
/** The columns of a `ScriptRow`: not the TypeScript source, which no run needs and may be the largest. */
const SCRIPT_COLUMNS = `${HEAD_COLUMNS}, ${BODY_COLUMNS}`;
type BodyRow = Pick<ScriptRow, 'config' | 'models' | 'code' | 'source_map'>;

/**
 * Characters of script bodies a store keeps in memory (about twice as many bytes). A run reads its
 * script's head (which row is active) and takes the body from memory: a script of 60 KB with a
 * source map of 150 KB cost each run 3 ms more CPU than a small one when both were read every time.
 */
export const SCRIPT_BODY_CACHE_CHARS = 32 * 1024 * 1024;

const toScript = (row: ScriptRow): DeployedScript => ({
  id: row.id,
  deploymentId: row.deployment_id,
  integration: row.integration_key,
  type: row.type,
  name: row.name,
  version: row.version,
  config: row.config,
  models: row.models,
  code: row.code,
  sourceMap: row.source_map ?? null,
  createdAt: new Date(row.created_at),
});

type OnEventRow = { id: number; integration_key: string; event: OnEvent; name: string; code: string; source_map: string | null };
const toOnEvent = (r: OnEventRow): OnEventScript => ({ id: r.id, integration: r.integration_key, event: r.event, name: r.name, code: r.code, sourceMap: r.source_map });

/** Deployed scripts per environment. */
export class ScriptStore {
  /** Bodies of the scripts found lately, by row id (shared by the scripts `find` returns: read-only). */
  private readonly bodies = new LRUCache<number, BodyRow>({
    maxSize: SCRIPT_BODY_CACHE_CHARS,
    sizeCalculation: (b) => Math.max(1, b.code.length + (b.source_map?.length ?? 0) + JSON.stringify([b.config, b.models]).length),
  });

  constructor(private readonly db: Db) {}

  /**
   * Makes `config` the environment's deployed configuration, all or nothing: every sync and action
   * of the config becomes active with its bundle; with `reconcile`, active scripts the config no longer
   * has are deactivated (otherwise they stay as they are), environment-wide or in the integrations
   * named. `yaml` is the nango.yaml text, empty for projects without one.
   */
  async deploy(environmentId: number, yaml: string, config: NangoConfig, bundles: ScriptBundle[], reconcile: Reconcile = true): Promise<DeployResult> {
    const code = new Map(bundles.map((b) => [`${b.integration}/${b.type}/${b.name}`, b]));
    const definitions = config.integrations.flatMap((i) => [...i.syncs, ...i.actions]);
    return this.db.transaction(async (tx) => {
      const { rows } = await tx.query<{ id: number }>('INSERT INTO deployments (environment_id, nango_yaml) VALUES ($1, $2) RETURNING id', [
        environmentId,
        yaml,
      ]);
      const deploymentId = rows[0]!.id;
      const keep = definitions.map((d) => `${d.integration}/${d.type}/${d.name}`);
      const { rows: removed } = await tx.query<{ integration_key: string; type: 'sync' | 'action'; name: string }>(
        `UPDATE scripts SET active = false
         WHERE environment_id = $1 AND active
           AND (integration_key || '/' || type || '/' || name = ANY($3::text[])
                OR ($2 AND ($4::text[] IS NULL OR integration_key = ANY($4::text[]))))
         RETURNING integration_key, type, name`,
        [environmentId, reconcile !== false, keep, typeof reconcile === 'object' ? reconcile.integrations : null],
      );
      const { rows: inserted } = await tx.query<ScriptRow>(
        `INSERT INTO scripts (environment_id, deployment_id, integration_key, type, name, version, config, models, code, source, source_map)
         SELECT $1, $2, s.integration_key, s.type, s.name, s.version, s.config, s.models, s.code, s.source, s.source_map
         FROM jsonb_to_recordset($3::jsonb) AS s(integration_key text, type text, name text, version text, config jsonb, models jsonb, code text, source text, source_map text)
         RETURNING *`,
        [
          environmentId,
          deploymentId,
          JSON.stringify(
            definitions.map((d) => {
              const bundle = code.get(`${d.integration}/${d.type}/${d.name}`)!;
              return {
                integration_key: d.integration,
                type: d.type,
                name: d.name,
                version: d.version ?? null,
                config: d,
                models: bundle.models ? usedModels(d, new Map(bundle.models.map((m) => [m.name, m]))) : usedModels(d, config.models),
                code: bundle.js,
                source: bundle.ts ?? null,
                source_map: bundle.map ?? null,
              };
            }),
          ),
        ],
      );
      await deployOnEvents(tx, environmentId, deploymentId, config, code, reconcile);
      const stillThere = new Set(keep);
      return {
        deploymentId,
        removed: removed
          .filter((r) => !stillThere.has(`${r.integration_key}/${r.type}/${r.name}`))
          .map((r) => ({ integration: r.integration_key, type: r.type, name: r.name })),
        scripts: inserted.map(toScript),
      };
    });
  }

  /** How many connections each integration of the environment has (integrations without any are absent). */
  async connectionCounts(environmentId: number): Promise<Map<string, number>> {
    const { rows } = await this.db.query<{ unique_key: string; n: string | number }>(
      `SELECT i.unique_key, count(*) AS n FROM connections c JOIN integrations i ON i.id = c.integration_id
       WHERE c.environment_id = $1 GROUP BY i.unique_key`,
      [environmentId],
    );
    return new Map(rows.map((r) => [r.unique_key, Number(r.n)]));
  }

  /** Active scripts of an environment, optionally of one integration. */
  async active(environmentId: number, integration?: string): Promise<DeployedScript[]> {
    const { rows } = await this.db.query<ScriptRow>(
      `SELECT ${SCRIPT_COLUMNS} FROM scripts WHERE environment_id = $1 AND active AND ($2::text IS NULL OR integration_key = $2)
       ORDER BY integration_key, type, name`,
      [environmentId, integration ?? null],
    );
    return rows.map(toScript);
  }

  /** The active on-event scripts of an environment. */
  async activeOnEvents(environmentId: number): Promise<OnEventScript[]> {
    const { rows } = await this.db.query<OnEventRow>('SELECT id, integration_key, event, name, code, source_map FROM on_event_scripts WHERE environment_id = $1 AND active ORDER BY integration_key, event, name', [environmentId]);
    return rows.map(toOnEvent);
  }

  /** The active on-event scripts of an integration for `event`, by name. */
  async onEvent(environmentId: number, integration: string, event: OnEvent): Promise<OnEventScript[]> {
    const { rows } = await this.db.query<OnEventRow>(
      'SELECT id, integration_key, event, name, code, source_map FROM on_event_scripts WHERE environment_id = $1 AND integration_key = $2 AND event = $3 AND active ORDER BY name',
      [environmentId, integration, event],
    );
    return rows.map(toOnEvent);
  }

  /** The active script of that name, or null. Its body comes from memory when this store read it before. */
  async find(environmentId: number, integration: string, type: 'sync' | 'action', name: string): Promise<DeployedScript | null> {
    const { rows } = await this.db.query<Omit<ScriptRow, keyof BodyRow>>(
      `SELECT ${HEAD_COLUMNS} FROM scripts WHERE environment_id = $1 AND integration_key = $2 AND type = $3 AND name = $4 AND active`,
      [environmentId, integration, type, name],
    );
    const head = rows[0];
    if (!head) return null;
    const body = this.bodies.get(head.id) ?? (await this.readBody(head.id));
    return body ? toScript({ ...head, ...body }) : null;
  }

  private async readBody(id: number): Promise<BodyRow | undefined> {
    const { rows } = await this.db.query<BodyRow>(`SELECT ${BODY_COLUMNS} FROM scripts WHERE id = $1`, [id]);
    if (rows[0]) this.bodies.set(id, rows[0]);
    return rows[0];
  }
}

/**
 * The on-event scripts of a deploy (`onEvents` of `config`, their code in `bundles` as type
 * `on-event`) replace those of the same name and event; with `reconcile`, the others in its scope
 * are deactivated, as syncs and actions are.
 */
async function deployOnEvents(tx: Queryable, environmentId: number, deploymentId: number, config: NangoConfig, bundles: Map<string, ScriptBundle>, reconcile: Reconcile): Promise<void> {
  const rows = config.integrations.flatMap((i) =>
    Object.entries(i.onEvents).flatMap(([event, names]) =>
      (names ?? []).map((name) => {
        const bundle = bundles.get(`${i.key}/on-event/${name}`);
        if (!bundle) throw new Error(`no code for on-event script ${i.key}/${name}`);
        return { integration_key: i.key, event, name, code: bundle.js, source: bundle.ts ?? null, source_map: bundle.map ?? null };
      }),
    ),
  );
  await tx.query(
    `UPDATE on_event_scripts SET active = false
     WHERE environment_id = $1 AND active
       AND (integration_key || '/' || event || '/' || name = ANY($2::text[]) OR ($3 AND ($4::text[] IS NULL OR integration_key = ANY($4::text[]))))`,
    [environmentId, rows.map((r) => `${r.integration_key}/${r.event}/${r.name}`), reconcile !== false, typeof reconcile === 'object' ? reconcile.integrations : null],
  );
  if (!rows.length) return;
  await tx.query(
    `INSERT INTO on_event_scripts (environment_id, deployment_id, integration_key, event, name, code, source, source_map)
     SELECT $1, $2, s.integration_key, s.event, s.name, s.code, s.source, s.source_map
     FROM jsonb_to_recordset($3::jsonb) AS s(integration_key text, event text, name text, code text, source text, source_map text)`,
    [environmentId, deploymentId, JSON.stringify(rows)],
  );
}
