-- Writes one source's quantile sketch: per (hour, region, state, metric) the number of rows in each
-- non-empty logarithmic bucket (see rollup_bucket in create_rollup_macros.sql). Counts merge by addition, so
-- any range of hours and any set of states merge into one sketch; p50, p90 and p99 come within 2% relative
-- error of the exact quantile.
-- One scan per metric (rollup_sketch_counts, create_sketch_macros.sql), each reading one metric column and
-- grouping by (date, hour, state, bucket): measured at 1M rows, twice as fast as one scan with GROUPING
-- SETS over the 20 bucket columns, and 1.7 times as fast as unpivoting the rows first. The macro takes the
-- metric's number, so the 20 scans are one line each (as fast as 20 written-out blocks, and the same rows).
-- The groups are the Hive folder's own keys (date, hour and state are constant in each file, so hashing
-- them costs next to nothing), not date_trunc of every row's datetime, which took half of each scan; the
-- hour's timestamp is found once per folder (hour_starts) and joined after grouping, like the region.
-- Parameters: $files VARCHAR[], the source's Parquet files; $target VARCHAR, the file to write.
-- Needs: rollup_sketch_counts (create_sketch_macros.sql), state_regions (reference/state_regions.sql).
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
        SELECT c.* FROM rollup_sketch_counts($files, 1) AS c
        UNION ALL
        SELECT c.* FROM rollup_sketch_counts($files, 2) AS c
        UNION ALL
        SELECT c.* FROM rollup_sketch_counts($files, 3) AS c
        UNION ALL
        SELECT c.* FROM rollup_sketch_counts($files, 4) AS c
        UNION ALL
        SELECT c.* FROM rollup_sketch_counts($files, 5) AS c
        UNION ALL
        SELECT c.* FROM rollup_sketch_counts($files, 6) AS c
        UNION ALL
        SELECT c.* FROM rollup_sketch_counts($files, 7) AS c
        UNION ALL
        SELECT c.* FROM rollup_sketch_counts($files, 8) AS c
        UNION ALL
        SELECT c.* FROM rollup_sketch_counts($files, 9) AS c
        UNION ALL
        SELECT c.* FROM rollup_sketch_counts($files, 10) AS c
        UNION ALL
        SELECT c.* FROM rollup_sketch_counts($files, 11) AS c
        UNION ALL
        SELECT c.* FROM rollup_sketch_counts($files, 12) AS c
        UNION ALL
        SELECT c.* FROM rollup_sketch_counts($files, 13) AS c
        UNION ALL
        SELECT c.* FROM rollup_sketch_counts($files, 14) AS c
        UNION ALL
        SELECT c.* FROM rollup_sketch_counts($files, 15) AS c
        UNION ALL
        SELECT c.* FROM rollup_sketch_counts($files, 16) AS c
        UNION ALL
        SELECT c.* FROM rollup_sketch_counts($files, 17) AS c
        UNION ALL
        SELECT c.* FROM rollup_sketch_counts($files, 18) AS c
        UNION ALL
        SELECT c.* FROM rollup_sketch_counts($files, 19) AS c
        UNION ALL
        SELECT c.* FROM rollup_sketch_counts($files, 20) AS c
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
