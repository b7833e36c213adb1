-- Loads one metric's model parameters from the catalogue.
-- Parameters: $position INTEGER (1 for metric_1), $family VARCHAR, $lower, $upper, $centre, $spread, $noise,
-- $cycle, $incident DOUBLE.
-- Output: one row in metric_parameters.
INSERT INTO metric_parameters
VALUES ($position, $family, $lower, $upper, $centre, $spread, $noise, $cycle, $incident);
