-- Execution logs: one row per script log line, HTTP call the script made through the helper, and
-- run outcome, for every sync run (job) and action run. Served by GET /logs; rows older than the
-- retention (SYNCLINE_LOG_RETENTION_DAYS) are pruned. They replace the `logs` jsonb arrays.

CREATE TABLE logs (
  id bigserial PRIMARY KEY,                      -- insertion order: the stable paging order
  environment_id int NOT NULL REFERENCES environments(id) ON DELETE CASCADE,
  integration_key text NOT NULL,
  connection_id text NOT NULL,                   -- the user's connection id (no FK: logs outlive their connection)
  operation text NOT NULL CHECK (operation IN ('sync', 'action', 'webhook')),
  script text NOT NULL,                          -- sync or action name
  job_id text NOT NULL,                          -- sync job id or action run id
  kind text NOT NULL CHECK (kind IN ('log', 'http', 'outcome')),
  level text NOT NULL CHECK (level IN ('debug', 'info', 'warn', 'error')),
  message text NOT NULL,                         -- at most 100 KB, secrets already redacted
  http jsonb,                                    -- kind http: {method, url, status, duration_ms, error?}
  created_at timestamptz NOT NULL
);
CREATE INDEX logs_by_environment ON logs (environment_id, id);
CREATE INDEX logs_by_job ON logs (environment_id, job_id, id);
CREATE INDEX logs_by_connection ON logs (environment_id, connection_id, id);
CREATE INDEX logs_by_age ON logs (created_at);

-- Move what the action runs' jsonb arrays held (sync jobs' follow in 007).
INSERT INTO logs (environment_id, integration_key, connection_id, operation, script, job_id, kind, level, message, created_at)
SELECT a.environment_id, a.integration_key, a.connection_id, 'action', a.action_name, a.id::text, 'log', e.level, e.message, coalesce(e."createdAt", a.created_at)
FROM action_runs a
CROSS JOIN LATERAL jsonb_to_recordset(a.logs) AS e(level text, message text, "createdAt" timestamptz)
WHERE e.level IN ('debug', 'info', 'warn', 'error') AND e.message IS NOT NULL
ORDER BY a.created_at;

ALTER TABLE action_runs DROP COLUMN logs;
