-- Drops hourly map rows that left the recent window.
-- Parameters: $oldest TIMESTAMP, the window's first hour.
-- Output: rows of cells_hour before $oldest deleted.
DELETE FROM cells_hour
WHERE t < $oldest;
