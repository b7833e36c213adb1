-- Defines serving_sketch_rows (below) and serving_quantiles, where merged sketch buckets become quantiles
-- in SQL. serving_quantiles is used when an hour or day is loaded (quantile_hour, quantile_day); a
-- question (a quantile, a distribution) ranks its merged buckets with the same rule in numpy
-- (duckwifi/serving/ranking.py), which the tests hold to this macro. The answer is the
-- representative value of the bucket holding the row of rank ceil(q n) (1-based), the row DuckDB's
-- quantile_disc returns, so it lies within 2% of it (relative).
-- The levels q are not written here: they are the values of catalogue.QUANTILES, passed in as $levels and
-- kept in the one-row table serving_quantile_levels, which the macro reads.
-- Parameters: $levels DOUBLE[], the levels of p50, p90 and p99, in that order.
-- Needs (when called): rollup_bucket_value (rollups/create_rollup_macros.sql), installed on the caller's
-- connection.
-- Output: table serving_quantile_levels; table macro serving_sketch_rows (described below); table macro
-- serving_quantiles(source_table), where source_table (a table or CTE name) has the columns metric, level,
-- t, region, state, bucket, n with at most one row per key and bucket; it returns one row per (metric,
-- level, t, region, state): n (the rows), p50, p90, p99.
CREATE OR REPLACE TABLE serving_quantile_levels AS
SELECT
    cast($levels AS DOUBLE[])[1] AS q50,
    cast($levels AS DOUBLE[])[2] AS q90,
    cast($levels AS DOUBLE[])[3] AS q99;

-- The levels join after the window, as three numbers: carried through the window's sort as a list on every
-- row, they made a question's ranking about 13% slower.
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
        FROM query_table(source_table) AS k  -- noqa: RF02, RF03
    )

    SELECT
        r.metric,
        r.level,
        r.t,
        r.region,
        r.state,
        cast(any_value(r.total) AS BIGINT) AS n,
        rollup_bucket_value(min(r.bucket) FILTER (WHERE r.running >= greatest(ceil(r.total * l.q50), 1)))
            AS p50,
        rollup_bucket_value(min(r.bucket) FILTER (WHERE r.running >= greatest(ceil(r.total * l.q90), 1)))
            AS p90,
        rollup_bucket_value(min(r.bucket) FILTER (WHERE r.running >= greatest(ceil(r.total * l.q99), 1)))
            AS p99
    FROM ranked AS r
    CROSS JOIN serving_quantile_levels AS l
    GROUP BY r.metric, r.level, r.t, r.region, r.state;

-- serving_sketch_rows: the sketch rows that one question about one metric merges, read at one level: the
-- runs of hours from sketch_hour, the run of whole days from sketch_day (the caller cuts [start, end) so
-- that they cover each hour once), and this cursor's sketch_edge (state-level hours older than the recent
-- window, read from unit files; its counts are negative for hours subtracted from a whole day), and the
-- hours of the $m1 and $m2 runs of sketch_hour, negated: hours of a whole day outside the range. The one
-- place where a question picks its sketch rows (sketch_merge.sql). sketch_edge is
-- read only with asked_edges: the cursor keeps it for the next question on the metric over the same range.
-- A long run of days at the state level comes from sketch_running instead: the totals of asked_running_to
-- minus those of asked_running_before (both NULL otherwise, and then sketch_day's run is read).
-- Output: table macro serving_sketch_rows(asked_metric, asked_level, asked_regions, asked_states,
-- asked_h1_start, asked_h1_end, asked_h2_start, asked_h2_end, asked_d_start, asked_d_end, asked_m1_start,
-- asked_m1_end, asked_m2_start, asked_m2_end, asked_edges, asked_running_to, asked_running_before), the
-- arguments as in sketch_merge.sql, with rows (t TIMESTAMP, region VARCHAR, state VARCHAR, bucket
-- SMALLINT, n BIGINT).
CREATE OR REPLACE MACRO serving_sketch_rows(
    ASKED_METRIC, ASKED_LEVEL, ASKED_REGIONS, ASKED_STATES,
    ASKED_H1_START, ASKED_H1_END, ASKED_H2_START, ASKED_H2_END, ASKED_D_START, ASKED_D_END,
    ASKED_M1_START, ASKED_M1_END, ASKED_M2_START, ASKED_M2_END, ASKED_EDGES,
    ASKED_RUNNING_TO, ASKED_RUNNING_BEFORE
) AS TABLE
    -- The asked_* names are the macro's parameters, not columns, hence the noqa.
    -- noqa: disable=RF03
    WITH grains AS (
        SELECT k.*
        FROM sketch_hour AS k
        WHERE
            (k.t >= asked_h1_start AND k.t < asked_h1_end)
            OR (k.t >= asked_h2_start AND k.t < asked_h2_end)
        UNION ALL
        SELECT k.*
        FROM sketch_day AS k
        WHERE k.t >= asked_d_start AND k.t < asked_d_end AND asked_running_to IS NULL
        UNION ALL
        SELECT k.*
        FROM sketch_running AS k
        WHERE k.t = asked_running_to
        UNION ALL
        SELECT k.* REPLACE (-k.n AS n)
        FROM sketch_running AS k
        WHERE k.t = asked_running_before
        UNION ALL
        -- Hours of a whole day (in the days run) outside the range, subtracted.
        SELECT k.* REPLACE (-k.n AS n)
        FROM sketch_hour AS k
        WHERE
            (k.t >= asked_m1_start AND k.t < asked_m1_end)
            OR (k.t >= asked_m2_start AND k.t < asked_m2_end)
    )

    SELECT
        k.t,
        k.region,
        k.state,
        k.bucket,
        k.n
    FROM grains AS k
    WHERE
        k.level = asked_level
        AND k.metric = asked_metric
        AND (len(asked_regions) = 0 OR list_contains(asked_regions, k.region))
        AND (len(asked_states) = 0 OR list_contains(asked_states, k.state))
    UNION ALL
    SELECT
        k.t,
        k.region,
        k.state,
        k.bucket,
        k.n
    FROM sketch_edge AS k
    WHERE
        asked_edges
        AND k.metric = asked_metric
        AND (len(asked_regions) = 0 OR list_contains(asked_regions, k.region))
        AND (len(asked_states) = 0 OR list_contains(asked_states, k.state));
-- noqa: enable=RF03
