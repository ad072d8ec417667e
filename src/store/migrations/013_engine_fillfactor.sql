-- A run's row is rewritten at every transition. Room left on each page lets Postgres update it in
-- place (a HOT update: none of the five indexes is touched) while its status stays the same.
ALTER TABLE engine_runs SET (fillfactor = 70);
