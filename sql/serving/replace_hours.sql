-- Replaces the hourly statistics and the nation- and region-level hourly sketches of some hours with the
-- merge of every published unit holding rows of them (several sources may share an hour, e.g. one file
-- per region), then the per-hour row counts. Runs inside the refresh's transaction, so a query sees all
-- of a change or none of it. State-level hourly sketches are kept for the recent window only
-- (replace_window_hours.sql): for 30 days they would be the size of the whole store.
-- Parameters: $hours TIMESTAMP[], the hours to replace; $stats VARCHAR[] and $sketches VARCHAR[], the
-- stats.parquet and sketch.parquet files of the units holding those hours (at least one each).
-- Output: rows of stats_hour, sketch_hour (levels 0 and 1) and hour_rows for those hours.
DELETE FROM stats_hour
WHERE list_contains($hours, t);

DELETE FROM sketch_hour
WHERE level < 2 AND list_contains($hours, t);

DELETE FROM hour_rows
WHERE list_contains($hours, t);

INSERT INTO stats_hour
SELECT
    s.hour AS t,
    s.region,
    s.state,
    s.band,
    s.metric,
    sum(s.n) AS n,
    sum(s.s1) AS s1,
    sum(s.s2) AS s2,
    min(s.lo) AS lo,
    max(s.hi) AS hi
FROM read_parquet($stats) AS s
WHERE list_contains($hours, s.hour)
GROUP BY s.metric, s.hour, s.region, s.state, s.band
ORDER BY s.metric, s.hour;

INSERT INTO sketch_hour
SELECT
    cast(CASE WHEN grouping(k.region) = 1 THEN 0 ELSE 1 END AS TINYINT) AS level,
    k.hour AS t,
    k.region,
    NULL AS state,
    k.metric,
    k.bucket,
    sum(k.n) AS n
FROM read_parquet($sketches) AS k
WHERE list_contains($hours, k.hour)
GROUP BY
    GROUPING SETS (
        (k.metric, k.hour, k.bucket),
        (k.metric, k.hour, k.region, k.bucket)
    )
ORDER BY level, k.metric, k.hour;

INSERT INTO hour_rows
SELECT
    s.t,
    sum(s.n) AS n
FROM stats_hour AS s
WHERE list_contains($hours, s.t) AND s.metric = 1
GROUP BY s.t;
