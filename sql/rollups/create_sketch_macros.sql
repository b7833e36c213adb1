-- Defines rollup_sketch_counts, one metric's part of a source's quantile sketch (write_sketch.sql).
-- Parameters: none.
-- Needs (when called): rollup_bucket (create_rollup_macros.sql).
-- Output: temporary table macro rollup_sketch_counts(files, metric_number): rows (date VARCHAR, hour
-- INTEGER, state VARCHAR, metric INTEGER, bucket INTEGER, n BIGINT), the rows of the Parquet files counted
-- per Hive folder key and sketch bucket of the column metric_<metric_number>.
CREATE OR REPLACE TEMP MACRO rollup_sketch_counts(FILES, METRIC_NUMBER) AS TABLE
    -- files and metric_number are the macro's parameters, not columns, hence the noqa.
    -- noqa: disable=RF03
    SELECT
        t.date,
        t.hour,
        t.state,
        metric_number AS metric,
        rollup_bucket(COLUMNS('^metric_' || metric_number || '$')) AS bucket,
        count(*) AS n
    FROM
        read_parquet(
            files,
            hive_partitioning = TRUE,
            hive_types = { 'date': 'VARCHAR', 'hour': 'INTEGER', 'region': 'VARCHAR', 'state': 'VARCHAR' }
        ) AS t
    GROUP BY ALL;
-- noqa: enable=RF03
