-- Reads one Parquet file's footer, to tell a readable lake file from a damaged one.
-- Parameters: $file VARCHAR, a lake file.
-- Output: one row (num_rows); DuckDB raises an error for a file whose footer cannot be read.
SELECT m.num_rows
FROM parquet_file_metadata($file) AS m;
