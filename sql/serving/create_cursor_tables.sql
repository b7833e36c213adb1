-- Creates the per-cursor scratch table of map rows read from unit files for hours older than the recent
-- window (a range whose leading partial day lies before it). Temporary, so each cursor (one per thread)
-- has its own.
-- Parameters: none.
-- Output: temporary table cells_edge, empty, with the columns of cells_hour.
CREATE OR REPLACE TEMP TABLE cells_edge (
    t TIMESTAMP NOT NULL,
    region VARCHAR NOT NULL,
    state VARCHAR NOT NULL,
    cell VARCHAR NOT NULL,
    metric TINYINT NOT NULL,
    n BIGINT NOT NULL,
    s1 DECIMAL(38, 4) NOT NULL,
    lo DECIMAL(9, 4) NOT NULL,
    hi DECIMAL(9, 4) NOT NULL
);
