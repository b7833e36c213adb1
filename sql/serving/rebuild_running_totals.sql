-- Rebuilds the running totals of sketch_day and cells_day from day $first_day on, after days changed. For
-- each day with rows, sketch_through holds every bucket's count over all days up to and including it, and
-- cells_through every map cell's count and sum. A run of whole days [a, b) is then the running totals at the
-- last day before b minus those at the last day before a: two days of rows however long the run, where
-- merging sketch_day or cells_day reads every day of it. Counts and sums subtract exactly; min and max do
-- not, so the map's min and max keep reading cells_day.
-- A key (level, region, state, metric and bucket; or region, state, cell and metric) has a row at every day
-- from its first day with rows on to the store's last day, carried forward over days without rows, so that
-- the two days a question reads (days of hour_rows) hold every key it needs. Each day row of the key, with
-- its running total, is spread over the days until the key's next day row: one sort, no join.
-- Days before $first_day are unchanged, and so are their running totals: the rebuild starts from the totals
-- of the last day before $first_day.
-- Parameters: $first_day TIMESTAMP, midnight of the first changed day.
-- Output: rows of sketch_through and cells_through from $first_day on, replaced.
DELETE FROM sketch_through
WHERE t >= $first_day;

DELETE FROM cells_through
WHERE t >= $first_day;

CREATE OR REPLACE TEMP TABLE totals_bounds AS
SELECT
    cast($first_day AS TIMESTAMP) AS first_day,
    max(date_trunc('day', h.t)) FILTER (WHERE h.t < $first_day) AS carried_day,
    max(date_trunc('day', h.t)) AS last_day
FROM hour_rows AS h;

INSERT INTO sketch_through BY NAME
WITH steps AS (
    -- The totals of the last day before $first_day, as the first step of each key.
    SELECT
        k.level,
        k.t,
        k.region,
        k.state,
        k.metric,
        k.bucket,
        k.n
    FROM sketch_through AS k
    INNER JOIN totals_bounds AS b ON k.t = b.carried_day
    UNION ALL
    SELECT
        k.level,
        k.t,
        k.region,
        k.state,
        k.metric,
        k.bucket,
        k.n
    FROM sketch_day AS k
    WHERE k.t >= $first_day
),

running AS (
    SELECT
        s.level,
        s.t,
        s.region,
        s.state,
        s.metric,
        s.bucket,
        sum(s.n) OVER by_key AS n,
        lead(s.t) OVER by_key AS next_t
    FROM steps AS s
    WINDOW by_key AS (
        PARTITION BY s.level, s.region, s.state, s.metric, s.bucket
        ORDER BY s.t ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW
    )
)

SELECT
    r.level,
    unnest(generate_series(
        greatest(r.t, b.first_day), coalesce(r.next_t - INTERVAL 1 DAY, b.last_day), INTERVAL 1 DAY
    )) AS t,
    r.region,
    r.state,
    r.metric,
    r.bucket,
    cast(r.n AS BIGINT) AS n
FROM running AS r
CROSS JOIN totals_bounds AS b
ORDER BY r.metric, r.level, t;

INSERT INTO cells_through BY NAME
WITH steps AS (
    SELECT
        k.t,
        k.region,
        k.state,
        k.cell,
        k.metric,
        k.n,
        k.s1
    FROM cells_through AS k
    INNER JOIN totals_bounds AS b ON k.t = b.carried_day
    UNION ALL
    SELECT
        k.t,
        k.region,
        k.state,
        k.cell,
        k.metric,
        k.n,
        k.s1
    FROM cells_day AS k
    WHERE k.t >= $first_day
),

running AS (
    SELECT
        s.t,
        s.region,
        s.state,
        s.cell,
        s.metric,
        sum(s.n) OVER by_key AS n,
        sum(s.s1) OVER by_key AS s1,
        lead(s.t) OVER by_key AS next_t
    FROM steps AS s
    WINDOW by_key AS (
        PARTITION BY s.region, s.state, s.cell, s.metric
        ORDER BY s.t ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW
    )
)

SELECT
    unnest(generate_series(
        greatest(r.t, b.first_day), coalesce(r.next_t - INTERVAL 1 DAY, b.last_day), INTERVAL 1 DAY
    )) AS t,
    r.region,
    r.state,
    r.cell,
    r.metric,
    cast(r.n AS BIGINT) AS n,
    cast(r.s1 AS DECIMAL(38, 4)) AS s1
FROM running AS r
CROSS JOIN totals_bounds AS b
ORDER BY r.metric, t;

DROP TABLE totals_bounds;
