-- Finds the first (site, datetime) key a CSV file repeats, with the lines of its first two rows, to name
-- them in the rejection. Runs only after count_repeated_keys.sql found one, on one thread, so that row
-- numbers follow the file. "First" is the key whose second row comes earliest.
-- Parameters: $source VARCHAR, the CSV file.
-- Needs: checked_telemetry (create_reader_macros.sql).
-- Output: at most one row (site, datetime, first_line, second_line); line 1 is the header.
SELECT
    repeated.site,
    repeated.datetime,
    repeated.lines[1] AS first_line,
    repeated.lines[2] AS second_line
FROM (
    SELECT
        numbered.site,
        numbered.datetime,
        list(numbered.line ORDER BY numbered.line) AS lines
    FROM (
        SELECT
            c.site,
            c.datetime,
            row_number() OVER () + 1 AS line
        FROM checked_telemetry($source) AS c
    ) AS numbered
    GROUP BY numbered.site, numbered.datetime
    HAVING count(*) > 1
) AS repeated
ORDER BY second_line
LIMIT 1;
