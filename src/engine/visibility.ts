import type { Engine } from './engine';
import { executionInfo } from './describe';
import { invalidArgument } from './errors';
import { Status } from './interfaces';
import { searchAttributeTypes } from './search-attributes';
import * as sql from './store';
import { searchAttributePayload } from './visibility-keys';

/**
 * The subset of Temporal's list filter the engine understands, compiled to SQL over engine_runs:
 * `=`, `!=`, `<`, `<=`, `>`, `>=`, `AND`, `OR`, parentheses, `IN`, `NOT IN`, `STARTS_WITH`,
 * `BETWEEN ... AND ...`, `ORDER BY StartTime|CloseTime [ASC|DESC]`.
 */

const STATUS_NAMES: Record<string, number> = {
  Running: Status.Running,
  Completed: Status.Completed,
  Failed: Status.Failed,
  Canceled: Status.Canceled,
  Terminated: Status.Terminated,
  ContinuedAsNew: Status.ContinuedAsNew,
  TimedOut: Status.TimedOut,
};

type Kind = 'text' | 'time' | 'status' | 'int' | KeywordsKind;
/** Attributes kept in the run's `keywords` JSON (custom ones, and predefined ones a workflow upserts). */
type KeywordsKind = 'keyword' | 'number' | 'bool' | 'datetime';

/** System search attributes with a column of their own. */
const COLUMNS: Record<string, { sql: string; kind: Kind }> = {
  WorkflowId: { sql: 'workflow_id', kind: 'text' },
  WorkflowType: { sql: 'workflow_type', kind: 'text' },
  RunId: { sql: 'run_id', kind: 'text' },
  TaskQueue: { sql: 'task_queue', kind: 'text' },
  ExecutionStatus: { sql: 'status', kind: 'status' },
  StartTime: { sql: 'start_time', kind: 'time' },
  CloseTime: { sql: 'close_time', kind: 'time' },
  ExecutionTime: { sql: 'execution_time', kind: 'time' },
  HistoryLength: { sql: 'history_length', kind: 'int' },
  // Temporal counts state transitions; the engine's runs make one per event at most.
  StateTransitionCount: { sql: 'history_length', kind: 'int' },
  HistorySizeBytes: { sql: "(state->>'historyBytes')::bigint", kind: 'int' },
  // Nanoseconds, as Temporal stores it; only closed runs have one.
  ExecutionDuration: { sql: '((close_time - execution_time) * 1000000)::bigint', kind: 'int' },
  ParentWorkflowId: { sql: 'parent_workflow_id', kind: 'text' },
  ParentRunId: { sql: 'parent_run_id', kind: 'text' },
  // A run started by no parent is its own root (RunState.root is absent).
  RootWorkflowId: { sql: "COALESCE(state->'root'->>'workflowId', workflow_id)", kind: 'text' },
  RootRunId: { sql: "COALESCE(state->'root'->>'runId', run_id)", kind: 'text' },
};

/** temporal.api.enums.v1.IndexedValueType -> how such a value is compared. */
const KEYWORDS_KINDS: Record<number, KeywordsKind> = { 1: 'keyword', 2: 'keyword', 3: 'number', 4: 'number', 5: 'bool', 6: 'datetime', 7: 'keyword' };

/** Errors worded as Temporal's SQL visibility words them (query converter: "invalid query: invalid expression: ..."). */
const invalidExpression = (message: string) => invalidArgument(`invalid query: invalid expression: ${message}`);

type Tok = { t: 'id' | 'str' | 'num' | 'op' | 'punct'; v: string };

function tokenize(q: string): Tok[] {
  const out: Tok[] = [];
  let i = 0;
  while (i < q.length) {
    const c = q[i];
    if (/\s/.test(c)) {
      i++;
    } else if (c === "'" || c === '"') {
      let j = i + 1;
      let v = '';
      while (j < q.length && q[j] !== c) {
        if (q[j] === '\\' && j + 1 < q.length) j++;
        v += q[j++];
      }
      if (j >= q.length) throw invalidArgument(`invalid query: unterminated string in ${q}`);
      out.push({ t: 'str', v });
      i = j + 1;
    } else if (c === '`') {
      const j = q.indexOf('`', i + 1);
      if (j < 0) throw invalidArgument(`invalid query: unterminated identifier in ${q}`);
      out.push({ t: 'id', v: q.slice(i + 1, j) });
      i = j + 1;
    } else if ('(),'.includes(c)) {
      out.push({ t: 'punct', v: c });
      i++;
    } else if ('=!<>'.includes(c)) {
      const two = q.slice(i, i + 2);
      if (['!=', '<=', '>=', '<>'].includes(two)) {
        out.push({ t: 'op', v: two === '<>' ? '!=' : two });
        i += 2;
      } else {
        out.push({ t: 'op', v: c });
        i++;
      }
    } else {
      const m = /^[A-Za-z0-9_.:+-]+/.exec(q.slice(i));
      if (!m) throw invalidArgument(`invalid query: unexpected ${c}`);
      out.push({ t: /^-?\d+(\.\d+)?$/.test(m[0]) ? 'num' : 'id', v: m[0] });
      i += m[0].length;
    }
  }
  return out;
}

