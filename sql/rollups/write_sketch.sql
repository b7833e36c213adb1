-- Writes one source's quantile sketch: per (hour, region, state, metric) the number of rows in each
-- non-empty logarithmic bucket (see rollup_bucket in create_rollup_macros.sql). Counts merge by addition, so
-- any range of hours and any set of states merge into one sketch; p50, p90 and p99 come within 2% relative
-- error of the exact quantile.
-- One pass: the 20 bucket indexes are computed side by side and counted by GROUPING SETS, one set per
-- metric; in each set only that metric's bucket column is not NULL.
-- Parameters: $files VARCHAR[], the source's Parquet files; $target VARCHAR, the file to write.
-- Needs: rollup_bucket (create_rollup_macros.sql).
-- Output: Parquet file $target with columns hour TIMESTAMP, region, state VARCHAR, metric TINYINT,
-- bucket SMALLINT, n BIGINT.
COPY (
    WITH bucketed AS (
        SELECT
            date_trunc('hour', t.datetime) AS hour,
            t.region,
            t.state,
            rollup_bucket(t.metric_1) AS b1,
            rollup_bucket(t.metric_2) AS b2,
            rollup_bucket(t.metric_3) AS b3,
            rollup_bucket(t.metric_4) AS b4,
            rollup_bucket(t.metric_5) AS b5,
            rollup_bucket(t.metric_6) AS b6,
            rollup_bucket(t.metric_7) AS b7,
            rollup_bucket(t.metric_8) AS b8,
            rollup_bucket(t.metric_9) AS b9,
            rollup_bucket(t.metric_10) AS b10,
            rollup_bucket(t.metric_11) AS b11,
            rollup_bucket(t.metric_12) AS b12,
            rollup_bucket(t.metric_13) AS b13,
            rollup_bucket(t.metric_14) AS b14,
            rollup_bucket(t.metric_15) AS b15,
            rollup_bucket(t.metric_16) AS b16,
            rollup_bucket(t.metric_17) AS b17,
            rollup_bucket(t.metric_18) AS b18,
            rollup_bucket(t.metric_19) AS b19,
            rollup_bucket(t.metric_20) AS b20
        FROM read_parquet(
            $files,
            hive_partitioning = TRUE,
            hive_types = { 'date': 'VARCHAR', 'hour': 'INTEGER', 'region': 'VARCHAR', 'state': 'VARCHAR' }
        ) AS t
    ),

    counted AS (
        SELECT
            hour,
            region,
            state,
            coalesce(
                b1, b2, b3, b4, b5, b6, b7, b8, b9, b10, b11, b12, b13, b14, b15, b16, b17, b18, b19, b20
            ) AS bucket,
            CASE
                WHEN b1 IS NOT NULL THEN 1
                WHEN b2 IS NOT NULL THEN 2
                WHEN b3 IS NOT NULL THEN 3
                WHEN b4 IS NOT NULL THEN 4
                WHEN b5 IS NOT NULL THEN 5
                WHEN b6 IS NOT NULL THEN 6
                WHEN b7 IS NOT NULL THEN 7
                WHEN b8 IS NOT NULL THEN 8
                WHEN b9 IS NOT NULL THEN 9
                WHEN b10 IS NOT NULL THEN 10
                WHEN b11 IS NOT NULL THEN 11
                WHEN b12 IS NOT NULL THEN 12
                WHEN b13 IS NOT NULL THEN 13
                WHEN b14 IS NOT NULL THEN 14
                WHEN b15 IS NOT NULL THEN 15
                WHEN b16 IS NOT NULL THEN 16
                WHEN b17 IS NOT NULL THEN 17
                WHEN b18 IS NOT NULL THEN 18
                WHEN b19 IS NOT NULL THEN 19
                WHEN b20 IS NOT NULL THEN 20
            END AS metric,
            count(*) AS n
        FROM bucketed
        GROUP BY GROUPING SETS (
            (hour, region, state, b1),
            (hour, region, state, b2),
            (hour, region, state, b3),
            (hour, region, state, b4),
            (hour, region, state, b5),
            (hour, region, state, b6),
            (hour, region, state, b7),
            (hour, region, state, b8),
            (hour, region, state, b9),
            (hour, region, state, b10),
            (hour, region, state, b11),
            (hour, region, state, b12),
            (hour, region, state, b13),
            (hour, region, state, b14),
            (hour, region, state, b15),
            (hour, region, state, b16),
            (hour, region, state, b17),
            (hour, region, state, b18),
            (hour, region, state, b19),
            (hour, region, state, b20)
        )
    )

    SELECT
        c.hour,
        c.region,
        c.state,
        cast(c.metric AS TINYINT) AS metric,
        cast(c.bucket AS SMALLINT) AS bucket,
        c.n
    FROM counted AS c
    ORDER BY c.metric, c.hour, c.region, c.state, c.bucket
) TO $target (FORMAT parquet, COMPRESSION zstd);
