-- Rebuilds the day grain of some days after their hours changed: statistics from stats_hour (days are
-- derived from hours, never from raw rows), sketches at every level, their quantiles, and map cells from
-- the hourly rows of the units holding those days. A day is labelled by its first hour.
-- Parameters: $days TIMESTAMP[], midnight of each day to rebuild; $sketches VARCHAR[] and $cells
-- VARCHAR[], the sketch.parquet and cells.parquet files of every unit holding rows of those days.
-- Needs: serving_quantiles (serving/create_serving_macros.sql).
-- Output: rows of stats_day, sketch_day, quantile_day, cells_day and cell_centres for those days.
DELETE FROM stats_day
WHERE list_contains($days, t);

DELETE FROM sketch_day
WHERE list_contains($days, t);

DELETE FROM quantile_day
WHERE list_contains($days, t);

DELETE FROM cells_day
WHERE list_contains($days, t);

INSERT INTO stats_day BY NAME
SELECT
    s.metric,
    s.level,
    date_trunc('day', s.t) AS t,
    s.region,
    s.state,
    s.band,
    sum(s.n) AS n,
    sum(s.s1) AS s1,
    sum(s.s2) AS s2,
    min(s.lo) AS lo,
    max(s.hi) AS hi
FROM stats_hour AS s
WHERE list_contains($days, date_trunc('day', s.t))
GROUP BY s.metric, s.level, date_trunc('day', s.t), s.region, s.state, s.band
ORDER BY s.metric, s.level, t;

CREATE OR REPLACE TEMP TABLE loading_sketch AS
SELECT
    k.metric,
    cast(
        CASE WHEN grouping(k.region) = 1 THEN 0 WHEN grouping(k.state) = 1 THEN 1 ELSE 2 END AS TINYINT
    ) AS level,
    date_trunc('day', k.hour) AS t,
    k.region,
    k.state,
    k.bucket,
    sum(k.n) AS n
FROM read_parquet($sketches) AS k
WHERE list_contains($days, date_trunc('day', k.hour))
GROUP BY
    GROUPING SETS (
        (k.metric, date_trunc('day', k.hour), k.bucket),
        (k.metric, date_trunc('day', k.hour), k.region, k.bucket),
        (k.metric, date_trunc('day', k.hour), k.region, k.state, k.bucket)
    );

INSERT INTO sketch_day BY NAME
SELECT
    k.metric,
    k.level,
    k.t,
    k.region,
    k.state,
    k.bucket,
    k.n
FROM loading_sketch AS k
ORDER BY k.metric, k.level, k.t;

INSERT INTO quantile_day BY NAME
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

INSERT INTO cells_day
SELECT
    date_trunc('day', c.hour) AS t,
    c.region,
    c.state,
    c.cell,
    c.metric,
    sum(c.n) AS n,
    sum(c.s1) AS s1,
    min(c.lo) AS lo,
    max(c.hi) AS hi
FROM read_parquet($cells) AS c
WHERE list_contains($days, date_trunc('day', c.hour))
GROUP BY c.metric, date_trunc('day', c.hour), c.region, c.state, c.cell
ORDER BY c.metric, t;

INSERT OR IGNORE INTO cell_centres
SELECT DISTINCT
    c.cell,
    c.lat,
    c.lon
FROM read_parquet($cells) AS c;
