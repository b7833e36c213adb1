-- Answers the distribution of one metric over a range from one merge of its sketches: p50, p90, p99, the
-- row count, and histogram bins. Range and level as in sketch_merge.sql (serving_sketch_rows), without
-- grouping. Bins: the non-empty merged buckets, in value order, are gathered into at most $bins bins of as
-- many buckets each (so bins are about equal in log scale, and a gap between negative and positive values
-- costs nothing); each bin's edges are its buckets' outer edges, and its count is exact.
-- Parameters: $metric TINYINT; $level TINYINT; $bins INTEGER; $h1_start, $h1_end, $h2_start, $h2_end,
-- $d_start, $d_end, $m1_start, $m1_end, $m2_start, $m2_end TIMESTAMP (hours of whole days subtracted, see
-- _plan_edges in library.py); $regions, $states VARCHAR[]; $edges BOOLEAN (read the cursor's sketch_edge,
-- loaded for this range).
-- Needs: serving_sketch_rows, serving_quantiles (serving/create_serving_macros.sql); rollup_bucket_lower,
-- rollup_bucket_upper (rollups/create_rollup_macros.sql).
-- Output: no row when the range holds no rows; else one row (p50 DOUBLE, p90 DOUBLE, p99 DOUBLE, n BIGINT,
-- bins STRUCT(lower DOUBLE, upper DOUBLE, n BIGINT)[] ordered by lower).
-- The merge is read twice (quantiles and bins), so it is materialized once. serving_quantiles reads it by its
-- name, which the linter does not see, hence the noqa.
WITH merged AS MATERIALIZED (  -- noqa: ST03
    SELECT
        $metric AS metric,
        $level AS level,
        cast(NULL AS TIMESTAMP) AS t,
        cast(NULL AS VARCHAR) AS region,
        cast(NULL AS VARCHAR) AS state,
        p.bucket,
        -- A BIGINT, not the HUGEINT of a sum, for the quantiles' window sums.
        cast(sum(p.n) AS BIGINT) AS n
    FROM
        serving_sketch_rows(
            $metric, $level, $regions, $states, $h1_start, $h1_end, $h2_start, $h2_end, $d_start, $d_end,
            $m1_start, $m1_end, $m2_start, $m2_end, $edges
        ) AS p
    GROUP BY p.bucket
    HAVING sum(p.n) > 0
),

binned AS (
    SELECT
        m.bucket,
        m.n,
        (row_number() OVER (ORDER BY m.bucket) - 1) * $bins // count(*) OVER () AS bin
    FROM merged AS m
),

bins AS (
    SELECT
        rollup_bucket_lower(min(b.bucket)) AS lower,
        rollup_bucket_upper(max(b.bucket)) AS upper,
        cast(sum(b.n) AS BIGINT) AS n
    FROM binned AS b
    GROUP BY b.bin
)

SELECT
    q.p50,
    q.p90,
    q.p99,
    q.n,
    (SELECT list({ 'lower': b.lower, 'upper': b.upper, 'n': b.n } ORDER BY b.lower) FROM bins AS b) AS bins
FROM serving_quantiles('merged') AS q;
