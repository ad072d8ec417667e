-- The size of each record's payload as JSON text, written with it, so that a page of records can be
-- bounded in bytes without reading (and decompressing) the payloads it leaves out: a script may save
-- records of many megabytes that Postgres compresses to almost nothing, and 10,000 of them in one
-- GET /records page made a string longer than V8 can hold. Rows written before this migration have
-- none; their size is computed when they are read.
ALTER TABLE records ADD COLUMN data_bytes integer;
