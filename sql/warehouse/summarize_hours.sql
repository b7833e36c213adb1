-- Sums up the hours tick has written: how many, their rows and bytes, and the newest file.
-- Parameters: none.
-- Output: one row (hours, row_count, byte_count, last_path); last_path is NULL before the first hour.
SELECT
    count(*) AS hours,
    coalesce(sum(h.row_count), 0) AS row_count,
    coalesce(sum(h.byte_count), 0) AS byte_count,
    arg_max(h.path, h.hour) AS last_path
FROM hours AS h;
