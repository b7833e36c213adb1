-- Merges the sketches one quantile question or distribution reads into buckets per group (time, region or
-- state, or none), ordered by group and bucket; serving/ranking.py then picks p50, p90 and p99 of every
-- group from the running counts, and gathers a distribution's buckets into bins, looking up the picked
-- buckets' values and edges (serving/bucket_values.sql): computed here for every merged bucket, they were
-- a quarter of a 30-day state breakdown's statement. The range comes as in stats_query.sql:
-- two runs of hours from sketch_hour and one run of days from sketch_day, picked by serving_sketch_rows.
-- The sketch level is the coarsest that holds the filter and the grouping (0 nation, 1 region, 2 state),
-- so a national question merges one pre-merged sketch per hour or day rather than 49. Counts subtracted
-- from a whole day (negative rows of sketch_edge) can leave a bucket empty: those are dropped.
-- The ranking is not a window here: DuckDB's window costs about 6 ms on the 12,000 merged buckets of a
-- 30-day state breakdown, which Python's numpy ranks in a fraction of a millisecond (docs/benchmarks.md).
-- Parameters: $metric TINYINT; $level TINYINT; $group VARCHAR (hour, day, region, state,
-- none: one group); $h1_start, $h1_end, $h2_start, $h2_end, $d_start, $d_end, $m1_start, $m1_end, $m2_start,
-- $m2_end TIMESTAMP (hours of whole days subtracted, see _plan_edges); $regions, $states VARCHAR[]; $edges
-- BOOLEAN (read the cursor's sketch_edge, loaded for this range); $running_to, $running_before TIMESTAMP
-- (a run of days from sketch_running, or NULL).
-- Needs: serving_sketch_rows (serving/create_serving_macros.sql).
-- Output: rows (time_key TIMESTAMP, text_key VARCHAR, bucket SMALLINT, n BIGINT), ordered by time_key,
-- text_key, bucket; n > 0.
SELECT
    m.time_key,
    -- After the merge: grouped as the sketch tables' one-byte serving_place, answered as text.
    cast(m.text_key AS VARCHAR) AS text_key,
    m.bucket,
    m.n
FROM (
    SELECT
        CASE $group WHEN 'hour' THEN p.t WHEN 'day' THEN date_trunc('day', p.t) END AS time_key,
        CASE $group WHEN 'region' THEN p.region WHEN 'state' THEN p.state END AS text_key,
        p.bucket,
        -- A BIGINT, not the HUGEINT of a sum, for numpy's running counts.
        cast(sum(p.n) AS BIGINT) AS n
    FROM
        serving_sketch_rows(
            $metric, $level, $regions, $states, $h1_start, $h1_end, $h2_start, $h2_end, $d_start, $d_end,
            $m1_start, $m1_end, $m2_start, $m2_end, $edges, $running_to, $running_before
        ) AS p
    GROUP BY time_key, text_key, p.bucket
    HAVING sum(p.n) > 0
) AS m
ORDER BY m.time_key, m.text_key, m.bucket;
