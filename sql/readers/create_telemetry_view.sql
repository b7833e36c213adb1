-- Creates the telemetry view over the whole lake (telemetry_between, its time-range macro, is in
-- create_telemetry_between_macro.sql).
-- Partition types are given, never inferred: DuckDB would read the date folder 01-01-20 as a DATE.
-- day and hour_start are computed from the partition folders alone, so a filter on either is evaluated
-- against folder names and prunes whole files (a filter on datetime, a column inside the files, opens
-- every file). date stays the dd-mm-yy text of the folder names; day is its proper DATE.
-- Parameters: $lake, the lake's absolute path. A view body cannot hold a bind parameter, so Python
-- splices it in as a literal through queries.quote_path.
-- Output: view telemetry with the CSV contract's columns (datetime a TIMESTAMP), then date, hour, day
-- and hour_start.
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
    t.hour,
    strptime(t.date, '%d-%m-%y')::DATE AS day,
    strptime(t.date, '%d-%m-%y') + to_hours(t.hour) AS hour_start
FROM read_parquet(
    $lake || '/**/*.parquet',
    hive_partitioning = TRUE,
    hive_types = { 'date': 'VARCHAR', 'hour': 'INTEGER', 'region': 'VARCHAR', 'state': 'VARCHAR' }
) AS t;
