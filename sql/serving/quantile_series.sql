-- Answers p50, p90 and p99 of one metric by hour or by whole day for the nation, one region or one state,
-- looked up in the quantiles computed when each hour and day was loaded (no sketch is merged).
-- Parameters: $metric TINYINT; $level TINYINT (0 nation, 1 a region, 2 a state); $bucket VARCHAR (hour,
-- day); $range_start, $range_end TIMESTAMP (whole days when $bucket is day); $regions, $states VARCHAR[]
-- (empty: no filter; at level 1 one region, at level 2 one state, with or without a region filter).
-- Output: rows (time_key TIMESTAMP, text_key VARCHAR (NULL), p50 DOUBLE, p90 DOUBLE, p99 DOUBLE, n BIGINT),
-- ordered by time.
WITH grains AS (
    SELECT q.*
    FROM quantile_hour AS q
    WHERE $bucket = 'hour'
    UNION ALL
    SELECT q.*
    FROM quantile_day AS q
    WHERE $bucket = 'day'
)

SELECT
    q.t AS time_key,
    NULL AS text_key,
    q.p50,
    q.p90,
    q.p99,
    q.n
FROM grains AS q
WHERE
    q.metric = $metric
    AND q.level = $level
    AND q.t >= $range_start AND q.t < $range_end
    AND (len($regions) = 0 OR list_contains($regions, q.region))
    AND (len($states) = 0 OR list_contains($states, q.state))
ORDER BY time_key;
