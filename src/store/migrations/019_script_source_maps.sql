-- The source map of each deployed bundle (sent by `syncline deploy`), so stack traces in run logs
-- and errors point at the script's TypeScript lines. Null for bundles deployed without one.
ALTER TABLE scripts ADD COLUMN IF NOT EXISTS source_map text;
