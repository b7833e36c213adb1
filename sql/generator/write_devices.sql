-- Writes the devices Parquet file from the sampled points: labels each point with its Census region and
-- draws cell, sector and band (1 to 10) from a hash of (seed, site), so one seed always gives one fleet.
-- Coordinates are stored as DECIMAL(8, 6) and DECIMAL(9, 6), the six decimals they were sampled at (about
-- 0.1 m) and the lake's types: exact, and cheaper for each tick to print than doubles.
-- It also precomputes what the realistic profile needs and no hour changes, so a tick only does arithmetic:
-- the state's time zone; the county-sized area (a grid cell of 0.4 degrees of latitude by 0.5 of longitude,
-- about 44 by 42 km); two baseline scores as ranks 0 to 4095 into the lookup tables, quality (80% the site's
-- own, 60% its area's, so neighbours share good or poor coverage; a unit normal either way) and household;
-- faults (0.3% stuck, 0.3% in a reboot loop); and the uptime saw-tooth's period and phase in minutes.
-- Streams straight to the file, never holding the fleet as a table in memory.
-- Parameters: $seed BIGINT; $target VARCHAR, the path to write (a temporary name; Python renames it).
-- Reads: sampled_points(site, state, latitude, longitude), registered by Python, in site order;
-- state_regions; state_zones; the macros of realistic/create_quantile_macros.sql.
-- Output: one Parquet file (region, state, latitude, longitude, site, cell, sector, band, state_index,
-- utc_offset, observes_dst, area, quality_rank, household_rank, fault, uptime_period_minutes,
-- uptime_phase_minutes) in site order.
COPY (
    SELECT
        p.region,
        p.state,
        p.latitude,
        p.longitude,
        p.site,
        p.cell,
        p.sector,
        p.band,
        p.state_index,
        p.utc_offset,
        p.observes_dst,
        p.area,
        least(
            4095, floor(4096 * normal_cdf(
                0.8 * normal_quantile((hash($seed, p.site, 'quality') % 1048576 + 0.5) / 1048576)
                + 0.6 * normal_quantile((hash($seed, p.area, 'area') % 1048576 + 0.5) / 1048576)
            ))
        )::SMALLINT AS quality_rank,
        (hash($seed, p.site, 'household') % 4096)::SMALLINT AS household_rank,
        p.fault,
        (60 * CASE WHEN p.fault = 2 THEN 1 + hash($seed, p.site, 'loop') % 4 ELSE 720 END)::INTEGER
            AS uptime_period_minutes,
        (hash($seed, p.site, 'uptime') % 43200)::INTEGER AS uptime_phase_minutes
    FROM (
        SELECT
            r.region,
            s.state,
            s.latitude::DECIMAL(8, 6) AS latitude,
            s.longitude::DECIMAL(9, 6) AS longitude,
            s.site,
            (1 + hash($seed, s.site, 'cell') % 10)::TINYINT AS cell,
            (1 + hash($seed, s.site, 'sector') % 10)::TINYINT AS sector,
            (1 + hash($seed, s.site, 'band') % 10)::TINYINT AS band,
            z.state_index,
            z.utc_offset,
            z.observes_dst,
            (floor((s.latitude - 24) / 0.4) * 120 + floor((s.longitude + 125) / 0.5))::SMALLINT AS area,
            (CASE
                WHEN hash($seed, s.site, 'fault') % 1000 < 3 THEN 1
                WHEN hash($seed, s.site, 'fault') % 1000 < 6 THEN 2
                ELSE 0
            END)::TINYINT AS fault
        FROM sampled_points AS s
        INNER JOIN state_regions AS r ON s.state = r.state
        INNER JOIN state_zones AS z ON s.state = z.state
    ) AS p
    ORDER BY p.site
) TO $target (FORMAT parquet, COMPRESSION zstd);
