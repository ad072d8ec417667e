-- A connection written while its integration's validate-connection scripts judge it. `validation`
-- is NULL for a settled connection; while pending it is {"operation": "creation"} for a connection
-- that did not exist before, or {"operation": "override", "previous": {...}} holding the columns
-- it replaced, so a refusal puts them back. A pending creation is announced (lifecycle event: syncs,
-- post-connection-creation) only once it is settled, and a refused one leaves without a trace.
ALTER TABLE connections ADD COLUMN validation jsonb;

DROP TRIGGER connections_created ON connections;
CREATE TRIGGER connections_created AFTER INSERT ON connections FOR EACH ROW
  WHEN (NEW.validation IS NULL) EXECUTE FUNCTION syncline_connection_created();
CREATE TRIGGER connections_validated AFTER UPDATE OF validation ON connections FOR EACH ROW
  WHEN (OLD.validation ->> 'operation' = 'creation' AND NEW.validation IS NULL) EXECUTE FUNCTION syncline_connection_created();

DROP TRIGGER connections_deleted ON connections;
CREATE TRIGGER connections_deleted AFTER DELETE ON connections FOR EACH ROW
  WHEN (OLD.validation IS NULL OR OLD.validation ->> 'operation' <> 'creation') EXECUTE FUNCTION syncline_connection_deleted();
