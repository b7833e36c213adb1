-- Moves the clock past one written hour; it only moves if it still stands at that hour.
-- Parameters: $hour TIMESTAMP, the hour just written.
-- Output: the number of rows changed (1, or 0 if the clock was elsewhere).
UPDATE generator
SET next_hour = $hour + INTERVAL 1 HOUR
WHERE next_hour = $hour;
