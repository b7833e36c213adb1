-- Writes the devices Parquet file from the sampled points: labels each point with its Census region and
-- draws cell, sector and band (1 to 10) from a hash of (seed, site), so one seed always gives one fleet.
-- Coordinates are stored as DECIMAL(8, 6) and DECIMAL(9, 6), the six decimals they were sampled at (about
-- 0.1 m) and the lake's types: exact, and cheaper for each tick to print than doubles.
-- Streams straight to the file, never holding the fleet as a table in memory.
-- Parameters: $seed BIGINT; $target VARCHAR, the path to write (a temporary name; Python renames it).
-- Reads: sampled_points(site, state, latitude, longitude), registered by Python, in site order;
-- state_regions.
-- Output: one Parquet file (region, state, latitude, longitude, site, cell, sector, band) in site order.
COPY (
    SELECT
        r.region,
        p.state,
        p.latitude::DECIMAL(8, 6) AS latitude,
        p.longitude::DECIMAL(9, 6) AS longitude,
        p.site,
        (1 + hash($seed, p.site, 'cell') % 10)::TINYINT AS cell,
        (1 + hash($seed, p.site, 'sector') % 10)::TINYINT AS sector,
        (1 + hash($seed, p.site, 'band') % 10)::TINYINT AS band
    FROM sampled_points AS p
    INNER JOIN state_regions AS r ON p.state = r.state
    ORDER BY p.site
) TO $target (FORMAT parquet, COMPRESSION zstd);
