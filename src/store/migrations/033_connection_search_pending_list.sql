-- The trigram indexes of 018 keep new entries in GIN's pending list until a vacuum, or until the
-- list reaches gin_pending_list_limit (4 MB by default). The planner counts every pending page into
-- an index scan's cost and a scan reads the whole list, so once a few thousand connections had been
-- written since the last vacuum a search read every connection again: over 10,000 connections just
-- written, a Seq Scan of 62 ms instead of 1.5 ms on the indexes. With the least limit (64 kB) the
-- insert that fills the list moves it into the index, so it never holds more than 8 pages.
-- The lists already pending are moved now.
DO $$
DECLARE
  name text;
BEGIN
  FOREACH name IN ARRAY ARRAY['connections_search_id', 'connections_search_end_user_id', 'connections_search_email', 'connections_search_name'] LOOP
    IF to_regclass(name) IS NOT NULL THEN
      EXECUTE format('ALTER INDEX %I SET (gin_pending_list_limit = 64)', name);
      PERFORM gin_clean_pending_list(to_regclass(name));
    END IF;
  END LOOP;
END $$;
