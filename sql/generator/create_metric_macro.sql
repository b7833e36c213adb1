-- Defines metric(seed, site, hour, k): the k-th metric of one device in one hour.
-- A hash of (seed, site, hour, k) rather than random() makes every value reproducible and independent of
-- thread scheduling. Values are in [0, 100) with exactly four decimals: DECIMAL(6, 4) prints as at most
-- seven characters, about half of a full double's text, which halves the CSV and the time to write it.
-- Parameters: none.
-- Output: temporary macro metric.
-- The linter reads macro parameters as type names, hence the noqa.
CREATE OR REPLACE TEMP MACRO metric(seed, site, hour, k) AS  -- noqa: CP05
((hash(seed, site, hour, k) % 1000000)::BIGINT * 0.0001)::DECIMAL(6, 4);
