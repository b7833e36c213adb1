-- Creates the devices view over the warehouse's devices Parquet file: the fleet the generator writes.
-- Parameters: $devices_parquet, the file's absolute path, spliced in as a literal by queries.quote_path
-- (a view body cannot hold a bind parameter).
-- Output: view devices (region, state, latitude, longitude, site, cell, sector, band), in site order.
CREATE OR REPLACE VIEW devices AS
SELECT
    d.region,
    d.state,
    d.latitude,
    d.longitude,
    d.site,
    d.cell,
    d.sector,
    d.band
FROM read_parquet($devices_parquet) AS d;
