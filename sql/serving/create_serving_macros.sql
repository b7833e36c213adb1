-- Defines serving_quantiles, the one place where merged sketch buckets become quantiles. It is used when
-- an hour or day is loaded (quantile_hour, quantile_day) and by every quantile question (sketch_query.sql).
-- The answer is the representative value of the bucket holding the row of rank ceil(q n) (1-based), the
-- row DuckDB's quantile_disc returns, so it lies within 2% of it (relative).
-- Parameters: none.
-- Needs (when called): rollup_bucket_value (rollups/create_rollup_macros.sql), installed on the caller's
-- connection.
-- Output: table macro serving_quantiles(source_table), where source_table (a table or CTE name) has the
-- columns metric, level, t, region, state, bucket, n with at most one row per key and bucket; it returns
-- one row per (metric, level, t, region, state): n (the rows), p50, p90, p99.
CREATE OR REPLACE MACRO serving_quantiles(SOURCE_TABLE) AS TABLE
    WITH ranked AS (
        SELECT
            k.metric,
            k.level,
            k.t,
            k.region,
            k.state,
            k.bucket,
            sum(k.n) OVER (
                PARTITION BY k.metric, k.level, k.t, k.region, k.state
                ORDER BY k.bucket ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW
            ) AS running,
            sum(k.n) OVER (PARTITION BY k.metric, k.level, k.t, k.region, k.state) AS total
        -- source_table is the macro's parameter, not a column, hence the noqa.
        FROM query_table(source_table) AS k  -- noqa: RF03
    )

    SELECT
        r.metric,
        r.level,
        r.t,
        r.region,
        r.state,
        cast(any_value(r.total) AS BIGINT) AS n,
        rollup_bucket_value(min(r.bucket) FILTER (WHERE r.running >= greatest(ceil(r.total * 0.5), 1)))
            AS p50,
        rollup_bucket_value(min(r.bucket) FILTER (WHERE r.running >= greatest(ceil(r.total * 0.9), 1)))
            AS p90,
        rollup_bucket_value(min(r.bucket) FILTER (WHERE r.running >= greatest(ceil(r.total * 0.99), 1)))
            AS p99
    FROM ranked AS r
    GROUP BY r.metric, r.level, r.t, r.region, r.state;
