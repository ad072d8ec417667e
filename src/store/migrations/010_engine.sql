-- The embedded Temporal-compatible engine (src/engine). Times are epoch milliseconds (float8).

CREATE TABLE engine_namespaces (
  name text PRIMARY KEY,
  id text NOT NULL,
  retention_ms float8 NOT NULL DEFAULT 259200000,
  created_at timestamptz NOT NULL DEFAULT now()
);
INSERT INTO engine_namespaces (name, id) VALUES ('default', '00000000-0000-4000-8000-000000000001');

-- One row per workflow run: visibility columns plus the run's mutable state (JSON).
CREATE TABLE engine_runs (
  run_id text PRIMARY KEY,
  seq bigint GENERATED ALWAYS AS IDENTITY,
  namespace text NOT NULL,
  workflow_id text NOT NULL,
  workflow_type text NOT NULL,
  task_queue text NOT NULL,
  status smallint NOT NULL,                    -- temporal.api.enums.v1.WorkflowExecutionStatus
  start_time float8 NOT NULL,
  execution_time float8 NOT NULL,
  close_time float8,
  history_length int NOT NULL DEFAULT 0,
  first_run_id text NOT NULL,
  start_request_id text,
  parent_workflow_id text,
  parent_run_id text,
  keywords jsonb NOT NULL DEFAULT '{}',       -- custom search attributes decoded, for list filters
  search_attributes bytea,                    -- encoded temporal.api.common.v1.SearchAttributes
  memo bytea,                                 -- encoded temporal.api.common.v1.Memo
  state jsonb NOT NULL
);
CREATE UNIQUE INDEX engine_runs_open_workflow ON engine_runs (namespace, workflow_id) WHERE status = 1;
CREATE INDEX engine_runs_workflow ON engine_runs (namespace, workflow_id, seq DESC);
CREATE INDEX engine_runs_start ON engine_runs (namespace, start_time DESC);
CREATE INDEX engine_runs_open ON engine_runs (status) WHERE status = 1;

-- History: each event as encoded temporal.api.history.v1.HistoryEvent, ids contiguous from 1.
CREATE TABLE engine_events (
  run_id text NOT NULL,
  event_id int NOT NULL,
  data bytea NOT NULL,
  PRIMARY KEY (run_id, event_id)
);

-- Durable timers: user timers, task timeouts, retry backoffs, workflow timeouts.
CREATE TABLE engine_timers (
  id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  run_id text NOT NULL,
  fire_at float8 NOT NULL,
  kind text NOT NULL,
  ref jsonb NOT NULL DEFAULT '{}'
);
CREATE INDEX engine_timers_fire ON engine_timers (fire_at);
CREATE INDEX engine_timers_run ON engine_timers (run_id);

-- Work on other runs decided by a transition (start a child, notify a parent, signal another run),
-- written in the same transaction and carried out after it commits.
CREATE TABLE engine_transfers (
  id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  run_id text NOT NULL,
  kind text NOT NULL,
  data jsonb NOT NULL
);

-- Custom search attributes registered through OperatorService.
CREATE TABLE engine_search_attributes (
  namespace text NOT NULL,
  name text NOT NULL,
  type smallint NOT NULL,                     -- temporal.api.enums.v1.IndexedValueType
  PRIMARY KEY (namespace, name)
);
