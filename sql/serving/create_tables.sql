-- Creates the serving store's in-memory tables: the per-source rollups merged by their keys, and the
-- derived caches (days, and sketches pre-merged for regions and the nation) rebuilt from them.
-- Tables are kept sorted by metric then time, so a query on one metric skips the others' row groups.
-- Parameters: none.
-- Output: tables stats_hour, stats_day, sketch_hour, sketch_day, cells_hour, cells_day, cell_centres,
-- hour_rows (empty).
CREATE TABLE stats_hour (
    t TIMESTAMP NOT NULL,
    region VARCHAR NOT NULL,
    state VARCHAR NOT NULL,
    band TINYINT NOT NULL,
    metric TINYINT NOT NULL,
    n BIGINT NOT NULL,
    s1 DECIMAL(38, 4) NOT NULL,
    s2 DECIMAL(38, 8) NOT NULL,
    lo DECIMAL(9, 4) NOT NULL,
    hi DECIMAL(9, 4) NOT NULL
);

CREATE TABLE stats_day (
    t TIMESTAMP NOT NULL,
    region VARCHAR NOT NULL,
    state VARCHAR NOT NULL,
    band TINYINT NOT NULL,
    metric TINYINT NOT NULL,
    n BIGINT NOT NULL,
    s1 DECIMAL(38, 4) NOT NULL,
    s2 DECIMAL(38, 8) NOT NULL,
    lo DECIMAL(9, 4) NOT NULL,
    hi DECIMAL(9, 4) NOT NULL
);

-- level 0: the nation (region and state NULL); 1: a region (state NULL); 2: a state.
CREATE TABLE sketch_hour (
    level TINYINT NOT NULL,
    t TIMESTAMP NOT NULL,
    region VARCHAR,
    state VARCHAR,
    metric TINYINT NOT NULL,
    bucket SMALLINT NOT NULL,
    n BIGINT NOT NULL
);

CREATE TABLE sketch_day (
    level TINYINT NOT NULL,
    t TIMESTAMP NOT NULL,
    region VARCHAR,
    state VARCHAR,
    metric TINYINT NOT NULL,
    bucket SMALLINT NOT NULL,
    n BIGINT NOT NULL
);

CREATE TABLE cells_hour (
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

CREATE TABLE cells_day (
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

CREATE TABLE cell_centres (cell VARCHAR PRIMARY KEY, lat DOUBLE NOT NULL, lon DOUBLE NOT NULL);

CREATE TABLE hour_rows (t TIMESTAMP PRIMARY KEY, n BIGINT NOT NULL);
