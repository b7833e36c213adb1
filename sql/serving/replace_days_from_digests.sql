-- Replaces every derived row of some whole days (their hours' statistics, nation and region sketches,
-- quantiles and row counts, and the day grain) with the rows of the days' digests, read as they are: a
-- digest holds what replace_hours.sql and replace_days.sql produce for the day from the same units
-- (duckwifi/rollups/digests.py), so this is a plain read. Runs inside the refresh's transaction.
-- Parameters: $days TIMESTAMP[], midnight of each day; $stats_hour, $stats_day, $sketch_hour, $sketch_day,
-- $quantile_hour, $quantile_day, $cells_day, $cell_centres, $hour_rows VARCHAR[]: the digests' files of
-- each table (one per day).
-- Output: rows of stats_hour, sketch_hour (levels 0 and 1), quantile_hour and hour_rows for the days'
-- hours, and of stats_day, sketch_day, quantile_day, cells_day and cell_centres for the days.
-- A digest file holds its table's own columns (digest_write.sql), read by name, hence SELECT * and the noqa.
-- noqa: disable=AM04
DELETE FROM stats_hour
WHERE list_contains($days, date_trunc('day', t));

DELETE FROM sketch_hour
WHERE level < 2 AND list_contains($days, date_trunc('day', t));

DELETE FROM quantile_hour
WHERE list_contains($days, date_trunc('day', t));

DELETE FROM hour_rows
WHERE list_contains($days, date_trunc('day', t));

DELETE FROM stats_day
WHERE list_contains($days, t);

DELETE FROM sketch_day
WHERE list_contains($days, t);

DELETE FROM quantile_day
WHERE list_contains($days, t);

DELETE FROM cells_day
WHERE list_contains($days, t);

INSERT INTO stats_hour BY NAME
SELECT * FROM read_parquet($stats_hour)
ORDER BY metric, level, t;

INSERT INTO stats_day BY NAME
SELECT * FROM read_parquet($stats_day)
ORDER BY metric, level, t;

INSERT INTO sketch_hour BY NAME
SELECT * FROM read_parquet($sketch_hour)
ORDER BY metric, level, t;

INSERT INTO sketch_day BY NAME
SELECT * FROM read_parquet($sketch_day)
ORDER BY metric, level, t;

INSERT INTO quantile_hour BY NAME
SELECT * FROM read_parquet($quantile_hour)
ORDER BY metric, level, t;

INSERT INTO quantile_day BY NAME
SELECT * FROM read_parquet($quantile_day)
ORDER BY metric, level, t;

INSERT INTO cells_day BY NAME
SELECT * FROM read_parquet($cells_day)
ORDER BY metric, t;

INSERT OR IGNORE INTO cell_centres
SELECT DISTINCT
    c.cell,
    c.lat,
    c.lon
FROM read_parquet($cell_centres) AS c;

INSERT INTO hour_rows
SELECT
    h.t,
    h.n
FROM read_parquet($hour_rows) AS h;
