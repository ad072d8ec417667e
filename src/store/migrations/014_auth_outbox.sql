-- An outbox of `auth` webhook events (a connection created or re-authorised, a token refresh the
-- provider refused), written in the same statement or transaction as the change it reports, and
-- drained by the orchestrating process into webhook deliveries (cause `auth:<id>`, so a drain
-- retried after a crash enqueues nothing twice). A row stays until it is handled; a taken row is
-- leased (not_before moved ahead), and a failed one comes back with back-off.
CREATE TABLE auth_events (
  id bigserial PRIMARY KEY,
  environment_id int NOT NULL REFERENCES environments(id) ON DELETE CASCADE,
  operation text NOT NULL CHECK (operation IN ('creation', 'override', 'refresh')),
  success boolean NOT NULL,
  provider_config_key text NOT NULL,
  provider text NOT NULL,
  connection_id text NOT NULL,
  auth_mode text NOT NULL,
  end_user_id text,
  error jsonb,                                   -- {type, description}
  attempts int NOT NULL DEFAULT 0,
  not_before timestamptz NOT NULL DEFAULT now(),
  created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX auth_events_due ON auth_events (not_before, id);
