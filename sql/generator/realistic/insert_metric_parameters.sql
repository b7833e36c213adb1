-- Loads one metric's model parameters from the catalogue.
-- Parameters: $column_name VARCHAR (metric_1 ...), $family VARCHAR, $centre, $spread, $noise, $cycle,
-- $incident DOUBLE.
-- Output: one row in metric_parameters.
INSERT INTO metric_parameters
VALUES ($column_name, $family, $centre, $spread, $noise, $cycle, $incident);
