-- Webhooks. Environments get a public id: providers post to /webhook/<uuid>/<integration>, so the
-- URL names the environment without guessable names or secrets.
ALTER TABLE environments ADD COLUMN IF NOT EXISTS uuid uuid NOT NULL DEFAULT gen_random_uuid();
CREATE UNIQUE INDEX IF NOT EXISTS environments_by_uuid ON environments (uuid);

-- Where and when an environment's app is told about syncs, auths and async actions (Nango's
-- environment webhook settings), with the key deliveries are signed with.
CREATE TABLE IF NOT EXISTS webhook_settings (
  environment_id int PRIMARY KEY REFERENCES environments(id) ON DELETE CASCADE,
  primary_url text,
  secondary_url text,
  on_sync_completion_always boolean NOT NULL DEFAULT false,  -- also syncs that changed nothing
  on_auth_creation boolean NOT NULL DEFAULT true,
  on_auth_refresh_error boolean NOT NULL DEFAULT true,
  on_sync_error boolean NOT NULL DEFAULT true,
  on_async_action_completion boolean NOT NULL DEFAULT true,
  signing_key_encrypted text NOT NULL,                       -- sealed; HMAC key of X-Nango-Hmac-Sha256
  updated_at timestamptz NOT NULL DEFAULT now()
);

-- One webhook to one URL. The body is kept as sent: every attempt signs and posts the same bytes.
CREATE TABLE IF NOT EXISTS webhook_deliveries (
  id bigserial PRIMARY KEY,
  environment_id int NOT NULL REFERENCES environments(id) ON DELETE CASCADE,
  dedupe_key text NOT NULL UNIQUE,                           -- what caused it + url: a retried enqueue adds nothing
  type text NOT NULL CHECK (type IN ('sync', 'auth', 'async_action', 'forward')),
  connection_id text,
  provider_config_key text,
  url text NOT NULL,
  body text NOT NULL,
  status text NOT NULL DEFAULT 'PENDING' CHECK (status IN ('PENDING', 'DELIVERED', 'FAILED')),
  attempts int NOT NULL DEFAULT 0,
  created_at timestamptz NOT NULL DEFAULT now(),
  finished_at timestamptz
);
CREATE INDEX IF NOT EXISTS webhook_deliveries_by_environment ON webhook_deliveries (environment_id, id DESC);

-- Every POST of a delivery: its answer or why there was none.
CREATE TABLE IF NOT EXISTS webhook_attempts (
  delivery_id bigint NOT NULL REFERENCES webhook_deliveries(id) ON DELETE CASCADE,
  attempt int NOT NULL,
  status_code int,
  error text,
  duration_ms int NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (delivery_id, attempt)
);

-- Provider webhooks as received, read by the handler runs they start (only the id crosses Temporal).
CREATE TABLE IF NOT EXISTS incoming_webhooks (
  id uuid PRIMARY KEY,
  environment_id int NOT NULL REFERENCES environments(id) ON DELETE CASCADE,
  integration_key text NOT NULL,
  payload jsonb NOT NULL,
  received_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX IF NOT EXISTS incoming_webhooks_by_time ON incoming_webhooks (received_at);
