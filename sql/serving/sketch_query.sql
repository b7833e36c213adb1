-- Answers a quantile (p50, p90 or p99) of one metric from the merged sketches, grouped by time (hour or
-- day), by region or state, or not at all. The range comes as in stats_query.sql: two runs of hours from
-- sketch_hour and one run of days from sketch_day. The sketch level is the coarsest that holds the
-- filter and the grouping (0 nation, 1 region, 2 state), so a national question merges one pre-merged
-- sketch per hour or day rather than 49.
-- The answer is the representative value of the bucket holding the element of rank ceil(q n) (1-based),
-- the element DuckDB's quantile_disc returns, so it lies within 2% of it (relative).
-- State-level hours older than the recent window come from sketch_edge (this cursor's rows, read from the
-- unit files; empty unless the question needs them).
-- Parameters: $metric TINYINT; $q DOUBLE; $level TINYINT; $group VARCHAR (hour, day, region, state,
-- none); $h1_start, $h1_end, $h2_start, $h2_end, $d_start, $d_end TIMESTAMP; $regions, $states VARCHAR[].
-- Needs: rollup_bucket_value (rollups/create_rollup_macros.sql).
-- Output: rows (time_key TIMESTAMP, text_key VARCHAR, value DOUBLE, n BIGINT).
WITH picked AS (
    SELECT
        k.t,
        k.region,
        k.state,
        k.bucket,
        k.n
    FROM sketch_hour AS k
    WHERE
        k.level = $level
        AND k.metric = $metric
        AND ((k.t >= $h1_start AND k.t < $h1_end) OR (k.t >= $h2_start AND k.t < $h2_end))
        AND (len($regions) = 0 OR list_contains($regions, k.region))
        AND (len($states) = 0 OR list_contains($states, k.state))
    UNION ALL
    SELECT
        k.t,
        k.region,
        k.state,
        k.bucket,
        k.n
    FROM sketch_edge AS k
    UNION ALL
    SELECT
        k.t,
        k.region,
        k.state,
        k.bucket,
        k.n
    FROM sketch_day AS k
    WHERE
        k.level = $level
        AND k.metric = $metric
        AND k.t >= $d_start AND k.t < $d_end
        AND (len($regions) = 0 OR list_contains($regions, k.region))
        AND (len($states) = 0 OR list_contains($states, k.state))
),

merged AS (
    SELECT
        CASE $group WHEN 'hour' THEN p.t WHEN 'day' THEN date_trunc('day', p.t) END AS time_key,
        CASE $group WHEN 'region' THEN p.region WHEN 'state' THEN p.state END AS text_key,
        p.bucket,
        sum(p.n) AS n
    FROM picked AS p
    GROUP BY ALL
),

ranked AS (
    SELECT
        m.time_key,
        m.text_key,
        m.bucket,
        sum(m.n) OVER (
            PARTITION BY m.time_key, m.text_key
            ORDER BY m.bucket ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW
        ) AS running,
        sum(m.n) OVER (PARTITION BY m.time_key, m.text_key) AS total
    FROM merged AS m
)

SELECT
    r.time_key,
    r.text_key,
    rollup_bucket_value(min(r.bucket) FILTER (WHERE r.running >= greatest(ceil(r.total * $q), 1))) AS value,
    cast(any_value(r.total) AS BIGINT) AS n
FROM ranked AS r
GROUP BY r.time_key, r.text_key
ORDER BY r.time_key, r.text_key;
