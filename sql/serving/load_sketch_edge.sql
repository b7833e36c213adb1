-- Fills sketch_edge with one metric's state-level sketch rows of some hours older than the recent window,
-- read from the units holding them, for a quantile by state (or with a state filter) at hour grain.
-- Parameters: $metric TINYINT; $hours TIMESTAMP[]; $sketches VARCHAR[], the units' sketch.parquet files;
-- $regions, $states VARCHAR[] (empty: no filter).
-- Output: the rows of sketch_edge replaced.
DELETE FROM sketch_edge;

INSERT INTO sketch_edge
SELECT
    k.hour AS t,
    k.region,
    k.state,
    k.bucket,
    sum(k.n) AS n
FROM read_parquet($sketches) AS k
WHERE
    k.metric = $metric
    AND list_contains($hours, k.hour)
    AND (len($regions) = 0 OR list_contains($regions, k.region))
    AND (len($states) = 0 OR list_contains($states, k.state))
GROUP BY k.hour, k.region, k.state, k.bucket;
