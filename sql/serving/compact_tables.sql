-- Sorts the serving tables again by metric, level and time. Refreshes append each reloaded hour's rows
-- after the sorted ones, and a query on one metric skips a row group only when the group's min/max
-- statistics exclude it, which they stop doing as unsorted rows accumulate. All but sketch_hour, which
-- holds 31 days of state-level hours (compact_sketch_hours.sql sorts only its reloaded hours' rows).
-- Parameters: none.
-- Output: the tables with stats, sketch, quantile and cell rows replaced by the same rows, sorted.
-- Each table is rebuilt from all of its own columns, hence SELECT * and the noqa.
-- noqa: disable=AM04
CREATE OR REPLACE TABLE stats_hour AS
SELECT * FROM stats_hour
ORDER BY metric, level, t;

CREATE OR REPLACE TABLE stats_day AS
SELECT * FROM stats_day
ORDER BY metric, level, t;

CREATE OR REPLACE TABLE sketch_day AS
SELECT * FROM sketch_day
ORDER BY metric, level, t;

CREATE OR REPLACE TABLE sketch_running AS
SELECT * FROM sketch_running
ORDER BY metric, level, t;

CREATE OR REPLACE TABLE quantile_hour AS
SELECT * FROM quantile_hour
ORDER BY metric, level, t;

CREATE OR REPLACE TABLE quantile_day AS
SELECT * FROM quantile_day
ORDER BY metric, level, t;

CREATE OR REPLACE TABLE cells_hour AS
SELECT * FROM cells_hour
ORDER BY metric, t;

CREATE OR REPLACE TABLE cells_block AS
SELECT * FROM cells_block
ORDER BY metric, t;

CREATE OR REPLACE TABLE cells_day AS
SELECT * FROM cells_day
ORDER BY metric, t;
