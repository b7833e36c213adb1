-- Fills cells_edge with one metric's map rows of some hours older than the recent window, read from the
-- units holding them (at most the 23 hours of a range's leading partial day).
-- Parameters: $metric TINYINT; $hours TIMESTAMP[]; $cells VARCHAR[], the units' cells.parquet files.
-- Output: the rows of cells_edge replaced.
DELETE FROM cells_edge;

INSERT INTO cells_edge
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
WHERE c.metric = $metric AND list_contains($hours, c.hour)
GROUP BY c.metric, c.hour, c.region, c.state, c.cell;
