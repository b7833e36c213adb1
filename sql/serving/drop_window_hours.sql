-- Drops hourly rows that left their window: map cells older than the recent window, and state-level
-- sketches older than the first hour from which the store holds them all (the sketch window's first hour,
-- or later while it fills), so that none is held that questions also read from unit files.
-- Parameters: $oldest TIMESTAMP, the recent window's first hour; $oldest_sketch TIMESTAMP, that hour.
-- Output: rows of cells_hour before $oldest, and level-2 rows of sketch_hour before $oldest_sketch, deleted.
DELETE FROM cells_hour
WHERE t < $oldest;

DELETE FROM sketch_hour
WHERE level = 2 AND t < $oldest_sketch;
