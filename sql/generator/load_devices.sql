-- Replaces the warehouse's devices table with the contents of the devices Parquet file.
-- Parameters: $devices_parquet VARCHAR, the path of devices.parquet.
-- Output: table devices in warehouse.duckdb.
CREATE OR REPLACE TABLE devices AS
SELECT
    region,
    state,
    latitude,
    longitude,
    site,
    cell,
    sector,
    band
FROM read_parquet($devices_parquet);
