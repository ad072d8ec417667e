-- Outbox events that keep failing are set aside after OUTBOX_MAX_ATTEMPTS (src/store/outbox.ts)
-- instead of being retried forever: dead_at says when, last_error why. Drains skip them; an operator
-- sees them (GET /environment/outbox/dead, the dashboard's Outbox page) and retries them by hand.
ALTER TABLE auth_events ADD COLUMN IF NOT EXISTS dead_at timestamptz, ADD COLUMN IF NOT EXISTS last_error text;
ALTER TABLE sync_lifecycle_events ADD COLUMN IF NOT EXISTS dead_at timestamptz, ADD COLUMN IF NOT EXISTS last_error text;
