-- nango.trackDeletesStart/End: a phase per (sync, model), open from the first start to its end,
-- across runs (a run that fails in between leaves it open, as Nango's checkpointed phase stays).
-- The ids saved meanwhile are kept; the end soft-deletes the model's live records not among them.
CREATE TABLE track_deletes_phases (
  id serial PRIMARY KEY,
  sync_id int NOT NULL REFERENCES syncs(id) ON DELETE CASCADE,
  model text NOT NULL,                           -- full name ("Model" or "Model::variant")
  started_job_id int NOT NULL,
  started_at timestamptz NOT NULL DEFAULT now(),
  UNIQUE (sync_id, model)
);

CREATE TABLE track_deletes_seen (
  phase_id int NOT NULL REFERENCES track_deletes_phases(id) ON DELETE CASCADE,
  external_ids text[] NOT NULL
);
CREATE INDEX track_deletes_seen_by_phase ON track_deletes_seen (phase_id);
