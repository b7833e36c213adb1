-- Reads the generator's state of a warehouse made before profiles existed (issue 11), opened read-only so
-- that create_schema.sql has not added the column yet: it wrote uniform metrics.
-- Parameters: none.
-- Output: at most one row, as read_generator.sql.
SELECT
    g.seed,
    g.devices,
    g.start_hour,
    g.next_hour,
    g.devices_parquet_bytes,
    (SELECT count(*) FROM hours) AS hours_written,
    'uniform' AS profile
FROM generator AS g;
