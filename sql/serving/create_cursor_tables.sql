-- Creates the per-cursor scratch tables of map rows and state-level sketches read from unit files for hours
-- older than the recent window (the partial days of a range before it). Temporary, so each cursor (one per
-- thread) has its own.
-- Parameters: none.
-- Output: temporary tables cells_edge (the columns of cells_hour) and sketch_edge, empty.
CREATE OR REPLACE TEMP TABLE cells_edge (
    t TIMESTAMP NOT NULL,
    region VARCHAR NOT NULL,
    state VARCHAR NOT NULL,
    cell VARCHAR NOT NULL,
    metric TINYINT NOT NULL,
    n BIGINT NOT NULL,
    s1 DECIMAL(18, 4) NOT NULL,
    lo DECIMAL(9, 4) NOT NULL,
    hi DECIMAL(9, 4) NOT NULL
);

CREATE OR REPLACE TEMP TABLE sketch_edge (
    t TIMESTAMP NOT NULL,
    region SERVING_PLACE NOT NULL,
    state SERVING_PLACE NOT NULL,
    metric TINYINT NOT NULL,
    bucket SMALLINT NOT NULL,
    n BIGINT NOT NULL
);
