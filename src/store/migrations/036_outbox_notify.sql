-- A statement that adds rows to an outbox tells the processes draining it (LISTEN syncline_outbox),
-- once at its commit, naming its schema: they drain at once instead of polling four times a second.
CREATE FUNCTION syncline_outbox_written() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  PERFORM pg_notify('syncline_outbox', current_schema());
  RETURN NULL;
END $$;

CREATE TRIGGER sync_lifecycle_events_written AFTER INSERT ON sync_lifecycle_events FOR EACH STATEMENT EXECUTE FUNCTION syncline_outbox_written();
CREATE TRIGGER auth_events_written AFTER INSERT ON auth_events FOR EACH STATEMENT EXECUTE FUNCTION syncline_outbox_written();
