-- Fills sketch_edge with one metric's state-level sketch rows of some hours older than the recent window,
-- read from the units holding them, for a quantile by state (or with a state filter). The rows of $hours
-- are added; those of $minus_hours are subtracted (their counts negated): hours of a partial day outside
-- the range, taken from that whole day's sketch, which the question also reads (fewer files to read).
-- Parameters: $metric TINYINT; $hours, $minus_hours TIMESTAMP[]; $sketches VARCHAR[], the units'
-- sketch.parquet files; $regions, $states VARCHAR[] (empty: no filter).
-- Output: the rows of sketch_edge replaced.
DELETE FROM sketch_edge;

INSERT INTO sketch_edge
SELECT
    k.hour AS t,
    k.region,
    k.state,
    k.bucket,
    sum(CASE WHEN list_contains($minus_hours, k.hour) THEN -k.n ELSE k.n END) AS n
FROM read_parquet($sketches) AS k
WHERE
    k.metric = $metric
    AND (list_contains($hours, k.hour) OR list_contains($minus_hours, k.hour))
    AND (len($regions) = 0 OR list_contains($regions, k.region))
    AND (len($states) = 0 OR list_contains($states, k.state))
GROUP BY k.hour, k.region, k.state, k.bucket;
