-- Reads the generator's state: seed, device count, start hour, the clock, the hours written so far and the
-- profile.
-- Parameters: none.
-- Output: at most one row (none before init).
SELECT
    g.seed,
    g.devices,
    g.start_hour,
    g.next_hour,
    g.devices_parquet_bytes,
    (SELECT count(*) FROM hours) AS hours_written,
    coalesce(g.profile, 'uniform') AS profile
FROM generator AS g;
