-- Reads every value of the devices file, to tell whether it is readable: tick asks after an hour failed.
-- The whole row is hashed, so the columns a profile adds (the realistic one's baselines and zones) are read
-- too.
-- Parameters: $devices_parquet VARCHAR, the devices Parquet file.
-- Output: one row, the device count and a hash over every column of every device.
SELECT
    count(*) AS devices,
    bit_xor(hash(d)) AS digest
FROM read_parquet($devices_parquet) AS d;
