-- Writes one hour of telemetry as CSV: each device's ID columns, then its 20 metrics for that hour.
-- Parameters: $seed BIGINT; $hour TIMESTAMP, the hour written; $devices_parquet VARCHAR, the devices
-- Parquet file;
-- $target VARCHAR, the CSV path (a temporary name; Python fsyncs it and renames it into place).
-- Needs: the metric macro (create_metric_macro.sql).
-- Output: one CSV file with the header datetime,region,state,latitude,longitude,site,cell,sector,band,
-- metric_1..metric_20 and one row per device, in site order.
COPY (
    SELECT
        strftime($hour, '%Y-%m-%d %H:%M:%S') AS datetime,
        d.region,
        d.state,
        d.latitude,
        d.longitude,
        d.site,
        d.cell,
        d.sector,
        d.band,
        metric($seed, d.site, $hour, 1) AS metric_1,
        metric($seed, d.site, $hour, 2) AS metric_2,
        metric($seed, d.site, $hour, 3) AS metric_3,
        metric($seed, d.site, $hour, 4) AS metric_4,
        metric($seed, d.site, $hour, 5) AS metric_5,
        metric($seed, d.site, $hour, 6) AS metric_6,
        metric($seed, d.site, $hour, 7) AS metric_7,
        metric($seed, d.site, $hour, 8) AS metric_8,
        metric($seed, d.site, $hour, 9) AS metric_9,
        metric($seed, d.site, $hour, 10) AS metric_10,
        metric($seed, d.site, $hour, 11) AS metric_11,
        metric($seed, d.site, $hour, 12) AS metric_12,
        metric($seed, d.site, $hour, 13) AS metric_13,
        metric($seed, d.site, $hour, 14) AS metric_14,
        metric($seed, d.site, $hour, 15) AS metric_15,
        metric($seed, d.site, $hour, 16) AS metric_16,
        metric($seed, d.site, $hour, 17) AS metric_17,
        metric($seed, d.site, $hour, 18) AS metric_18,
        metric($seed, d.site, $hour, 19) AS metric_19,
        metric($seed, d.site, $hour, 20) AS metric_20
    FROM read_parquet($devices_parquet) AS d
) TO $target (FORMAT csv, HEADER TRUE, DELIMITER ',');
