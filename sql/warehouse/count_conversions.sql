-- Counts the source files converted into any lake, and their rows.
-- Parameters: none.
-- Output: one row (files, rows).
SELECT
    count(*) AS files,
    coalesce(sum(row_count), 0) AS row_count
FROM conversions
WHERE status = 'done';
