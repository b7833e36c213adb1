-- Replaces the hourly statistics, the nation- and region-level hourly sketches and the hourly quantiles of
-- some hours with the merge of every published unit holding rows of them (several sources may share an
-- hour, e.g. one file per region), then the per-hour row counts. Runs inside the refresh's transaction, so
-- a query sees all of a change or none of it. State-level hourly sketches are kept for the sketch window
-- only (replace_state_sketch_hours.sql), and filled a day at a time; their quantiles are kept for every
-- hour here, computed while the units' rows are at hand.
-- Statistics are merged at the six levels of create_tables.sql in one pass (GROUPING SETS).
-- Parameters: $hours TIMESTAMP[], the hours to replace; $stats VARCHAR[] and $sketches VARCHAR[], the
-- stats.parquet and sketch.parquet files of the units holding those hours (at least one each).
-- Needs: serving_quantiles (serving/create_serving_macros.sql).
-- Output: rows of stats_hour, sketch_hour (levels 0 and 1), quantile_hour and hour_rows for those hours.
DELETE FROM stats_hour
WHERE list_contains($hours, t);

DELETE FROM sketch_hour
WHERE level < 2 AND list_contains($hours, t);

DELETE FROM quantile_hour
WHERE list_contains($hours, t);

DELETE FROM hour_rows
WHERE list_contains($hours, t);

INSERT INTO stats_hour BY NAME
SELECT
    s.metric,
    cast(
        CASE WHEN grouping(s.state) = 0 THEN 2 WHEN grouping(s.region) = 0 THEN 1 ELSE 0 END
        + CASE WHEN grouping(s.band) = 0 THEN 3 ELSE 0 END AS TINYINT
    ) AS level,
    s.hour AS t,
    s.region,
    s.state,
    s.band,
    sum(s.n) AS n,
    sum(s.s1) AS s1,
    sum(s.s2) AS s2,
    min(s.lo) AS lo,
    max(s.hi) AS hi
FROM read_parquet($stats) AS s
WHERE list_contains($hours, s.hour)
GROUP BY
    GROUPING SETS (
        (s.metric, s.hour),
        (s.metric, s.hour, s.region),
        (s.metric, s.hour, s.region, s.state),
        (s.metric, s.hour, s.band),
        (s.metric, s.hour, s.region, s.band),
        (s.metric, s.hour, s.region, s.state, s.band)
    )
ORDER BY s.metric, level, t;

CREATE OR REPLACE TEMP TABLE loading_sketch AS
SELECT
    k.metric,
    cast(
        CASE WHEN grouping(k.state) = 0 THEN 2 WHEN grouping(k.region) = 0 THEN 1 ELSE 0 END AS TINYINT
    ) AS level,
    k.hour AS t,
    k.region,
    k.state,
    k.bucket,
    sum(k.n) AS n
FROM read_parquet($sketches) AS k
WHERE list_contains($hours, k.hour)
GROUP BY
    GROUPING SETS (
        (k.metric, k.hour, k.bucket),
        (k.metric, k.hour, k.region, k.bucket),
        (k.metric, k.hour, k.region, k.state, k.bucket)
    );

INSERT INTO sketch_hour BY NAME
SELECT
    k.metric,
    k.level,
    k.t,
    k.region,
    k.state,
    k.bucket,
    k.n
FROM loading_sketch AS k
WHERE k.level < 2
ORDER BY k.metric, k.level, k.t;

INSERT INTO quantile_hour BY NAME
SELECT
    q.metric,
    q.level,
    q.t,
    q.region,
    q.state,
    q.n,
    q.p50,
    q.p90,
    q.p99
FROM serving_quantiles('loading_sketch') AS q
ORDER BY q.metric, q.level, q.t;

DROP TABLE loading_sketch;

INSERT INTO hour_rows
SELECT
    s.t,
    s.n
FROM stats_hour AS s
WHERE list_contains($hours, s.t) AND s.metric = 1 AND s.level = 0;
