-- Connect sessions: short-lived tokens a product team's backend hands to its frontend so an end
-- user can create (or re-authorise) connections without seeing the secret key.
CREATE TABLE connect_sessions (
  id serial PRIMARY KEY,
  environment_id int NOT NULL REFERENCES environments(id) ON DELETE CASCADE,
  token_hash text NOT NULL UNIQUE,               -- sha256 hex of the token; the token itself is never stored
  end_user jsonb,
  tags jsonb NOT NULL DEFAULT '{}',
  allowed_integrations text[],                   -- NULL: every integration of the environment
  integrations_config_defaults jsonb NOT NULL DEFAULT '{}',
  webhook_url_override text,
  reconnect_connection_id int REFERENCES connections(id) ON DELETE CASCADE,
  expires_at timestamptz NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX connect_sessions_by_expiry ON connect_sessions (expires_at);

-- One authorisation in flight: from the redirect to the provider until its callback.
CREATE TABLE oauth_sessions (
  state text PRIMARY KEY,                        -- OAuth2 state, or the OAuth 1.0a request token
  environment_id int NOT NULL REFERENCES environments(id) ON DELETE CASCADE,
  integration_id int NOT NULL REFERENCES integrations(id) ON DELETE CASCADE,
  connection_id text NOT NULL,
  connect_session_id int REFERENCES connect_sessions(id) ON DELETE CASCADE,
  redirect_uri text NOT NULL,
  connection_config jsonb NOT NULL DEFAULT '{}',
  secrets_encrypted text NOT NULL,               -- sealed JSON: {code_verifier?, request_token_secret?}
  expires_at timestamptz NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX oauth_sessions_by_expiry ON oauth_sessions (expires_at);

-- Token refresh bookkeeping, one row per connection that was ever refreshed.
CREATE TABLE connection_refreshes (
  connection_id int PRIMARY KEY REFERENCES connections(id) ON DELETE CASCADE,
  last_success_at timestamptz,
  last_failure_at timestamptz,
  last_error jsonb,                              -- {message, status?, body?} from the provider
  failures int NOT NULL DEFAULT 0,               -- consecutive failures
  retry_after timestamptz                        -- no provider call before this instant
);