export interface CompiledFilter {
  where: string;
  orderBy: string;
  params: unknown[];
  /** `GROUP BY ExecutionStatus` (count only). */
  groupByStatus: boolean;
}

/**
 * Compiles a list filter; `attributes` are the search attributes the namespace knows (name ->
 * IndexedValueType): any other name is refused, as Temporal refuses it.
 */
export function compileFilter(query: string, paramsStart: number, attributes: Record<string, number>): CompiledFilter {
  const toks = tokenize(query ?? '');
  let pos = 0;
  const params: unknown[] = [];
  const peek = () => toks[pos];
  const kw = (word: string) => peek()?.t === 'id' && peek().v.toUpperCase() === word;
  const expect = (v: string) => {
    if (peek()?.v !== v) throw invalidArgument(`invalid query: expected ${v}`);
    pos++;
  };
  const param = (v: unknown) => {
    params.push(v);
    return `$${paramsStart + params.length}`;
  };
  const value = (): string => {
    const t = toks[pos++];
    if (!t || (t.t !== 'str' && t.t !== 'num' && t.t !== 'id')) throw invalidArgument('invalid query: expected a value');
    return t.v;
  };
  const column = (name: string): { sql: string; kind: Kind } => {
    const c = COLUMNS[name];
    if (c) return c;
    const kind = attributes[name] !== undefined ? KEYWORDS_KINDS[attributes[name]] : undefined;
    if (!kind) throw invalidExpression(`column name '${name}' is not a valid search attribute`);
    const text = `(keywords->>${param(name)})`;
    // A value a workflow upserted that is not of the attribute's type is no match rather than a failed cast.
    // Dates compare as times: SDKs write them with or without a fraction of a second.
    if (kind === 'number') return { sql: `(CASE WHEN ${text} ~ '^-?[0-9]+(\\.[0-9]+)?([eE][-+]?[0-9]+)?$' THEN ${text}::numeric END)`, kind };
    if (kind === 'datetime') return { sql: `(CASE WHEN ${text} ~ '^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:.]+(Z|[-+][0-9:]+)$' THEN (${text})::timestamptz END)`, kind };
    return { sql: text, kind };
  };
  const convert = (kind: Kind, v: string, name: string): unknown => {
    if (kind === 'status') {
      const n = STATUS_NAMES[v] ?? (/^\d+$/.test(v) ? Number(v) : 0);
      if (!n) throw invalidExpression(`invalid ExecutionStatus value '${v}'`);
      return n;
    }
    if (kind === 'time' || kind === 'datetime') {
      const ms = /^\d+$/.test(v) ? Number(v) / 1e6 : Date.parse(v);
      if (Number.isNaN(ms)) throw invalidExpression(`unable to parse datetime '${v}'`);
      return kind === 'time' ? ms : new Date(ms).toISOString();
    }
    if (kind === 'int' || kind === 'number') {
      const n = Number(v);
      if (v === '' || Number.isNaN(n)) throw invalidExpression(`invalid value '${v}' for search attribute ${name}`);
      return n;
    }
    if (kind === 'bool') {
      const b = v.toLowerCase();
      if (b !== 'true' && b !== 'false') throw invalidExpression(`invalid value '${v}' for search attribute ${name}`);
      return b;
    }
    return v;
  };
  const factor = (): string => {
    if (peek()?.v === '(') {
      pos++;
      const e = expr();
      expect(')');
      return `(${e})`;
    }
    const f = toks[pos++];
    if (!f || f.t !== 'id') throw invalidArgument('invalid query: expected an attribute name');
    const col = column(f.v);
    const castCol = col.sql;
    if (kw('NOT')) {
      pos++;
      if (!kw('IN')) throw invalidArgument('invalid query: expected IN after NOT');
      pos++;
      return `NOT (${inList(castCol, col.kind, f.v)})`;
    }
    if (kw('IN')) {
      pos++;
      return inList(castCol, col.kind, f.v);
    }
    if (kw('STARTS_WITH')) {
      pos++;
      if (col.kind !== 'text' && col.kind !== 'keyword') throw invalidExpression(`operator 'starts_with' not allowed for search attribute ${f.v}`);
      const v = value();
      return `${castCol} LIKE ${param(v.replace(/[\\%_]/g, (m) => `\\${m}`) + '%')}`;
    }
    if (kw('BETWEEN')) {
      pos++;
      const a = convert(col.kind, value(), f.v);
      if (!kw('AND')) throw invalidArgument('invalid query: expected AND in BETWEEN');
      pos++;
      const b = convert(col.kind, value(), f.v);
      return `${castCol} BETWEEN ${param(a)} AND ${param(b)}`;
    }
    if (kw('IS')) {
      pos++;
      const not = kw('NOT');
      if (not) pos++;
      if (!kw('NULL')) throw invalidArgument('invalid query: expected NULL');
      pos++;
      return `${castCol} IS ${not ? 'NOT ' : ''}NULL`;
    }
    const op = toks[pos++];
    if (!op || op.t !== 'op') throw invalidArgument(`invalid query: expected an operator after ${f.v}`);
    const v = convert(col.kind, value(), f.v);
    if (col.kind === 'keyword') {
      if (op.v !== '=' && op.v !== '!=') throw invalidArgument(`invalid query: operator ${op.v} not supported on ${f.v}`);
      // Keyword lists match when any element matches.
      const match = `(${col.sql} = ${param(v)} OR keywords->${param(f.v)} @> to_jsonb(ARRAY[${param(v)}::text]))`;
      return op.v === '=' ? match : `NOT COALESCE(${match}, false)`;
    }
    return `${castCol} ${op.v === '!=' ? 'IS DISTINCT FROM' : op.v} ${param(v)}`;
  };
  const inList = (c: string, kind: Kind, name: string) => {
    expect('(');
    const vals: string[] = [];
    for (;;) {
      vals.push(param(convert(kind, value(), name)));
      if (peek()?.v === ',') pos++;
      else break;
    }
    expect(')');
    return `${c} IN (${vals.join(', ')})`;
  };
  const term = (): string => {
    let left = factor();
    while (kw('AND')) {
      pos++;
      left = `${left} AND ${factor()}`;
    }
    return left;
  };
  const expr = (): string => {
    let left = term();
    while (kw('OR')) {
      pos++;
      left = `(${left} OR ${term()})`;
    }
    return left;
  };
  let where = 'TRUE';
  if (pos < toks.length && !kw('ORDER') && !kw('GROUP')) where = expr();
  let orderBy = 'start_time DESC, seq DESC';
  let groupByStatus = false;
  if (kw('GROUP')) {
    pos++;
    if (!kw('BY')) throw invalidArgument('invalid query: expected BY');
    pos++;
    if (toks[pos++]?.v !== 'ExecutionStatus') throw invalidArgument('invalid query: GROUP BY supports ExecutionStatus only');
    groupByStatus = true;
  }
  if (kw('ORDER')) {
    pos++;
    if (!kw('BY')) throw invalidArgument('invalid query: expected BY');
    pos++;
    const f = toks[pos++];
    const col = f && COLUMNS[f.v];
    if (!col || col.kind !== 'time') throw invalidArgument('invalid query: ORDER BY supports StartTime, CloseTime, ExecutionTime');
    let dir = 'DESC';
    if (kw('ASC') || kw('DESC')) dir = toks[pos++].v.toUpperCase();
    orderBy = `${col.sql} ${dir}, seq ${dir}`;
  }
  if (pos < toks.length) throw invalidArgument(`invalid query: unexpected ${toks[pos].v}`);
  return { where, orderBy, params, groupByStatus };
}

