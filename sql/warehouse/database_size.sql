-- Reads how many storage blocks the open database file claims, to catch a file truncated on disk: DuckDB
-- opens such a file without complaint and fails only when a missing block is read.
-- Parameters: none.
-- Output: one row (total_blocks, block_size).
SELECT
    total_blocks,
    block_size
FROM pragma_database_size()
WHERE database_name = current_database();
