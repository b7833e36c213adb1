-- Fills cells_edge with one metric's map rows of some hours older than the recent window, read from the units
-- holding them (kept for the cursor's next map of the metric over the same range, as load_sketch_edge.sql).
-- The rows of $hours are added; those of $minus_hours are subtracted (count and sum negated; min and max are
-- not subtracted, so the caller asks for this only for count and avg): hours of a partial day outside the
-- range, taken from that whole day's cells, which the question also reads. With $by_day the hours are merged
-- per day as they load (as load_sketch_edge.sql; a map never groups by time).
-- Parameters: $metric TINYINT; $hours, $minus_hours TIMESTAMP[]; $by_day BOOLEAN; $files VARCHAR[], the
-- units' cells.parquet files.
-- Output: the rows of cells_edge replaced.
DELETE FROM cells_edge;

INSERT INTO cells_edge
SELECT
    CASE WHEN $by_day THEN date_trunc('day', c.hour) ELSE c.hour END AS t,
    c.region,
    c.state,
    c.cell,
    c.metric,
    sum(CASE WHEN list_contains($minus_hours, c.hour) THEN -c.n ELSE c.n END) AS n,
    sum(CASE WHEN list_contains($minus_hours, c.hour) THEN -c.s1 ELSE c.s1 END) AS s1,
    min(c.lo) AS lo,
    max(c.hi) AS hi
FROM read_parquet($files) AS c
WHERE c.metric = $metric AND (list_contains($hours, c.hour) OR list_contains($minus_hours, c.hour))
GROUP BY c.metric, t, c.region, c.state, c.cell;
