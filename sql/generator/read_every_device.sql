-- Reads every value of the devices file, to tell whether it is readable: tick asks after an hour failed.
-- Parameters: $devices_parquet VARCHAR, the devices Parquet file.
-- Output: one row, the device count and a hash over every column of every device.
SELECT
    count(*) AS devices,
    bit_xor(hash(d.region, d.state, d.latitude, d.longitude, d.site, d.cell, d.sector, d.band)) AS digest
FROM read_parquet($devices_parquet) AS d;
