-- Creates the empty table the metric catalogue's model parameters are loaded into, one row per metric.
-- Parameters: none.
-- Output: temporary table metric_parameters (column_name, family, centre, spread, noise, cycle, incident);
-- see duckwifi/generator/catalogue.py for what each means.
CREATE OR REPLACE TEMP TABLE metric_parameters (
    column_name VARCHAR PRIMARY KEY,
    family VARCHAR NOT NULL,
    centre DOUBLE NOT NULL,
    spread DOUBLE NOT NULL,
    noise DOUBLE NOT NULL,
    cycle DOUBLE NOT NULL,
    incident DOUBLE NOT NULL
);
