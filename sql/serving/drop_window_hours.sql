-- Drops hourly rows that left the recent window: map cells and state-level sketches.
-- Parameters: $oldest TIMESTAMP, the window's first hour.
-- Output: rows of cells_hour, and level-2 rows of sketch_hour, before $oldest deleted.
DELETE FROM cells_hour
WHERE t < $oldest;

DELETE FROM sketch_hour
WHERE level = 2 AND t < $oldest;
