import type { Queryable } from '../store/db';
import { invalidArgument } from './errors';
import type { Handler } from './service';
import { root, type Obj } from './proto';
import * as sql from './store';

/**
 * Search attributes as Temporal lists them (common/searchattribute/defs.go): its system ones and
 * the predefined ones together are "system" attributes; custom ones are registered per namespace
 * through OperatorService.
 */

const TYPES = 'temporal.api.enums.v1.IndexedValueType';
const KEYWORD = 2;
const INT = 3;
const BOOL = 5;
const DATETIME = 6;
const KEYWORD_LIST = 7;

export const SYSTEM_SEARCH_ATTRIBUTES: Readonly<Record<string, number>> = {
  WorkflowId: KEYWORD,
  RunId: KEYWORD,
  WorkflowType: KEYWORD,
  StartTime: DATETIME,
  ExecutionTime: DATETIME,
  CloseTime: DATETIME,
  ExecutionStatus: KEYWORD,
  TaskQueue: KEYWORD,
  HistoryLength: INT,
  ExecutionDuration: INT,
  StateTransitionCount: INT,
  HistorySizeBytes: INT,
  ParentWorkflowId: KEYWORD,
  ParentRunId: KEYWORD,
  RootWorkflowId: KEYWORD,
  RootRunId: KEYWORD,
  // Predefined: set by SDKs (TemporalChangeVersion for patches), by schedules, batches and versioning.
  TemporalChangeVersion: KEYWORD_LIST,
  BinaryChecksums: KEYWORD_LIST,
  BuildIds: KEYWORD_LIST,
  BatcherNamespace: KEYWORD,
  BatcherUser: KEYWORD,
  TemporalScheduledStartTime: DATETIME,
  TemporalScheduledById: KEYWORD,
  TemporalSchedulePaused: BOOL,
  TemporalNamespaceDivision: KEYWORD,
  TemporalPauseInfo: KEYWORD_LIST,
  TemporalWorkerDeploymentVersion: KEYWORD,
  TemporalWorkflowVersioningBehavior: KEYWORD,
  TemporalWorkerDeployment: KEYWORD,
};

/** Every search attribute a list filter of `namespace` may name, with its IndexedValueType. */
export async function searchAttributeTypes(q: Queryable, namespace: string): Promise<Record<string, number>> {
  return { ...(await sql.searchAttributeTypes(q, namespace)), ...SYSTEM_SEARCH_ATTRIBUTES };
}

/** GetSearchAttributes (it names no namespace: the default one's custom attributes) and OperatorService's calls. */
export function searchAttributeHandlers(db: Queryable): Record<string, Handler> {
  return {
    GetSearchAttributes: async () => ({ keys: await searchAttributeTypes(db, 'default') }),
    ListSearchAttributes: async (req) => ({
      customAttributes: await sql.searchAttributeTypes(db, req.namespace || 'default'),
      systemAttributes: { ...SYSTEM_SEARCH_ATTRIBUTES },
      storageSchema: {},
    }),
    AddSearchAttributes: async (req) => {
      const attrs: Record<string, number> = {};
      for (const [name, t] of Object.entries((req.searchAttributes ?? {}) as Record<string, unknown>)) {
        if (SYSTEM_SEARCH_ATTRIBUTES[name] !== undefined) throw invalidArgument(`Search attribute ${name} is reserved by system.`);
        attrs[name] = typeof t === 'number' ? t : (root.lookupEnum(TYPES).values[String(t)] ?? KEYWORD);
      }
      await sql.addSearchAttributes(db, req.namespace || 'default', attrs);
      return {};
    },
    RemoveSearchAttributes: async (req: Obj) => {
      await sql.removeSearchAttributes(db, req.namespace || 'default', req.searchAttributes ?? []);
      return {};
    },
  };
}
