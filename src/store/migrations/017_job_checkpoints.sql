-- The checkpoint a sync run started from and the one it left (Nango's `checkpoints: {from, to}` of
-- sync webhooks); null when the run did not use checkpoints.
ALTER TABLE sync_jobs ADD COLUMN IF NOT EXISTS checkpoints jsonb;
