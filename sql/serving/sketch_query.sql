-- Answers p50, p90 and p99 of one metric from the merged sketches, grouped by time (hour or day), by
-- region or state, or not at all. The range comes as in stats_query.sql: two runs of hours from
-- sketch_hour and one run of days from sketch_day, picked by serving_sketch_rows. The sketch level is the
-- coarsest that holds the filter and the grouping (0 nation, 1 region, 2 state), so a national question
-- merges one pre-merged sketch per hour or day rather than 49. Counts subtracted from a whole day (negative
-- rows of sketch_edge) can leave a bucket empty: those are dropped.
-- Parameters: $metric TINYINT; $level TINYINT; $group VARCHAR (hour, day, region, state,
-- none); $h1_start, $h1_end, $h2_start, $h2_end, $d_start, $d_end, $m1_start, $m1_end, $m2_start,
-- $m2_end TIMESTAMP (hours of whole days subtracted, see _plan_edges); $regions, $states VARCHAR[]; $edges
-- BOOLEAN (read the cursor's sketch_edge, loaded for this range).
-- Needs: serving_sketch_rows, serving_quantiles (serving/create_serving_macros.sql).
-- Output: rows (time_key TIMESTAMP, text_key VARCHAR, p50 DOUBLE, p90 DOUBLE, p99 DOUBLE, n BIGINT).
-- serving_quantiles reads this CTE by its name, which the linter does not see, hence the noqa.
WITH merged AS (  -- noqa: ST03
    SELECT
        $metric AS metric,
        $level AS level,
        CASE $group WHEN 'hour' THEN p.t WHEN 'day' THEN date_trunc('day', p.t) END AS t,
        CASE $group WHEN 'region' THEN p.region WHEN 'state' THEN p.state END AS region,
        NULL AS state,
        p.bucket,
        -- A BIGINT, not the HUGEINT of a sum, for the quantiles' window sums.
        cast(sum(p.n) AS BIGINT) AS n
    FROM
        serving_sketch_rows(
            $metric, $level, $regions, $states, $h1_start, $h1_end, $h2_start, $h2_end, $d_start, $d_end,
            $m1_start, $m1_end, $m2_start, $m2_end, $edges
        ) AS p
    GROUP BY ALL
    HAVING sum(p.n) > 0
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
