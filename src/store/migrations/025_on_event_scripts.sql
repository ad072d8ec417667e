-- On-event scripts (Nango's on-events: post-connection-creation, pre-connection-deletion,
-- validate-connection): deployed with the syncs and actions, run when their event happens to a
-- connection. Kept apart from `scripts`, which only syncs and actions (with their models and
-- schedules) fill.
CREATE TABLE on_event_scripts (
  id serial PRIMARY KEY,
  environment_id int NOT NULL REFERENCES environments(id) ON DELETE CASCADE,
  deployment_id int NOT NULL REFERENCES deployments(id) ON DELETE CASCADE,
  integration_key text NOT NULL,
  event text NOT NULL CHECK (event IN ('post-connection-creation', 'pre-connection-deletion', 'validate-connection')),
  name text NOT NULL,
  code text NOT NULL,
  source text,
  source_map text,
  active boolean NOT NULL DEFAULT true,
  created_at timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX on_event_scripts_active ON on_event_scripts (environment_id, integration_key, event, name) WHERE active;

-- Their runs log like the other scripts'.
ALTER TABLE logs DROP CONSTRAINT logs_operation_check;
ALTER TABLE logs ADD CONSTRAINT logs_operation_check CHECK (operation IN ('sync', 'action', 'webhook', 'auth', 'on-event'));
