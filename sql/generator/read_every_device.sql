-- Reads every value of the devices file, to tell whether it is readable: tick asks after an hour failed.
-- Parameters: $devices_parquet VARCHAR, the devices Parquet file.
-- Output: one row, the device count and a hash over every column of every device.
SELECT
    count(*) AS devices,
    -- The whole row (every column, the realistic profile's too), so no damaged column goes unread.
    bit_xor(hash(d)) AS digest
FROM read_parquet($devices_parquet) AS d;
