-- Creates the telemetry view over the whole lake, for ad-hoc SQL against warehouse.duckdb.
-- Partition types are given, never inferred: DuckDB would read the date folder 01-01-20 as a DATE.
-- Parameters: $lake, the lake's absolute path. A view body cannot hold a bind parameter, so Python
-- splices it in as a literal through queries.quote_path and its allow-list.
-- Output: view telemetry with the CSV contract's columns (datetime a TIMESTAMP), then date and hour.
CREATE OR REPLACE VIEW telemetry AS
SELECT
    t.datetime,
    t.region,
    t.state,
    t.latitude,
    t.longitude,
    t.site,
    t.cell,
    t.sector,
    t.band,
    t.metric_1,
    t.metric_2,
    t.metric_3,
    t.metric_4,
    t.metric_5,
    t.metric_6,
    t.metric_7,
    t.metric_8,
    t.metric_9,
    t.metric_10,
    t.metric_11,
    t.metric_12,
    t.metric_13,
    t.metric_14,
    t.metric_15,
    t.metric_16,
    t.metric_17,
    t.metric_18,
    t.metric_19,
    t.metric_20,
    t.date,
    t.hour
FROM read_parquet(
    $lake || '/**/*.parquet',
    hive_partitioning = TRUE,
    hive_types = { 'date': 'VARCHAR', 'hour': 'INTEGER', 'region': 'VARCHAR', 'state': 'VARCHAR' }
) AS t;
