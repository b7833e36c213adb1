-- Sorts again the sketch_hour rows of the hours loaded since the last compaction, and only those: the table
-- holds 31 days of state-level hourly sketches (over 100 million rows), and sorting all of it would take
-- seconds of both cores and a copy of it in memory. The days the sketch window is filled with arrive sorted
-- by metric, a day at a time. Run in one transaction, so a query sees the rows before or after, never
-- without them.
-- Parameters: $hours TIMESTAMP[], the hours loaded since the last compaction.
-- Output: those hours' rows of sketch_hour, the same rows, appended again sorted by metric, level and time.
-- The rows are moved with all of their columns, hence SELECT * and the noqa.
-- noqa: disable=AM04
CREATE OR REPLACE TEMP TABLE sketch_hour_sorted AS
SELECT * FROM sketch_hour
WHERE list_contains($hours, t)
ORDER BY metric, level, t;

DELETE FROM sketch_hour
WHERE list_contains($hours, t);

INSERT INTO sketch_hour
SELECT * FROM sketch_hour_sorted;

DROP TABLE sketch_hour_sorted;
