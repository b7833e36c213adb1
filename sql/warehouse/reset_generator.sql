-- Records a fresh generator state after init: new seed, device count, profile and clock at the start hour.
-- Parameters: $seed BIGINT, $devices BIGINT, $start_hour TIMESTAMP, $devices_parquet_bytes BIGINT,
-- $profile VARCHAR (realistic or uniform).
-- Output: the generator table holds exactly this row.
INSERT OR REPLACE INTO generator (
    id, seed, devices, start_hour, next_hour, devices_parquet_bytes, initialized_at, profile
)
VALUES (
    1, $seed, $devices, $start_hour, $start_hour, $devices_parquet_bytes, current_localtimestamp(), $profile
);
