-- Opens the serving store's database, once, on the store's first connection: an in-memory database that
-- DuckDB compresses when it is checkpointed (after each load), made the connection's default. The store's
-- tables hold sorted keys, counts and sums that DuckDB's light-weight compression (run lengths, bit packing)
-- shrinks about fivefold (docs/benchmarks.md); the default in-memory database is never compressed.
-- Every other connection (a cursor is one) finds it attached and makes it its default (use_store.sql).
-- The noqa: the DuckDB dialect of sqlfluff cannot parse ATTACH.
-- Parameters: none.
-- Output: the database serving, attached, and this connection's default database.
ATTACH ':memory:' AS serving (COMPRESS);  -- noqa: PRS

USE serving;
