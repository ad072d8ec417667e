-- Every action run reaches a final state: a run still RUNNING is checked now and then against its
-- workflow (terminated, timed out or failed without recording an outcome), and an async one then
-- gets its `async_action` webhook, so whether the call was async is kept with it.
ALTER TABLE action_runs ADD COLUMN async boolean NOT NULL DEFAULT false, ADD COLUMN checked_at timestamptz;
CREATE INDEX action_runs_unfinished ON action_runs ((coalesce(checked_at, created_at))) WHERE status = 'RUNNING';
