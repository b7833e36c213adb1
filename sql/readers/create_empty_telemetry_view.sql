-- Creates the telemetry view of a warehouse whose lake holds no file yet, or no longer (every source
-- forgotten): no rows, with the columns and types of the lake's view (create_telemetry_view.sql), so a
-- query written against telemetry answers with nothing rather than failing on a missing table.
-- Parameters: none.
-- Output: view telemetry, empty, with the columns of create_telemetry_view.sql.
CREATE OR REPLACE VIEW telemetry AS
SELECT
    NULL::TIMESTAMP AS datetime,
    NULL::VARCHAR AS region,
    NULL::VARCHAR AS state,
    NULL::DECIMAL(8, 6) AS latitude,
    NULL::DECIMAL(9, 6) AS longitude,
    NULL::BIGINT AS site,
    NULL::TINYINT AS cell,
    NULL::TINYINT AS sector,
    NULL::TINYINT AS band,
    NULL::DECIMAL(9, 4) AS metric_1,
    NULL::DECIMAL(9, 4) AS metric_2,
    NULL::DECIMAL(9, 4) AS metric_3,
    NULL::DECIMAL(9, 4) AS metric_4,
    NULL::DECIMAL(9, 4) AS metric_5,
    NULL::DECIMAL(9, 4) AS metric_6,
    NULL::DECIMAL(9, 4) AS metric_7,
    NULL::DECIMAL(9, 4) AS metric_8,
    NULL::DECIMAL(9, 4) AS metric_9,
    NULL::DECIMAL(9, 4) AS metric_10,
    NULL::DECIMAL(9, 4) AS metric_11,
    NULL::DECIMAL(9, 4) AS metric_12,
    NULL::DECIMAL(9, 4) AS metric_13,
    NULL::DECIMAL(9, 4) AS metric_14,
    NULL::DECIMAL(9, 4) AS metric_15,
    NULL::DECIMAL(9, 4) AS metric_16,
    NULL::DECIMAL(9, 4) AS metric_17,
    NULL::DECIMAL(9, 4) AS metric_18,
    NULL::DECIMAL(9, 4) AS metric_19,
    NULL::DECIMAL(9, 4) AS metric_20,
    NULL::VARCHAR AS date,
    NULL::INTEGER AS hour,
    NULL::DATE AS day,
    NULL::TIMESTAMP AS hour_start
WHERE FALSE;
