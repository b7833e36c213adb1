-- Finds the first row of a CSV file that breaks a rule of checked_telemetry, to name its line in the
-- rejection. Runs only after a conversion failed, on one thread, so that row numbers follow the file.
-- Parameters: $source VARCHAR, the CSV file.
-- Needs: checked_telemetry (create_reader_macros.sql).
-- Output: at most one row (line, problem); line counts the header as line 1.
SELECT
    numbered.line,
    numbered.problem
FROM (
    SELECT
        row_number() OVER () + 1 AS line,
        c.problem
    FROM checked_telemetry($source) AS c
) AS numbered
WHERE numbered.problem IS NOT NULL
ORDER BY numbered.line
LIMIT 1;
