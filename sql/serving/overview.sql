-- The serving store's coverage: rows per hour, from the merged statistics.
-- Parameters: none.
-- Output: one row per hour with rows (t TIMESTAMP, n BIGINT), ordered by hour.
SELECT
    h.t,
    h.n
FROM hour_rows AS h
ORDER BY h.t;
