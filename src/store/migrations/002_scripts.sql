-- Deployed integration scripts. A deploy replaces an environment's scripts atomically; earlier
-- versions stay (inactive) so a run in flight can finish on the code it started with.
CREATE TABLE deployments (
  id serial PRIMARY KEY,
  environment_id int NOT NULL REFERENCES environments(id) ON DELETE CASCADE,
  nango_yaml text NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE scripts (
  id serial PRIMARY KEY,
  environment_id int NOT NULL REFERENCES environments(id) ON DELETE CASCADE,
  deployment_id int NOT NULL REFERENCES deployments(id) ON DELETE CASCADE,
  integration_key text NOT NULL,
  type text NOT NULL CHECK (type IN ('sync', 'action')),
  name text NOT NULL,
  version text,
  config jsonb NOT NULL,                        -- the parsed SyncDefinition / ActionDefinition
  models jsonb NOT NULL,                        -- definitions of the models it reads and writes
  code text NOT NULL,                           -- compiled CommonJS bundle
  source text,                                  -- TypeScript, for display
  active boolean NOT NULL DEFAULT true,
  created_at timestamptz NOT NULL DEFAULT now()
);
-- At most one active script per name and type in an integration.
CREATE UNIQUE INDEX scripts_active ON scripts (environment_id, integration_key, type, name) WHERE active;
