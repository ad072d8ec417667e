-- Trigram indexes for connection search (GET /connections?search=: ILIKE '%text%' on the connection
-- id, end user id, email and display name), so a search no longer reads every connection of the
-- environment. pg_trgm is a trusted extension (Postgres 13+); where it cannot be created (PGlite
-- without the extension, a role without the right) search keeps working without the indexes.
-- The extension goes into public when it can, so the indexes do not depend on a schema that comes
-- and goes; its operator class is named with the schema it is in.
DO $$
BEGIN
  IF NOT EXISTS (SELECT 1 FROM pg_extension WHERE extname = 'pg_trgm') THEN
    BEGIN
      CREATE EXTENSION pg_trgm SCHEMA public;
    EXCEPTION WHEN OTHERS THEN
      BEGIN
        CREATE EXTENSION pg_trgm;
      EXCEPTION WHEN OTHERS THEN
        RAISE NOTICE 'pg_trgm is not available (%): connection search runs without trigram indexes', SQLERRM;
      END;
    END;
  END IF;
END $$;

DO $$
DECLARE
  ops text;
BEGIN
  SELECT format('%I.gin_trgm_ops', n.nspname) INTO ops
  FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace WHERE e.extname = 'pg_trgm';
  IF ops IS NOT NULL THEN
    EXECUTE format('CREATE INDEX IF NOT EXISTS connections_search_id ON connections USING gin (connection_id %s)', ops);
    EXECUTE format('CREATE INDEX IF NOT EXISTS connections_search_end_user_id ON connections USING gin (end_user_id %s)', ops);
    EXECUTE format($f$CREATE INDEX IF NOT EXISTS connections_search_email ON connections USING gin ((end_user ->> 'email') %s)$f$, ops);
    EXECUTE format($f$CREATE INDEX IF NOT EXISTS connections_search_name ON connections USING gin ((end_user ->> 'display_name') %s)$f$, ops);
  END IF;
END $$;
