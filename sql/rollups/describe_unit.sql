-- Describes a unit from its statistics file: the source's rows and the hours it holds rows of.
-- Parameters: $stats VARCHAR, the unit's stats.parquet.
-- Output: one row (rows BIGINT, hours TIMESTAMP[] sorted); rows counts each raw row once (metric 1).
SELECT
    coalesce(sum(s.n) FILTER (WHERE s.metric = 1), 0) AS rows,
    coalesce(list_sort(list(DISTINCT s.hour)), []) AS hours
FROM read_parquet($stats) AS s;
