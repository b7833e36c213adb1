-- Empties the metric catalogue before init records the new profile's.
-- Parameters: none.
-- Output: no rows in metric_catalogue.
DELETE FROM metric_catalogue;
