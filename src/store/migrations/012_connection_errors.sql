-- A failed token refresh leaves a log line (operation 'auth'), and the connection points at it, so
-- GET /connection(s) can report `errors: [{type: 'auth', log_id}]` as Nango does.
ALTER TABLE logs DROP CONSTRAINT logs_operation_check;
ALTER TABLE logs ADD CONSTRAINT logs_operation_check CHECK (operation IN ('sync', 'action', 'webhook', 'auth'));
ALTER TABLE connection_refreshes ADD COLUMN last_failure_log text;
