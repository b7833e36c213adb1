-- Plans the incidents of a time range from the seed alone, so any hour can be generated on its own: every
-- UTC day has 12 slots, each drawn from a hash of (seed, day, slot). Slots 0-6 are cell-sector incidents
-- (1-4 hours), 7-10 area incidents (one county-sized grid cell, 2-10 hours), and slot 11 a state-wide
-- incident (1-6 hours) on one day in four. Three in ten are outages (severity 1), the rest degradations
-- (severity 0.3 to 0.8). Each is centred on a device drawn from the fleet, so incidents fall where devices
-- are. An incident starts within its day and lasts less than a day, so the day before the range is enough.
-- Parameters: $seed BIGINT; $devices BIGINT, the fleet's size; $devices_parquet VARCHAR; $first_hour and
-- $last_hour TIMESTAMP, the range [first, last) an incident must overlap.
-- Output: one row per incident: incident_id (day * 100 + slot), scope (sector, area, state), kind (outage,
-- degradation), severity, start_hour, end_hour (exclusive), state, area, cell, sector (NULL where the scope
-- does not use them), latitude and longitude of the device it is centred on; by start, then id.
WITH
slots AS (
    SELECT
        d.day,
        s.slot,
        hash($seed, d.day, s.slot, 'incident') AS h
    FROM range(epoch_ms($first_hour) // 86400000 - 1, epoch_ms($last_hour) // 86400000 + 1) AS d (day)
    CROSS JOIN range(12) AS s (slot)
),

planned AS (
    SELECT
        day * 100 + slot AS incident_id,
        CASE WHEN slot < 7 THEN 'sector' WHEN slot < 11 THEN 'area' ELSE 'state' END AS scope,
        CASE WHEN (h >> 16) % 10 < 3 THEN 'outage' ELSE 'degradation' END AS kind,
        CASE WHEN (h >> 16) % 10 < 3 THEN 1.0 ELSE 0.3 + ((h >> 20) % 6)::INTEGER / 10 END AS severity,
        TIMESTAMP '1970-01-01' + to_hours(day * 24 + (h % 24)::BIGINT) AS start_hour,
        CASE
            WHEN slot < 7 THEN 1 + (h >> 8) % 4
            WHEN slot < 11 THEN 2 + (h >> 8) % 9
            ELSE 1 + (h >> 8) % 6
        END::BIGINT AS duration_hours,
        1 + ((h >> 32) % $devices)::BIGINT AS centre_site
    FROM slots
    WHERE slot < 11 OR (h >> 24) % 4 = 0
)

SELECT
    p.incident_id,
    p.scope,
    p.kind,
    p.severity::DOUBLE AS severity,
    p.start_hour,
    p.start_hour + to_hours(p.duration_hours) AS end_hour,
    d.state,
    CASE WHEN p.scope = 'area' THEN d.area END AS area,
    CASE WHEN p.scope = 'sector' THEN d.cell END AS cell,
    CASE WHEN p.scope = 'sector' THEN d.sector END AS sector,
    d.latitude,
    d.longitude
FROM planned AS p
INNER JOIN read_parquet($devices_parquet) AS d ON p.centre_site = d.site
WHERE p.start_hour < $last_hour AND p.start_hour + to_hours(p.duration_hours) > $first_hour
ORDER BY p.start_hour, p.incident_id;
