-- The state of one device, from the fleet's devices Parquet file (written in site order, so the row-group
-- statistics on site find it without a scan).
-- Parameters: $devices VARCHAR, the devices Parquet file; $site BIGINT.
-- Output: zero or one row (state VARCHAR).
SELECT d.state
FROM read_parquet($devices) AS d
WHERE d.site = $site
ORDER BY d.state
LIMIT 1;
