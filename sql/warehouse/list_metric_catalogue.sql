-- Lists the metric catalogue in column order.
-- Parameters: none.
-- Output: one row per metric (column_name, name, unit, family, lower, upper, decimals), metric_1 first.
SELECT
    column_name,
    name,
    unit,
    family,
    lower,
    upper,
    decimals
FROM metric_catalogue
ORDER BY position;
