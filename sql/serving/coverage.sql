-- The first and last hour with rows in the serving store.
-- Parameters: none.
-- Output: one row (first TIMESTAMP, last TIMESTAMP), both NULL when the store is empty.
SELECT
    min(h.t) AS first_hour,
    max(h.t) AS last_hour
FROM hour_rows AS h;
