-- Reads how many storage blocks the open database file uses (each must lie inside the file), to catch
-- a file truncated on disk: DuckDB opens such a file without complaint and fails only when a missing
-- block is read.
-- Parameters: none.
-- Output: one row (used_blocks, block_size).
SELECT
    used_blocks,
    block_size
FROM pragma_database_size()
WHERE database_name = current_database();
