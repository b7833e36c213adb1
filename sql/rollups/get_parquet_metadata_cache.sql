-- Reads whether DuckDB's Parquet metadata cache is on for this connection, to restore it afterwards.
-- Parameters: none.
-- Output: one row (enabled BOOLEAN).
SELECT cast(current_setting('parquet_metadata_cache') AS BOOLEAN) AS enabled;
