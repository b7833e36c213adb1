-- Builds the realistic profile's model, once per tick: one row whose columns are each metric's parameters
-- (metric_4_centre, metric_4_spread, ...) and its noise table (metric_4_noise): 4,096 quantiles at the
-- midpoints of equal-probability bins, indexed by 12 bits of the hour's hash. A value then costs one list
-- lookup and a few multiplications, never a logarithm or an exponential: normal metrics get noise * z,
-- lognormal ones exp(noise * z), exponential ones -ln(1 - p). 4,096 bins put the discretisation's largest
-- effect on a distribution function at 1/8,192; the tails reach z = 3.67 (catalogue.NOISE_LIMIT). Scalars in
-- columns of a one-row table, rather than in lists, cost nothing per row: DuckDB reads them as constants.
-- Parameters: none.
-- Reads: metric_parameters; the macros of create_quantile_macros.sql.
-- Output: temporary table metric_model, one row: for each metric_k, metric_k_centre, metric_k_spread,
-- metric_k_cycle, metric_k_incident DOUBLE and metric_k_noise DOUBLE[4096].
CREATE OR REPLACE TEMP TABLE metric_model AS
PIVOT (
    SELECT
        m.column_name,
        m.centre,
        m.spread,
        m.cycle,
        m.incident,
        list(
            CASE m.family
                WHEN 'normal' THEN m.noise * normal_quantile((b.i + 0.5) / 4096)
                WHEN 'lognormal' THEN exp(m.noise * normal_quantile((b.i + 0.5) / 4096))
                WHEN 'exponential' THEN -ln(1 - (b.i + 0.5) / 4096)
                ELSE 0
            END
            ORDER BY b.i
        ) AS noise
    FROM metric_parameters AS m
    CROSS JOIN range(4096) AS b (i)
    GROUP BY ALL
) ON column_name
USING first(centre) AS centre, first(spread) AS spread, first(cycle) AS cycle, first(incident) AS incident,
first(noise) AS noise;
