-- A token refresh claims its connection's row for the length of the provider call instead of
-- holding a transaction (and a pooled database connection) open during it. A claim whose holder
-- died lapses at claimed_until.
ALTER TABLE connection_refreshes ADD COLUMN claimed_until timestamptz;
