-- Counts the rows of a staged source that repeat a (site, datetime) key, the natural key of a measurement.
-- Reads only the two key columns of the staged Parquet files, so it costs a fraction of the conversion.
-- Parameters: $staged VARCHAR[], the source's staged Parquet files.
-- Output: one row (repeated), 0 when every key is unique.
SELECT coalesce(sum(k.row_count - 1), 0) AS repeated
FROM (
    SELECT count(*) AS row_count
    FROM read_parquet($staged) AS s
    GROUP BY s.site, s.datetime
) AS k;
