-- One device's raw rows from the lake files Python chose (its state's partitions of the hours asked for),
-- ordered by time. The filter on site lets DuckDB skip every row group whose site statistics exclude it.
-- Parameters: $files VARCHAR[], lake Parquet files; $site BIGINT; $range_start, $range_end TIMESTAMP,
-- the half-open range [range_start, range_end).
-- Output: datetime as text YYYY-MM-DDTHH:MM:SS, region, state, latitude, longitude (DOUBLE), site, cell,
-- sector, band, metric_1 ... metric_20 (DOUBLE).
SELECT
    strftime(t.datetime, '%Y-%m-%dT%H:%M:%S') AS datetime,
    t.region,
    t.state,
    t.latitude::DOUBLE AS latitude,
    t.longitude::DOUBLE AS longitude,
    t.site,
    t.cell,
    t.sector,
    t.band,
    COLUMNS('^metric_\d+$')::DOUBLE
FROM
    read_parquet(
        $files,
        hive_partitioning = TRUE,
        hive_types = { 'date': 'VARCHAR', 'hour': 'INTEGER', 'region': 'VARCHAR', 'state': 'VARCHAR' }
    ) AS t
WHERE
    t.site = $site
    AND t.datetime >= $range_start
    AND t.datetime < $range_end
ORDER BY t.datetime;
