-- Counts, per lake file, the rows whose (site, datetime) key a staged source would add a second time.
-- Python passes only the lake files of the hours the staged source touches, so a source for a new hour
-- pays nothing here.
-- Parameters: $lake_files VARCHAR[], published lake files of other sources in those hours;
-- $staged VARCHAR[], the staged source's Parquet files in those hours.
-- Output: one row per lake file that overlaps (lake_file, overlapping), most overlapping first.
SELECT
    l.filename AS lake_file,
    count(*) AS overlapping
FROM read_parquet($lake_files, filename = TRUE) AS l  -- noqa: RF02
SEMI JOIN read_parquet($staged) AS s  -- noqa: RF02
    ON l.site = s.site AND l.datetime = s.datetime
GROUP BY l.filename
ORDER BY overlapping DESC, lake_file ASC;
