-- Writes the devices Parquet file from the sampled points: labels each point with its Census region and
-- draws cell, sector and band (1 to 10) from a hash of (seed, site), so one seed always gives one fleet.
-- Coordinates are stored as DECIMAL(8, 6) and DECIMAL(9, 6), the six decimals they were sampled at (about
-- 0.1 m) and the lake's types: exact, and cheaper for each tick to print than doubles.
-- It also precomputes what the realistic profile needs and no hour changes, so a tick only does arithmetic:
-- the state's time zone; the county-sized area (a grid cell of 0.4 degrees of latitude by 0.5 of longitude,
-- about 44 by 42 km); two baseline scores, unit normals truncated at 3.7 (catalogue.SCORE_LIMIT), quality
-- (0.8 times the site's own draw plus 0.6 times its area's, so neighbours share good or poor coverage) and
-- household, each with its gain exp(0.35 score) (catalogue.LOG_SPREAD) for the lognormal metrics;
-- faults (0.3% stuck, 0.3% in a reboot loop); and the uptime saw-tooth's period and phase in minutes.
-- Streams straight to the file, never holding the fleet as a table in memory.
-- Parameters: $seed BIGINT; $target VARCHAR, the path to write (a temporary name; Python renames it).
-- Reads: sampled_points(site, state, latitude, longitude), registered by Python, in site order;
-- state_regions; state_zones; the macros of realistic/create_quantile_macros.sql.
-- Output: one Parquet file (region, state, latitude, longitude, site, cell, sector, band, state_index,
-- utc_offset, observes_dst, area, quality_score, quality_gain, household_score, household_gain, fault,
-- uptime_period_minutes, uptime_phase_minutes) in site order.
COPY (
    SELECT
        q.region,
        q.state,
        q.latitude,
        q.longitude,
        q.site,
        q.cell,
        q.sector,
        q.band,
        q.state_index,
        q.utc_offset,
        q.observes_dst,
        q.area,
        q.quality_score,
        exp(0.35 * q.quality_score)::FLOAT AS quality_gain,
        q.household_score,
        exp(0.35 * q.household_score)::FLOAT AS household_gain,
        q.fault,
        (60 * CASE WHEN q.fault = 2 THEN 1 + hash($seed, q.site, 'loop') % 4 ELSE 720 END)::INTEGER
            AS uptime_period_minutes,
        (hash($seed, q.site, 'uptime') % 43200)::INTEGER AS uptime_phase_minutes
    FROM (
        SELECT
            p.*,
            greatest(-3.7, least(
                3.7,
                0.8 * normal_quantile((hash($seed, p.site, 'quality') % 1048576 + 0.5) / 1048576)
                + 0.6 * normal_quantile((hash($seed, p.area, 'area') % 1048576 + 0.5) / 1048576)
            ))::FLOAT AS quality_score,
            greatest(-3.7, least(
                3.7,
                normal_quantile((hash($seed, p.site, 'household') % 1048576 + 0.5) / 1048576)
            ))::FLOAT AS household_score,
            (CASE
                WHEN hash($seed, p.site, 'fault') % 1000 < 3 THEN 1
                WHEN hash($seed, p.site, 'fault') % 1000 < 6 THEN 2
                ELSE 0
            END)::TINYINT AS fault
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
                (floor((s.latitude - 24) / 0.4) * 120 + floor((s.longitude + 125) / 0.5))::SMALLINT AS area
            FROM sampled_points AS s
            INNER JOIN state_regions AS r ON s.state = r.state
            INNER JOIN state_zones AS z ON s.state = z.state
        ) AS p
    ) AS q
    ORDER BY q.site
) TO $target (FORMAT parquet, COMPRESSION zstd);
