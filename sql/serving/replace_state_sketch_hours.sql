-- (Re)loads the state-level hourly sketches of some hours, merged from the units holding them. The
-- store keeps them for its newest hours (ServingStore's sketch window, 31 days), where a state quantile
-- over any whole-hour range reads them from memory rather than from unit files; a refresh loads the
-- hours it adds or replaces, and the window's hours not yet held are filled a day at a time.
-- Parameters: $hours TIMESTAMP[]; $sketches VARCHAR[], the sketch.parquet files of the units holding them.
-- Output: level-2 rows of sketch_hour for those hours.
DELETE FROM sketch_hour
WHERE level = 2 AND list_contains($hours, t);

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
WHERE list_contains($hours, k.hour)
GROUP BY k.metric, k.hour, k.region, k.state, k.bucket
ORDER BY k.metric, t;