const LIST_COLUMNS = `run_id, namespace, workflow_id, workflow_type, task_queue, status, start_time, execution_time, close_time,
  history_length, first_run_id, start_request_id, parent_workflow_id, parent_run_id, search_attributes, memo, state`;

export async function listRuns(engine: Engine, namespace: string, query: string, pageSize: number, pageToken: Uint8Array | undefined): Promise<{ executions: object[]; nextPageToken?: Buffer }> {
  const f = compileFilter(query, 1, await searchAttributeTypes(engine.db, namespace));
  const offset = pageToken?.length ? Number(Buffer.from(pageToken).toString()) || 0 : 0;
  const limit = pageSize > 0 ? Math.min(pageSize, 1000) : 1000;
  const { rows } = await engine.db.query<sql.RunRow>(
    `SELECT ${LIST_COLUMNS} FROM engine_runs WHERE namespace = $1 AND (${f.where}) ORDER BY ${f.orderBy} LIMIT ${limit + 1} OFFSET ${offset}`,
    [namespace, ...f.params],
  );
  const more = rows.length > limit;
  return {
    executions: rows.slice(0, limit).map(executionInfo),
    nextPageToken: more ? Buffer.from(String(offset + limit)) : undefined,
  };
}

const STATUS_BY_NUMBER = Object.fromEntries(Object.entries(STATUS_NAMES).map(([name, n]) => [n, name]));

/** CountWorkflowExecutions, with `groups` when the query ends in `GROUP BY ExecutionStatus`. */
export async function countRuns(engine: Engine, namespace: string, query: string): Promise<{ count: number; groups?: object[] }> {
  const f = compileFilter(query, 1, await searchAttributeTypes(engine.db, namespace));
  const { rows } = await engine.db.query<{ status: number; n: number }>(
    `SELECT status, count(*)::int AS n FROM engine_runs WHERE namespace = $1 AND (${f.where}) GROUP BY status ORDER BY status`,
    [namespace, ...f.params],
  );
  const count = rows.reduce((sum, r) => sum + r.n, 0);
  if (!f.groupByStatus) return { count };
  return { count, groups: rows.map((r) => ({ groupValues: [searchAttributePayload(STATUS_BY_NUMBER[r.status], 'Keyword')], count: r.n })) };
}
