-- Replaces the map rollups of some days, and of the hours of the recent window among them, with the merge
-- of every published unit holding rows of them. Hourly map rows are kept only for the recent window (the
-- day grain answers older whole days), which keeps the map tables small in memory.
-- Parameters: $days TIMESTAMP[] (midnights); $window_hours TIMESTAMP[], the hours of the recent window to
-- (re)load; $cells VARCHAR[], the cells.parquet files of the units holding rows of those days.
-- Output: rows of cells_day, cells_hour and cell_centres.
DELETE FROM cells_day
WHERE list_contains($days, t);

DELETE FROM cells_hour
WHERE list_contains($window_hours, t);

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

INSERT OR IGNORE INTO cell_centres
SELECT DISTINCT
    c.cell,
    c.lat,
    c.lon
FROM read_parquet($cells) AS c;
