-- The closing line of an execution's log ("Sync "x" succeeded in 0.12 s (Item: 3 added, ...)"),
-- formatted where the facts are: a sync job's end then writes its row and its log lines in one
-- statement, reading the counts its record writes summed up (sync_jobs.result) as it ends.
-- `counts`: {model: {added, updated, deleted}}; `error`: {type, message}; the line is cut to
-- `max_bytes` bytes (at a character boundary), marked "… [truncated]".
CREATE OR REPLACE FUNCTION outcome_message(
  operation text, script text, success boolean, started_at timestamptz, finished_at timestamptz, counts jsonb, error jsonb, max_bytes integer
) RETURNS text LANGUAGE plpgsql STABLE AS $$
DECLARE
  message text;
  written text;
  suffix constant text := '… [truncated]';
  room integer;
BEGIN
  message := format('%s "%s" %s %s s',
    CASE operation WHEN 'sync' THEN 'Sync' WHEN 'action' THEN 'Action' ELSE 'Webhook handler' END,
    script,
    CASE WHEN success THEN 'succeeded in' ELSE 'failed after' END,
    to_char(extract(epoch FROM finished_at - started_at), 'FM999999999990.00'));
  IF NOT success THEN
    message := message || format(': %s: %s', coalesce(error->>'type', 'error'), coalesce(error->>'message', ''));
  END IF;
  IF operation <> 'action' THEN
    SELECT string_agg(format('%s: %s added, %s updated, %s deleted', c.key, c.value->>'added', c.value->>'updated', c.value->>'deleted'), '; ' ORDER BY c.n)
      INTO written FROM jsonb_each(coalesce(counts, '{}')) WITH ORDINALITY AS c(key, value, n);
    message := message || ' (' || coalesce(written, 'no changes') || ')';
  END IF;
  IF octet_length(message) > max_bytes THEN
    room := max_bytes - octet_length(suffix);
    message := left(message, room);
    -- A character is at most 4 bytes: dropping a quarter of the excess in characters never cuts too much.
    WHILE octet_length(message) > room LOOP
      message := left(message, length(message) - greatest(1, (octet_length(message) - room) / 4));
    END LOOP;
    message := message || suffix;
  END IF;
  RETURN message;
END $$;
