-- Removes every row of some hours and days whose last unit was forgotten or replaced by an empty one.
-- Parameters: $hours TIMESTAMP[]; $days TIMESTAMP[] (midnights of days left without any unit).
-- Output: the rows of those hours deleted from stats_hour, sketch_hour, quantile_hour, hour_rows and
-- cells_hour, and of those days from stats_day, sketch_day, sketch_running, quantile_day and cells_day.
DELETE FROM stats_hour
WHERE list_contains($hours, t);

DELETE FROM sketch_hour
WHERE list_contains($hours, t);

DELETE FROM quantile_hour
WHERE list_contains($hours, t);

DELETE FROM hour_rows
WHERE list_contains($hours, t);

DELETE FROM cells_hour
WHERE list_contains($hours, t);

DELETE FROM stats_day
WHERE list_contains($days, t);

DELETE FROM sketch_day
WHERE list_contains($days, t);

DELETE FROM sketch_running
WHERE list_contains($days, t);

DELETE FROM quantile_day
WHERE list_contains($days, t);

DELETE FROM cells_day
WHERE list_contains($days, t);
