-- Compresses what a load or a compaction wrote to the serving store's database: DuckDB keeps rows as
-- written until the database is checkpointed, then stores each column segment compressed. Queries on
-- other connections go on meanwhile (they read the committed tables either way).
-- Parameters: none.
-- Output: the database serving checkpointed.
CHECKPOINT serving;
