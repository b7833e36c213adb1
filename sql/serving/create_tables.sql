-- Creates the serving store's in-memory tables: the per-source rollups merged by their keys, and the
-- derived caches (days, and sketches pre-merged for regions and the nation) rebuilt from them.
-- Tables are kept sorted by metric, level and time (compact_tables.sql restores the order after
-- refreshes), so a query on one metric and level skips the other row groups.
-- Parameters: none.
-- Output: tables stats_hour, stats_day, sketch_hour, sketch_day, sketch_running, quantile_hour,
-- quantile_day, cells_hour, cells_block, cells_day, cell_centres, hour_rows (empty).
-- Statistics are pre-merged at six levels, so a question reads only the rows of the coarsest grain that
-- holds its filters and grouping: 0 the nation, 1 a region, 2 a state, and 3, 4, 5 the same split by band.
-- A key column the level does not split by is NULL.
CREATE TABLE stats_hour (
    metric TINYINT NOT NULL,
    level TINYINT NOT NULL,
    t TIMESTAMP NOT NULL,
    region VARCHAR,
    state VARCHAR,
    band TINYINT,
    n BIGINT NOT NULL,
    s1 DECIMAL(38, 4) NOT NULL,
    s2 DECIMAL(38, 8) NOT NULL,
    lo DECIMAL(9, 4) NOT NULL,
    hi DECIMAL(9, 4) NOT NULL
);

CREATE TABLE stats_day (
    metric TINYINT NOT NULL,
    level TINYINT NOT NULL,
    t TIMESTAMP NOT NULL,
    region VARCHAR,
    state VARCHAR,
    band TINYINT,
    n BIGINT NOT NULL,
    s1 DECIMAL(38, 4) NOT NULL,
    s2 DECIMAL(38, 8) NOT NULL,
    lo DECIMAL(9, 4) NOT NULL,
    hi DECIMAL(9, 4) NOT NULL
);

-- The regions and states, sorted, as one ENUM for the sketch tables' keys: a question merges its sketch rows
-- per region or state, and DuckDB's hash aggregate groups a one-byte code markedly faster than a VARCHAR
-- (docs/benchmarks.md). One type for both, so that a key that is either stays that type. Sorted, so that
-- ordering by it is ordering by the text. sqlfluff reads the ENUM's query as a bracketed statement (CV07).
CREATE TYPE SERVING_PLACE AS ENUM (  -- noqa: CV07
    SELECT p.place
    FROM (
        SELECT sr.region AS place FROM state_regions AS sr
        UNION
        SELECT sr.state AS place FROM state_regions AS sr
    ) AS p
    ORDER BY p.place
);

-- level 0: the nation (region and state NULL); 1: a region (state NULL); 2: a state.
CREATE TABLE sketch_hour (
    level TINYINT NOT NULL,
    t TIMESTAMP NOT NULL,
    region SERVING_PLACE,
    state SERVING_PLACE,
    metric TINYINT NOT NULL,
    bucket SMALLINT NOT NULL,
    n BIGINT NOT NULL
);

CREATE TABLE sketch_day (
    level TINYINT NOT NULL,
    t TIMESTAMP NOT NULL,
    region SERVING_PLACE,
    state SERVING_PLACE,
    metric TINYINT NOT NULL,
    bucket SMALLINT NOT NULL,
    n BIGINT NOT NULL
);

-- Running totals of the state-level day sketches: the rows of day t hold every state's bucket counts over
-- all held days up to t. Counts subtract exactly, so a run of days is two days' rows, the last day's minus
-- the day before the first: a 30-day state quantile merges about 25,000 rows, not 350,000. Level 2 only
-- (nation and region merge a row set a day); rebuilt from sketch_day (replace_running_sketches.sql).
CREATE TABLE sketch_running (
    level TINYINT NOT NULL,
    t TIMESTAMP NOT NULL,
    region SERVING_PLACE,
    state SERVING_PLACE,
    metric TINYINT NOT NULL,
    bucket SMALLINT NOT NULL,
    n BIGINT NOT NULL
);

-- Map sums are DECIMAL(18, 4), eight bytes rather than sixteen in the largest tables: a cell's sum over a
-- day is at most 20M devices x 24 hours x 99999.9999, below 1e14, and sums stay exact in any order.
CREATE TABLE cells_hour (
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

-- The window's hourly cells merged by six-hour block (00, 06, 12, 18 UTC), for the blocks wholly inside
-- the window: a 24-hour map ending mid-day reads four blocks and a few hours, not 24 hours' rows.
CREATE TABLE cells_block (
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

CREATE TABLE cells_day (
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

-- p50, p90 and p99 of every hour and day at the three sketch levels, computed once when the hour or day
-- is (re)loaded, so a quantile time series for the nation, a region or a state is a look-up.
CREATE TABLE quantile_hour (
    metric TINYINT NOT NULL,
    level TINYINT NOT NULL,
    t TIMESTAMP NOT NULL,
    region VARCHAR,
    state VARCHAR,
    n BIGINT NOT NULL,
    p50 DOUBLE NOT NULL,
    p90 DOUBLE NOT NULL,
    p99 DOUBLE NOT NULL
);

CREATE TABLE quantile_day (
    metric TINYINT NOT NULL,
    level TINYINT NOT NULL,
    t TIMESTAMP NOT NULL,
    region VARCHAR,
    state VARCHAR,
    n BIGINT NOT NULL,
    p50 DOUBLE NOT NULL,
    p90 DOUBLE NOT NULL,
    p99 DOUBLE NOT NULL
);

CREATE TABLE cell_centres (cell VARCHAR PRIMARY KEY, lat DOUBLE NOT NULL, lon DOUBLE NOT NULL);

CREATE TABLE hour_rows (t TIMESTAMP PRIMARY KEY, n BIGINT NOT NULL);
