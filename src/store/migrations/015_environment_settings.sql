-- How strictly an environment's scripts are held to their models (Nango's runner flags
-- validateActionInput, validateActionOutput, validateSyncRecords). Off: a mismatch is a warning in
-- the run's logs and the run goes on, as in Nango, whose deployed scripts are not held to them.
-- On: the action fails with invalid_action_input / invalid_action_output, the sync run with
-- invalid_sync_record. An environment without a row has every flag off.
CREATE TABLE IF NOT EXISTS environment_settings (
  environment_id int PRIMARY KEY REFERENCES environments(id) ON DELETE CASCADE,
  validate_action_input boolean NOT NULL DEFAULT false,
  validate_action_output boolean NOT NULL DEFAULT false,
  validate_sync_records boolean NOT NULL DEFAULT false,
  updated_at timestamptz NOT NULL DEFAULT now()
);
