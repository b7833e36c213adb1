-- Builds the devices table from the sampled points: labels each point with its Census region and draws
-- cell, sector and band (1 to 10) from a hash of (seed, site), so that one seed always gives one fleet.
-- Parameters: $seed BIGINT.
-- Reads: sampled_points(site, state, latitude, longitude), registered by Python; state_regions.
-- Output: table devices(region, state, latitude, longitude, site, cell, sector, band), ordered by site.
CREATE OR REPLACE TABLE devices AS
SELECT
    r.region,
    p.state,
    p.latitude,
    p.longitude,
    p.site,
    (1 + hash($seed, p.site, 'cell') % 10)::TINYINT AS cell,
    (1 + hash($seed, p.site, 'sector') % 10)::TINYINT AS sector,
    (1 + hash($seed, p.site, 'band') % 10)::TINYINT AS band
FROM sampled_points AS p
INNER JOIN state_regions AS r ON p.state = r.state
ORDER BY p.site;
