-- Writes one source's quantile sketch: per (hour, region, state, metric) the number of rows in each
-- non-empty logarithmic bucket (see rollup_bucket in create_rollup_macros.sql). Counts merge by addition, so
-- any range of hours and any set of states merge into one sketch; p50, p90 and p99 come within 2% relative
-- error of the exact quantile.
-- One scan per metric, each reading one metric column and grouping by (date, hour, state, bucket): measured
-- at 1M rows, twice as fast as one scan with GROUPING SETS over the 20 bucket columns, and 1.7 times as fast
-- as unpivoting the rows first. The groups are the Hive folder's own keys (date, hour and state are constant
-- in each file, so hashing them costs next to nothing), not date_trunc of every row's datetime, which took
-- half of each scan; the hour's timestamp is found once per folder (hour_starts) and joined after grouping,
-- like the region.
-- Parameters: $files VARCHAR[], the source's Parquet files; $target VARCHAR, the file to write.
-- Needs: rollup_bucket (create_rollup_macros.sql), state_regions (reference/state_regions.sql).
-- Output: Parquet file $target with columns hour TIMESTAMP, region, state VARCHAR, metric TINYINT,
-- bucket SMALLINT, n BIGINT.
COPY (
    WITH hour_starts AS (
        -- Every row of a date=/hour= folder lies in the same hour.
        SELECT
            t.date,
            t.hour,
            date_trunc('hour', min(t.datetime)) AS hour_start
        FROM
            read_parquet(
                $files,
                hive_partitioning = TRUE,
                hive_types = { 'date': 'VARCHAR', 'hour': 'INTEGER', 'region': 'VARCHAR', 'state': 'VARCHAR' }
            ) AS t
        GROUP BY t.date, t.hour
    ),

    counted AS (
        SELECT
            t.date,
            t.hour,
            t.state,
            1 AS metric,
            rollup_bucket(t.metric_1) AS bucket,
            count(*) AS n
        FROM
            read_parquet(
                $files,
                hive_partitioning = TRUE,
                hive_types = { 'date': 'VARCHAR', 'hour': 'INTEGER', 'region': 'VARCHAR', 'state': 'VARCHAR' }
            ) AS t
        GROUP BY ALL
        UNION ALL
        SELECT
            t.date,
            t.hour,
            t.state,
            2 AS metric,
            rollup_bucket(t.metric_2) AS bucket,
            count(*) AS n
        FROM
            read_parquet(
                $files,
                hive_partitioning = TRUE,
                hive_types = { 'date': 'VARCHAR', 'hour': 'INTEGER', 'region': 'VARCHAR', 'state': 'VARCHAR' }
            ) AS t
        GROUP BY ALL
        UNION ALL
        SELECT
            t.date,
            t.hour,
            t.state,
            3 AS metric,
            rollup_bucket(t.metric_3) AS bucket,
            count(*) AS n
        FROM
            read_parquet(
                $files,
                hive_partitioning = TRUE,
                hive_types = { 'date': 'VARCHAR', 'hour': 'INTEGER', 'region': 'VARCHAR', 'state': 'VARCHAR' }
            ) AS t
        GROUP BY ALL
        UNION ALL
        SELECT
            t.date,
            t.hour,
            t.state,
            4 AS metric,
            rollup_bucket(t.metric_4) AS bucket,
            count(*) AS n
        FROM
            read_parquet(
                $files,
                hive_partitioning = TRUE,
                hive_types = { 'date': 'VARCHAR', 'hour': 'INTEGER', 'region': 'VARCHAR', 'state': 'VARCHAR' }
            ) AS t
        GROUP BY ALL
        UNION ALL
        SELECT
            t.date,
            t.hour,
            t.state,
            5 AS metric,
            rollup_bucket(t.metric_5) AS bucket,
            count(*) AS n
        FROM
            read_parquet(
                $files,
                hive_partitioning = TRUE,
                hive_types = { 'date': 'VARCHAR', 'hour': 'INTEGER', 'region': 'VARCHAR', 'state': 'VARCHAR' }
            ) AS t
        GROUP BY ALL
        UNION ALL
        SELECT
            t.date,
            t.hour,
            t.state,
            6 AS metric,
            rollup_bucket(t.metric_6) AS bucket,
            count(*) AS n
        FROM
            read_parquet(
                $files,
                hive_partitioning = TRUE,
                hive_types = { 'date': 'VARCHAR', 'hour': 'INTEGER', 'region': 'VARCHAR', 'state': 'VARCHAR' }
            ) AS t
        GROUP BY ALL
        UNION ALL
        SELECT
            t.date,
            t.hour,
            t.state,
            7 AS metric,
            rollup_bucket(t.metric_7) AS bucket,
            count(*) AS n
        FROM
            read_parquet(
                $files,
                hive_partitioning = TRUE,
                hive_types = { 'date': 'VARCHAR', 'hour': 'INTEGER', 'region': 'VARCHAR', 'state': 'VARCHAR' }
            ) AS t
        GROUP BY ALL
        UNION ALL
        SELECT
            t.date,
            t.hour,
            t.state,
            8 AS metric,
            rollup_bucket(t.metric_8) AS bucket,
            count(*) AS n
        FROM
            read_parquet(
                $files,
                hive_partitioning = TRUE,
                hive_types = { 'date': 'VARCHAR', 'hour': 'INTEGER', 'region': 'VARCHAR', 'state': 'VARCHAR' }
            ) AS t
        GROUP BY ALL
        UNION ALL
        SELECT
            t.date,
            t.hour,
            t.state,
            9 AS metric,
            rollup_bucket(t.metric_9) AS bucket,
            count(*) AS n
        FROM
            read_parquet(
                $files,
                hive_partitioning = TRUE,
                hive_types = { 'date': 'VARCHAR', 'hour': 'INTEGER', 'region': 'VARCHAR', 'state': 'VARCHAR' }
            ) AS t
        GROUP BY ALL
        UNION ALL
        SELECT
            t.date,
            t.hour,
            t.state,
            10 AS metric,
            rollup_bucket(t.metric_10) AS bucket,
            count(*) AS n
        FROM
            read_parquet(
                $files,
                hive_partitioning = TRUE,
                hive_types = { 'date': 'VARCHAR', 'hour': 'INTEGER', 'region': 'VARCHAR', 'state': 'VARCHAR' }
            ) AS t
        GROUP BY ALL
        UNION ALL
        SELECT
            t.date,
            t.hour,
            t.state,
            11 AS metric,
            rollup_bucket(t.metric_11) AS bucket,
            count(*) AS n
        FROM
            read_parquet(
                $files,
                hive_partitioning = TRUE,
                hive_types = { 'date': 'VARCHAR', 'hour': 'INTEGER', 'region': 'VARCHAR', 'state': 'VARCHAR' }
            ) AS t
        GROUP BY ALL
        UNION ALL
        SELECT
            t.date,
            t.hour,
            t.state,
            12 AS metric,
            rollup_bucket(t.metric_12) AS bucket,
            count(*) AS n
        FROM
            read_parquet(
                $files,
                hive_partitioning = TRUE,
                hive_types = { 'date': 'VARCHAR', 'hour': 'INTEGER', 'region': 'VARCHAR', 'state': 'VARCHAR' }
            ) AS t
        GROUP BY ALL
        UNION ALL
        SELECT
            t.date,
            t.hour,
            t.state,
            13 AS metric,
            rollup_bucket(t.metric_13) AS bucket,
            count(*) AS n
        FROM
            read_parquet(
                $files,
                hive_partitioning = TRUE,
                hive_types = { 'date': 'VARCHAR', 'hour': 'INTEGER', 'region': 'VARCHAR', 'state': 'VARCHAR' }
            ) AS t
        GROUP BY ALL
        UNION ALL
        SELECT
            t.date,
            t.hour,
            t.state,
            14 AS metric,
            rollup_bucket(t.metric_14) AS bucket,
            count(*) AS n
        FROM
            read_parquet(
                $files,
                hive_partitioning = TRUE,
                hive_types = { 'date': 'VARCHAR', 'hour': 'INTEGER', 'region': 'VARCHAR', 'state': 'VARCHAR' }
            ) AS t
        GROUP BY ALL
        UNION ALL
        SELECT
            t.date,
            t.hour,
            t.state,
            15 AS metric,
            rollup_bucket(t.metric_15) AS bucket,
            count(*) AS n
        FROM
            read_parquet(
                $files,
                hive_partitioning = TRUE,
                hive_types = { 'date': 'VARCHAR', 'hour': 'INTEGER', 'region': 'VARCHAR', 'state': 'VARCHAR' }
            ) AS t
        GROUP BY ALL
        UNION ALL
        SELECT
            t.date,
            t.hour,
            t.state,
            16 AS metric,
            rollup_bucket(t.metric_16) AS bucket,
            count(*) AS n
        FROM
            read_parquet(
                $files,
                hive_partitioning = TRUE,
                hive_types = { 'date': 'VARCHAR', 'hour': 'INTEGER', 'region': 'VARCHAR', 'state': 'VARCHAR' }
            ) AS t
        GROUP BY ALL
        UNION ALL
        SELECT
            t.date,
            t.hour,
            t.state,
            17 AS metric,
            rollup_bucket(t.metric_17) AS bucket,
            count(*) AS n
        FROM
            read_parquet(
                $files,
                hive_partitioning = TRUE,
                hive_types = { 'date': 'VARCHAR', 'hour': 'INTEGER', 'region': 'VARCHAR', 'state': 'VARCHAR' }
            ) AS t
        GROUP BY ALL
        UNION ALL
        SELECT
            t.date,
            t.hour,
            t.state,
            18 AS metric,
            rollup_bucket(t.metric_18) AS bucket,
            count(*) AS n
        FROM
            read_parquet(
                $files,
                hive_partitioning = TRUE,
                hive_types = { 'date': 'VARCHAR', 'hour': 'INTEGER', 'region': 'VARCHAR', 'state': 'VARCHAR' }
            ) AS t
        GROUP BY ALL
        UNION ALL
        SELECT
            t.date,
            t.hour,
            t.state,
            19 AS metric,
            rollup_bucket(t.metric_19) AS bucket,
            count(*) AS n
        FROM
            read_parquet(
                $files,
                hive_partitioning = TRUE,
                hive_types = { 'date': 'VARCHAR', 'hour': 'INTEGER', 'region': 'VARCHAR', 'state': 'VARCHAR' }
            ) AS t
        GROUP BY ALL
        UNION ALL
        SELECT
            t.date,
            t.hour,
            t.state,
            20 AS metric,
            rollup_bucket(t.metric_20) AS bucket,
            count(*) AS n
        FROM
            read_parquet(
                $files,
                hive_partitioning = TRUE,
                hive_types = { 'date': 'VARCHAR', 'hour': 'INTEGER', 'region': 'VARCHAR', 'state': 'VARCHAR' }
            ) AS t
        GROUP BY ALL
    )

    SELECT
        h.hour_start AS hour,
        sr.region,
        c.state,
        cast(c.metric AS TINYINT) AS metric,
        cast(c.bucket AS SMALLINT) AS bucket,
        c.n
    FROM counted AS c
    INNER JOIN hour_starts AS h ON c.date = h.date AND c.hour = h.hour
    INNER JOIN state_regions AS sr ON c.state = sr.state
    ORDER BY c.metric, h.hour_start, sr.region, c.state, c.bucket
) TO $target (FORMAT parquet, COMPRESSION zstd);
