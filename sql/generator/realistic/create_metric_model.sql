-- Builds the realistic profile's lookup tables, once per tick: for every metric, its parameters as lists
-- indexed by position, and two tables of 4,096 quantiles at the midpoints of equal-probability bins, one for
-- the device baseline (indexed by the device's precomputed rank) and one for the hourly noise (indexed by 12
-- bits of the hour's hash). A value then costs two list lookups and a few multiplications, never a
-- logarithm or an exponential: normal metrics get spread * z and noise * z, lognormal ones exp(spread * z)
-- and exp(noise * z), exponential ones 1 and -ln(1 - p). 4,096 bins put the discretisation's largest effect
-- on a distribution function at 1/8,192; the tails reach 3.67 standard deviations (p = 1/8,192).
-- Parameters: none.
-- Reads: metric_parameters; the macros of create_quantile_macros.sql.
-- Output: temporary table metric_model, one row: lower, upper, centre, cycle, incident DOUBLE[20]; device
-- and noise DOUBLE[20 * 4096], metric k's table from (k - 1) * 4096 + 1.
CREATE OR REPLACE TEMP TABLE metric_model AS
WITH
bins AS (
    SELECT
        b.i,
        (b.i + 0.5) / 4096 AS p,
        normal_quantile((b.i + 0.5) / 4096) AS z
    FROM range(4096) AS b (i)
),

tables AS (
    SELECT
        m.position,
        list(
            CASE WHEN m.family = 'normal' THEN m.spread * b.z ELSE exp(m.spread * b.z) END
            ORDER BY b.i
        ) AS device,
        list(
            CASE m.family
                WHEN 'normal' THEN m.noise * b.z
                WHEN 'lognormal' THEN exp(m.noise * b.z)
                WHEN 'exponential' THEN -ln(1 - b.p)
                ELSE 0
            END
            ORDER BY b.i
        ) AS noise
    FROM metric_parameters AS m
    CROSS JOIN bins AS b
    GROUP BY m.position
)

SELECT
    list(m.lower ORDER BY m.position) AS lower,
    list(m.upper ORDER BY m.position) AS upper,
    list(m.centre ORDER BY m.position) AS centre,
    list(m.cycle ORDER BY m.position) AS cycle,
    list(m.incident ORDER BY m.position) AS incident,
    flatten(list(t.device ORDER BY m.position)) AS device,
    flatten(list(t.noise ORDER BY m.position)) AS noise
FROM metric_parameters AS m
INNER JOIN tables AS t ON m.position = t.position;
