-- Drops hourly rows that left their window: map cells older than the recent window, and state-level
-- sketches older than the sketch window.
-- Parameters: $oldest TIMESTAMP, the recent window's first hour; $oldest_sketch TIMESTAMP, the sketch
-- window's.
-- Output: rows of cells_hour before $oldest, and level-2 rows of sketch_hour before $oldest_sketch, deleted.
DELETE FROM cells_hour
WHERE t < $oldest;

DELETE FROM sketch_hour
WHERE level = 2 AND t < $oldest_sketch;
