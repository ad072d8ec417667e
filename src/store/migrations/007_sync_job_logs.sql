-- Sync jobs' logs move to the `logs` table (006) like action runs' did: what the jsonb arrays held
-- is copied there, then the column goes.
INSERT INTO logs (environment_id, integration_key, connection_id, operation, script, job_id, kind, level, message, created_at)
SELECT c.environment_id, i.unique_key, c.connection_id, 'sync', s.name, j.id::text, 'log', e.level, e.message, coalesce(e."createdAt", j.started_at)
FROM sync_jobs j
JOIN syncs s ON s.id = j.sync_id
JOIN connections c ON c.id = s.connection_id
JOIN integrations i ON i.id = c.integration_id
CROSS JOIN LATERAL jsonb_to_recordset(j.logs) AS e(level text, message text, "createdAt" timestamptz)
WHERE e.level IN ('debug', 'info', 'warn', 'error') AND e.message IS NOT NULL
ORDER BY j.id;

ALTER TABLE sync_jobs DROP COLUMN logs;
