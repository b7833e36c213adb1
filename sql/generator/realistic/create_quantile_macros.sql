-- Defines the standard normal quantile and distribution functions the realistic profile builds its tables
-- with. They run a few thousand times per tick (lookup tables) and once per device at init, never per value.
-- normal_quantile is Acklam's rational approximation (relative error below 1.2e-9); normal_cdf uses
-- Abramowitz and Stegun 7.1.26 for erf (absolute error below 1.5e-7).
-- Parameters: none.
-- Output: temporary macros normal_quantile(p) for 0 < p < 1, and normal_cdf(x).
-- The linter reads macro parameters as type names, hence the noqa.
CREATE OR REPLACE TEMP MACRO acklam_tail(q) AS  -- noqa: CP05
(
    ((
        ((-7.784894002430293e-03 * q - 3.223964580411365e-01) * q - 2.400758277161838e+00) * q
        - 2.549732539343734e+00
    ) * q + 4.374664141464968e+00) * q + 2.938163982698783e+00
)
/ ((
    ((7.784695709041462e-03 * q + 3.224671290700398e-01) * q + 2.445134137142996e+00) * q
    + 3.754408661907416e+00
) * q + 1);

CREATE OR REPLACE TEMP MACRO acklam_centre(q, r) AS  -- noqa: CP05
(
    ((
        ((-3.969683028665376e+01 * r + 2.209460984245205e+02) * r - 2.759285104469687e+02) * r
        + 1.383577518672690e+02
    ) * r - 3.066479806614716e+01) * r + 2.506628277459239e+00
) * q
/ (((
    ((-5.447609879822406e+01 * r + 1.615858368580409e+02) * r - 1.556989798598866e+02) * r
    + 6.680131188771972e+01
) * r - 1.328068155288572e+01) * r + 1);

CREATE OR REPLACE TEMP MACRO normal_quantile(p) AS  -- noqa: CP05
CASE
    WHEN p < 0.02425 THEN acklam_tail(sqrt(-2 * ln(p)))
    WHEN p > 1 - 0.02425 THEN -acklam_tail(sqrt(-2 * ln(1 - p)))
    ELSE acklam_centre(p - 0.5, (p - 0.5) * (p - 0.5))
END;

CREATE OR REPLACE TEMP MACRO erf_abs(y) AS  -- noqa: CP05
1 - (
    ((
        ((1.061405429 * (1 / (1 + 0.3275911 * y)) - 1.453152027) * (1 / (1 + 0.3275911 * y)) + 1.421413741)
        * (1 / (1 + 0.3275911 * y)) - 0.284496736
    ) * (1 / (1 + 0.3275911 * y)
    ) + 0.254829592)
    * (1 / (1 + 0.3275911 * y))
) * exp(-y * y);

CREATE OR REPLACE TEMP MACRO normal_cdf(x) AS  -- noqa: CP05
0.5 * (1 + sign(x) * erf_abs(abs(x) / sqrt(2)));
