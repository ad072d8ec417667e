import { randomUUID } from 'node:crypto';
import type { Engine } from './engine';
import { invalidArgument } from './errors';
import { Status, type RunState } from './interfaces';
import type { Obj } from './proto';

interface PendingQuery {
  id: string;
  runId: string;
  namespace: string;
  taskQueue: string;
  query: Obj;
  /** waiting: for a workflow task to carry it or for the run to be idle; task: attached to a WFT; legacy: a query task. */
  phase: 'waiting' | 'task' | 'legacy';
  scheduledId?: number;
  resolve(result: Obj): void;
  reject(err: Error): void;
}

/**
 * Queries are never persisted. One is attached to the run's next workflow task when one is
 * outstanding, else sent alone as a "legacy" query task with the full history.
 */
export class Queries {
  private readonly pending = new Map<string, PendingQuery>();
  private readonly byRun = new Map<string, Set<string>>();

  constructor(private readonly engine: Engine) {
    engine.onCommitted.push((s) => this.afterTransition(s));
  }

  /** Runs a query; resolves with the QueryWorkflow response. */
  ask(s: RunState, query: Obj, signal: AbortSignal): Promise<Obj> {
    return new Promise((resolve, reject) => {
      const id = randomUUID();
      const q: PendingQuery = {
        id,
        runId: s.runId,
        namespace: s.namespace,
        taskQueue: s.taskQueue,
        query,
        phase: 'waiting',
        resolve: (r) => {
          this.remove(id);
          resolve(r);
        },
        reject: (e) => {
          this.remove(id);
          reject(e);
        },
      };
      this.pending.set(id, q);
      let set = this.byRun.get(s.runId);
      if (!set) this.byRun.set(s.runId, (set = new Set()));
      set.add(id);
      signal.addEventListener('abort', () => q.reject(new Error('query cancelled')), { once: true });
      if (s.status !== Status.Running || !s.wft) this.sendLegacy(q);
    });
  }

  private remove(id: string): void {
    const q = this.pending.get(id);
    if (!q) return;
    this.pending.delete(id);
    const set = this.byRun.get(q.runId);
    set?.delete(id);
    if (set && !set.size) this.byRun.delete(q.runId);
  }

  private sendLegacy(q: PendingQuery): void {
    q.phase = 'legacy';
    this.engine.matching.add(q.namespace, 'workflow', q.taskQueue, { kind: 'query', runId: q.runId, queryId: q.id });
  }

  /** After each transition: queries whose task went away wait again; with no task outstanding, they go alone. */
  private afterTransition(s: RunState): void {
    const set = this.byRun.get(s.runId);
    if (!set) return;
    for (const id of set) {
      const q = this.pending.get(id)!;
      if (q.phase === 'task' && (!s.wft || s.wft.scheduledId !== q.scheduledId)) q.phase = 'waiting';
      if (q.phase === 'waiting' && (s.status !== Status.Running || !s.wft)) this.sendLegacy(q);
    }
  }

  /** Queries to attach to the workflow task being started. */
  attach(runId: string, scheduledId: number): Record<string, Obj> | undefined {
    const set = this.byRun.get(runId);
    if (!set) return undefined;
    const out: Record<string, Obj> = {};
    for (const id of set) {
      const q = this.pending.get(id)!;
      if (q.phase !== 'waiting') continue;
      q.phase = 'task';
      q.scheduledId = scheduledId;
      out[id] = q.query;
    }
    return Object.keys(out).length ? out : undefined;
  }

  /** The legacy query task for a poller, if the query is still wanted. */
  forTask(queryId: string): { runId: string; query: Obj } | undefined {
    const q = this.pending.get(queryId);
    return q && q.phase === 'legacy' ? { runId: q.runId, query: q.query } : undefined;
  }

  /** Results from RespondWorkflowTaskCompleted.queryResults. */
  answerAttached(results: Record<string, Obj> | null | undefined): void {
    for (const [id, r] of Object.entries(results ?? {})) this.answer(id, r.resultType, r.answer, r.errorMessage, r.failure);
  }

  /** RespondQueryTaskCompleted, or one attached result. */
  answer(id: string, resultType: unknown, answer: Obj | undefined, errorMessage: string | undefined, failure: Obj | undefined): void {
    const q = this.pending.get(id);
    if (!q) return;
    const ok = resultType === 1 || resultType === 'QUERY_RESULT_TYPE_ANSWERED';
    if (ok) q.resolve({ queryResult: answer ?? { payloads: [] } });
    else q.reject(Object.assign(invalidArgument(errorMessage || failure?.message || 'query failed'), { failure }));
  }
}
