-- Defines metric_low(h) and metric_high(h): two metrics from the two 32-bit halves of one 64-bit hash.
-- The hash of (seed, site, hour, pair) rather than random() makes every value reproducible and
-- independent of thread scheduling; taking two metrics from each hash halves the hashing, a fifth of a
-- tick's time. A half scales to [0, 1,000,000) by multiply-and-shift, so each value is equally likely to
-- within 0.03%. Values are in [0, 100) with exactly four decimals: DECIMAL(6, 4) prints as at most seven
-- characters, about half of a full double's text, which halves the CSV and the time to write it.
-- Parameters: none.
-- Output: temporary macros metric_low and metric_high.
-- The linter reads macro parameters as type names, hence the noqa.
CREATE OR REPLACE TEMP MACRO metric_low(h) AS  -- noqa: CP05
((((h & 4294967295) * 1000000) >> 32)::BIGINT * 0.0001)::DECIMAL(6, 4);

CREATE OR REPLACE TEMP MACRO metric_high(h) AS  -- noqa: CP05
((((h >> 32) * 1000000) >> 32)::BIGINT * 0.0001)::DECIMAL(6, 4);
