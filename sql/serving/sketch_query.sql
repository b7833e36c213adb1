-- Answers p50, p90 and p99 of one metric from the merged sketches, grouped by time (hour or day), by
-- region or state, or not at all. The range comes as in stats_query.sql: two runs of hours from
-- sketch_hour and one run of days from sketch_day. The sketch level is the coarsest that holds the
-- filter and the grouping (0 nation, 1 region, 2 state), so a national question merges one pre-merged
-- sketch per hour or day rather than 49.
-- State-level hours older than the recent window come from sketch_edge (this cursor's rows, read from the
-- unit files; empty unless the question needs them).
-- Parameters: $metric TINYINT; $level TINYINT; $group VARCHAR (hour, day, region, state,
-- none); $h1_start, $h1_end, $h2_start, $h2_end, $d_start, $d_end TIMESTAMP; $regions, $states VARCHAR[].
-- Needs: serving_quantiles (serving/create_serving_macros.sql).
-- Output: rows (time_key TIMESTAMP, text_key VARCHAR, p50 DOUBLE, p90 DOUBLE, p99 DOUBLE, n BIGINT).
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

-- serving_quantiles reads this CTE by its name, which the linter does not see, hence the noqa.
merged AS (  -- noqa: ST03
    SELECT
        $metric AS metric,
        $level AS level,
        CASE $group WHEN 'hour' THEN p.t WHEN 'day' THEN date_trunc('day', p.t) END AS t,
        CASE $group WHEN 'region' THEN p.region WHEN 'state' THEN p.state END AS region,
        NULL AS state,
        p.bucket,
        sum(p.n) AS n
    FROM picked AS p
    GROUP BY ALL
)

SELECT
    q.t AS time_key,
    q.region AS text_key,
    q.p50,
    q.p90,
    q.p99,
    q.n
FROM serving_quantiles('merged') AS q
ORDER BY q.t, q.region;
