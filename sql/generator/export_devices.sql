-- Writes the devices table to a Parquet file, the copy every tick reads its IDs from.
-- Parameters: $target VARCHAR, the path to write (a temporary name; Python renames it into place).
-- Output: one Parquet file, rows in site order.
COPY devices TO $target (FORMAT parquet, COMPRESSION zstd);
