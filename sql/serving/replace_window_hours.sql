-- (Re)loads the hourly rows kept for the recent window only: map cells and state-level sketches of some
-- hours, merged from the units holding them.
-- Parameters: $window_hours TIMESTAMP[]; $sketches VARCHAR[] and $cells VARCHAR[], the sketch.parquet
-- and cells.parquet files of the units holding those hours.
-- Output: rows of cells_hour and sketch_hour (level 2) for those hours.
DELETE FROM cells_hour
WHERE list_contains($window_hours, t);

DELETE FROM sketch_hour
WHERE level = 2 AND list_contains($window_hours, t);

INSERT INTO cells_hour
SELECT
    c.hour AS t,
    c.region,
    c.state,
    c.cell,
    c.metric,
    sum(c.n) AS n,
    sum(c.s1) AS s1,
    min(c.lo) AS lo,
    max(c.hi) AS hi
FROM read_parquet($cells) AS c
WHERE list_contains($window_hours, c.hour)
GROUP BY c.metric, c.hour, c.region, c.state, c.cell
ORDER BY c.metric, t;

INSERT INTO sketch_hour
SELECT
    cast(2 AS TINYINT) AS level,
    k.hour AS t,
    k.region,
    k.state,
    k.metric,
    k.bucket,
    sum(k.n) AS n
FROM read_parquet($sketches) AS k
WHERE list_contains($window_hours, k.hour)
GROUP BY k.metric, k.hour, k.region, k.state, k.bucket
ORDER BY k.metric, t;
