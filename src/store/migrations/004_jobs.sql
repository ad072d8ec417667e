-- Sync orchestration: one row per (connection, sync, variant), its runs (jobs), the record ids each
-- run saw (for track_deletes), script checkpoints, and an outbox of connection lifecycle events.

CREATE TABLE syncs (
  id serial PRIMARY KEY,
  connection_id int NOT NULL REFERENCES connections(id) ON DELETE CASCADE,
  name text NOT NULL,
  variant text NOT NULL DEFAULT 'base',
  frequency text,                                -- per-connection override of the script's `runs`
  paused boolean NOT NULL DEFAULT false,         -- as last asked through the API (the workflow holds the live state)
  created_at timestamptz NOT NULL DEFAULT now(),
  UNIQUE (connection_id, name, variant)
);

CREATE TABLE sync_jobs (
  id serial PRIMARY KEY,
  sync_id int NOT NULL REFERENCES syncs(id) ON DELETE CASCADE,
  run_key text NOT NULL UNIQUE,                  -- workflow run + activity id: a retried attempt continues its job
  status text NOT NULL DEFAULT 'RUNNING' CHECK (status IN ('RUNNING', 'SUCCESS', 'ERROR')),
  reset boolean NOT NULL DEFAULT false,
  attempts int NOT NULL DEFAULT 1,
  deployment_id int,
  started_at timestamptz NOT NULL DEFAULT now(),
  finished_at timestamptz,
  result jsonb NOT NULL DEFAULT '{}',            -- {model: {added, updated, deleted}}, summed over attempts
  error jsonb,                                   -- {type, message}
  logs jsonb NOT NULL DEFAULT '[]'
);
CREATE INDEX sync_jobs_latest ON sync_jobs (sync_id, id DESC);

-- Ids of records a job saved, written before the records themselves, so a crash never leaves a
-- saved record unmarked. A successful track_deletes run deletes what its job did not see.
CREATE TABLE sync_seen (
  job_id int NOT NULL REFERENCES sync_jobs(id) ON DELETE CASCADE,
  model text NOT NULL,
  external_ids text[] NOT NULL
);
CREATE INDEX sync_seen_by_job ON sync_seen (job_id, model);

CREATE TABLE checkpoints (
  key text PRIMARY KEY,                          -- env:integration:connection:script:variant
  connection_id int NOT NULL REFERENCES connections(id) ON DELETE CASCADE,
  checkpoint jsonb NOT NULL,
  updated_at timestamptz NOT NULL DEFAULT now()
);

-- Connections created or deleted by any path (import, OAuth, connect UI, API), drained by the
-- orchestrator: created ones get their syncs started, deleted ones stopped.
CREATE TABLE sync_lifecycle_events (
  id bigserial PRIMARY KEY,
  kind text NOT NULL CHECK (kind IN ('connection_created', 'connection_deleted')),
  environment_id int NOT NULL,
  integration_key text NOT NULL,
  connection_id text NOT NULL,
  attempts int NOT NULL DEFAULT 0,
  not_before timestamptz NOT NULL DEFAULT now(),
  created_at timestamptz NOT NULL DEFAULT now()
);

CREATE FUNCTION syncline_connection_created() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO sync_lifecycle_events (kind, environment_id, integration_key, connection_id)
  SELECT 'connection_created', NEW.environment_id, i.unique_key, NEW.connection_id FROM integrations i WHERE i.id = NEW.integration_id;
  RETURN NULL;
END $$;

CREATE FUNCTION syncline_connection_deleted() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  -- When the integration itself is being deleted its row is already gone here; its own trigger covers that case.
  INSERT INTO sync_lifecycle_events (kind, environment_id, integration_key, connection_id)
  SELECT 'connection_deleted', OLD.environment_id, i.unique_key, OLD.connection_id FROM integrations i WHERE i.id = OLD.integration_id;
  RETURN NULL;
END $$;

CREATE FUNCTION syncline_integration_deleted() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO sync_lifecycle_events (kind, environment_id, integration_key, connection_id)
  SELECT 'connection_deleted', c.environment_id, OLD.unique_key, c.connection_id FROM connections c WHERE c.integration_id = OLD.id;
  RETURN OLD;
END $$;

CREATE TRIGGER connections_created AFTER INSERT ON connections FOR EACH ROW EXECUTE FUNCTION syncline_connection_created();
CREATE TRIGGER connections_deleted AFTER DELETE ON connections FOR EACH ROW EXECUTE FUNCTION syncline_connection_deleted();
CREATE TRIGGER integrations_deleted BEFORE DELETE ON integrations FOR EACH ROW EXECUTE FUNCTION syncline_integration_deleted();

-- Action calls: the output (up to 2 MB) or error payload stays here; only ids cross Temporal.
CREATE TABLE action_runs (
  id uuid PRIMARY KEY,
  environment_id int NOT NULL REFERENCES environments(id) ON DELETE CASCADE,
  integration_key text NOT NULL,
  connection_id text NOT NULL,
  action_name text NOT NULL,
  status text NOT NULL DEFAULT 'RUNNING' CHECK (status IN ('RUNNING', 'SUCCESS', 'ERROR')),
  attempts int NOT NULL DEFAULT 0,
  output jsonb,
  error jsonb,                                   -- {type, message, payload?}
  logs jsonb NOT NULL DEFAULT '[]',
  created_at timestamptz NOT NULL DEFAULT now(),
  finished_at timestamptz
);
