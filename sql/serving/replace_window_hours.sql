-- (Re)loads the hourly map cells kept for the recent window only, merged from the units holding them.
-- Parameters: $window_hours TIMESTAMP[]; $cells VARCHAR[], the cells.parquet files of the units holding
-- those hours.
-- Output: rows of cells_hour for those hours.
DELETE FROM cells_hour
WHERE list_contains($window_hours, t);

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
