-- Settings the server itself keeps, such as the encryption-key check value.
CREATE TABLE syncline_settings (
  key text PRIMARY KEY,
  value text NOT NULL
);

-- Tenants. Every other row belongs to exactly one environment.
CREATE TABLE environments (
  id serial PRIMARY KEY,
  name text NOT NULL UNIQUE,
  secret_key_hash text NOT NULL UNIQUE,          -- sha256 hex of the secret key, for lookup
  secret_key_encrypted text NOT NULL,            -- the key itself, sealed, for `syncline keys`
  created_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE integrations (
  id serial PRIMARY KEY,
  environment_id int NOT NULL REFERENCES environments(id) ON DELETE CASCADE,
  unique_key text NOT NULL,
  provider text NOT NULL,
  display_name text,
  credentials_encrypted text,                    -- sealed JSON: {type, client_id, client_secret, scopes, webhook_secret}
  forward_webhooks boolean NOT NULL DEFAULT true,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now(),
  UNIQUE (environment_id, unique_key)
);

CREATE TABLE connections (
  id serial PRIMARY KEY,
  environment_id int NOT NULL REFERENCES environments(id) ON DELETE CASCADE,
  integration_id int NOT NULL REFERENCES integrations(id) ON DELETE CASCADE,
  connection_id text NOT NULL,
  connection_config jsonb NOT NULL DEFAULT '{}',
  metadata jsonb NOT NULL DEFAULT '{}',
  tags jsonb NOT NULL DEFAULT '{}',
  end_user jsonb,
  end_user_id text,
  end_user_organization_id text,
  webhook_url_override text,
  credentials_encrypted text NOT NULL,           -- sealed JSON of the credentials object
  credentials_type text NOT NULL,
  credentials_expires_at timestamptz,
  last_fetched_at timestamptz,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now(),
  UNIQUE (integration_id, connection_id)
);
CREATE INDEX connections_by_environment ON connections (environment_id, created_at, id);
CREATE INDEX connections_by_end_user ON connections (environment_id, end_user_id);

CREATE TABLE environment_variables (
  environment_id int NOT NULL REFERENCES environments(id) ON DELETE CASCADE,
  name text NOT NULL,
  value_encrypted text NOT NULL,
  PRIMARY KEY (environment_id, name)
);

-- Synced records. A connection row already pins environment and integration, so the key
-- (connection, model, external id) is unique per (environment, connection, integration, model, id).
CREATE TABLE records (
  connection_id int NOT NULL REFERENCES connections(id) ON DELETE CASCADE,
  model text NOT NULL,                           -- "Model" or "Model::variant"
  external_id text NOT NULL,
  data jsonb NOT NULL,                           -- '{}' once pruned
  data_hash text NOT NULL,                       -- md5 of the jsonb text: unchanged records are not rewritten
  first_seen_at timestamptz NOT NULL,
  last_modified_at timestamptz NOT NULL,
  last_action text NOT NULL CHECK (last_action IN ('ADDED', 'UPDATED', 'DELETED')),
  deleted_at timestamptz,
  pruned_at timestamptz,
  PRIMARY KEY (connection_id, model, external_id)
);
-- The read path: cursor order within one connection and model.
CREATE INDEX records_by_cursor ON records (connection_id, model, last_modified_at, external_id);
