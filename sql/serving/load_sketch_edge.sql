-- Fills sketch_edge with one metric's state-level sketch rows, of every state, of some hours older than the
-- recent window, read from the units holding them, for a quantile by state (or with a state filter). The rows
-- of $hours are added; those of $minus_hours are subtracted (their counts negated): hours of a partial day
-- outside the range, taken from that whole day's sketch, which the question also reads (fewer files to
-- read). Every state, so that the cursor's next question on the metric over the same range (another state
-- filter or quantile, a distribution beside a breakdown: one page of the dashboard) reads no file. One
-- metric, because a cursor per server thread holds its own: twelve hours of every metric would be 2 million
-- rows (237 MB with the map's) per thread. With $by_day (a question that does not group by hour) the hours
-- are merged per day as they load: a day's rows, not each hour's, a tenth as many to insert and merge again.
-- Parameters: $metric TINYINT; $hours, $minus_hours TIMESTAMP[]; $by_day BOOLEAN; $files VARCHAR[], the
-- units' sketch.parquet files.
-- Output: the rows of sketch_edge replaced.
DELETE FROM sketch_edge;

INSERT INTO sketch_edge
SELECT
    CASE WHEN $by_day THEN date_trunc('day', k.hour) ELSE k.hour END AS t,
    k.region,
    k.state,
    k.metric,
    k.bucket,
    sum(CASE WHEN list_contains($minus_hours, k.hour) THEN -k.n ELSE k.n END) AS n
FROM read_parquet($files) AS k
WHERE
    k.metric = $metric
    AND (list_contains($hours, k.hour) OR list_contains($minus_hours, k.hour))
GROUP BY k.metric, t, k.region, k.state, k.bucket;
