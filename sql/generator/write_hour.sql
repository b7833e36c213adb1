-- Writes one hour of telemetry as CSV: each device's ID columns, then its 20 metrics for that hour.
-- Parameters: $seed BIGINT; $hour TIMESTAMP, the hour written; $devices_parquet VARCHAR, the devices
-- Parquet file; $target VARCHAR, the CSV path (a temporary name; Python fsyncs it and renames it).
-- Needs: the metric_low and metric_high macros (create_metric_macro.sql).
-- Output: one CSV file with the header datetime,region,state,latitude,longitude,site,cell,sector,band,
-- metric_1..metric_20 and one row per device, in site order.
COPY (
    SELECT
        strftime($hour, '%Y-%m-%d %H:%M:%S') AS datetime,
        h.region,
        h.state,
        h.latitude,
        h.longitude,
        h.site,
        h.cell,
        h.sector,
        h.band,
        metric_low(h.h1) AS metric_1,
        metric_high(h.h1) AS metric_2,
        metric_low(h.h2) AS metric_3,
        metric_high(h.h2) AS metric_4,
        metric_low(h.h3) AS metric_5,
        metric_high(h.h3) AS metric_6,
        metric_low(h.h4) AS metric_7,
        metric_high(h.h4) AS metric_8,
        metric_low(h.h5) AS metric_9,
        metric_high(h.h5) AS metric_10,
        metric_low(h.h6) AS metric_11,
        metric_high(h.h6) AS metric_12,
        metric_low(h.h7) AS metric_13,
        metric_high(h.h7) AS metric_14,
        metric_low(h.h8) AS metric_15,
        metric_high(h.h8) AS metric_16,
        metric_low(h.h9) AS metric_17,
        metric_high(h.h9) AS metric_18,
        metric_low(h.h10) AS metric_19,
        metric_high(h.h10) AS metric_20
    FROM (
        SELECT
            d.region,
            d.state,
            d.latitude,
            d.longitude,
            d.site,
            d.cell,
            d.sector,
            d.band,
            hash($seed, d.site, $hour, 1) AS h1,
            hash($seed, d.site, $hour, 2) AS h2,
            hash($seed, d.site, $hour, 3) AS h3,
            hash($seed, d.site, $hour, 4) AS h4,
            hash($seed, d.site, $hour, 5) AS h5,
            hash($seed, d.site, $hour, 6) AS h6,
            hash($seed, d.site, $hour, 7) AS h7,
            hash($seed, d.site, $hour, 8) AS h8,
            hash($seed, d.site, $hour, 9) AS h9,
            hash($seed, d.site, $hour, 10) AS h10
        FROM read_parquet($devices_parquet) AS d
    ) AS h
) TO $target (FORMAT csv, HEADER TRUE, DELIMITER ',');
