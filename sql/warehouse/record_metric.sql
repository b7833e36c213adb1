-- Records one metric of the catalogue.
-- Parameters: $position INTEGER (1 for metric_1), $column_name, $name, $unit, $family VARCHAR, $lower and
-- $upper DOUBLE (the physical range), $decimals INTEGER.
-- Output: one row in metric_catalogue.
INSERT OR REPLACE INTO metric_catalogue
VALUES ($position, $column_name, $name, $unit, $family, $lower, $upper, $decimals);
