-- Schedules of the embedded engine (src/engine/schedules.ts): each one's definition, counters,
-- buffered and running actions as one document, and when the engine must look at it next.
CREATE TABLE engine_schedules (
  namespace text NOT NULL,
  schedule_id text NOT NULL,
  data jsonb NOT NULL,
  next_wake_at float8,
  PRIMARY KEY (namespace, schedule_id)
);
CREATE INDEX engine_schedules_wake ON engine_schedules (next_wake_at) WHERE next_wake_at IS NOT NULL;
