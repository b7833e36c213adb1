-- Histogram bins of one metric from the merged sketches: the non-empty sketch buckets, in value order, are
-- gathered into at most $bins bins of as many buckets each (so bins are about equal in log scale, and a
-- gap between negative and positive values costs nothing); each bin's edges are its buckets' outer edges,
-- and its count is exact. Range and level as in sketch_query.sql, without grouping.
-- State-level hours older than the recent window come from sketch_edge (this cursor's rows, read from the
-- unit files; empty unless the question needs them).
-- Parameters: $metric TINYINT; $level TINYINT; $bins INTEGER; $h1_start, $h1_end, $h2_start, $h2_end,
-- $d_start, $d_end TIMESTAMP; $regions, $states VARCHAR[].
-- Needs: rollup_bucket_lower, rollup_bucket_upper (rollups/create_rollup_macros.sql).
-- Output: rows (lower DOUBLE, upper DOUBLE, n BIGINT), ordered by lower.
WITH picked AS (
    SELECT
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
        k.bucket,
        k.n
    FROM sketch_edge AS k
    UNION ALL
    SELECT
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
        p.bucket,
        sum(p.n) AS n
    FROM picked AS p
    GROUP BY p.bucket
),

binned AS (
    SELECT
        m.bucket,
        m.n,
        (row_number() OVER (ORDER BY m.bucket) - 1) * $bins // count(*) OVER () AS bin
    FROM merged AS m
)

SELECT
    rollup_bucket_lower(min(b.bucket)) AS lower,
    rollup_bucket_upper(max(b.bucket)) AS upper,
    cast(sum(b.n) AS BIGINT) AS n
FROM binned AS b
GROUP BY b.bin
ORDER BY lower;
