-- Writes the rows the last lenient read set aside to a CSV rejects file beside the warehouse's state, never
-- into the lake: the source, the line, the column, DuckDB's error type and message, and the raw line.
-- Parameters: $source VARCHAR, the CSV file; $target VARCHAR, the rejects file to write (a temporary name
-- that Python renames into place).
-- Needs: reject_errors and reject_scans, written by read_csv's store_rejects.
-- Output: the CSV file, one row per set-aside line (its first error, when DuckDB found several), in line
-- order.
COPY (
    SELECT
        $source AS source,
        e.line,
        e.column_name,
        e.error_type,
        e.error_message AS reason,
        e.csv_line AS raw_line
    FROM reject_errors AS e
    WHERE e.scan_id = (SELECT max(s.scan_id) FROM reject_scans AS s)
    QUALIFY row_number() OVER (PARTITION BY e.line ORDER BY e.column_idx) = 1
    ORDER BY e.line
) TO $target (FORMAT csv, HEADER TRUE);
