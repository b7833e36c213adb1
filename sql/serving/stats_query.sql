-- Answers count, avg, min, max or sample stddev of one metric from the statistics rollups, grouped by
-- time (hour or day), by a dimension (region, state, band) or not at all. Rows are read at one
-- pre-merged level (create_tables.sql), the coarsest that holds the filters and the grouping. The range
-- is given as up to two runs of whole hours (answered from stats_hour) and one run of whole days (from
-- stats_day), which the caller cuts so that together they cover [start, end) exactly once.
-- Sums are exact decimals; the stddev's numerator n * s2 - s1 * s1 is computed exactly when it fits in a
-- DECIMAL(38) and in doubles otherwise.
-- Parameters: $metric TINYINT; $level TINYINT; $stat VARCHAR (count, avg, min, max, stddev); $group
-- VARCHAR (hour, day, region, state, band, none); $h1_start, $h1_end, $h2_start, $h2_end, $d_start,
-- $d_end TIMESTAMP; $regions, $states VARCHAR[] and $bands TINYINT[] (empty: no filter).
-- Output: rows (time_key TIMESTAMP, text_key VARCHAR, value DOUBLE, n BIGINT), one per group with rows;
-- value is NULL where undefined (the stddev of one row).
WITH picked AS (
    SELECT
        s.t,
        s.region,
        s.state,
        s.band,
        s.n,
        s.s1,
        s.s2,
        s.lo,
        s.hi
    FROM stats_hour AS s
    WHERE
        s.metric = $metric
        AND s.level = $level
        AND ((s.t >= $h1_start AND s.t < $h1_end) OR (s.t >= $h2_start AND s.t < $h2_end))
        AND (len($regions) = 0 OR list_contains($regions, s.region))
        AND (len($states) = 0 OR list_contains($states, s.state))
        AND (len($bands) = 0 OR list_contains($bands, s.band))
    UNION ALL
    SELECT
        s.t,
        s.region,
        s.state,
        s.band,
        s.n,
        s.s1,
        s.s2,
        s.lo,
        s.hi
    FROM stats_day AS s
    WHERE
        s.metric = $metric
        AND s.level = $level
        AND s.t >= $d_start AND s.t < $d_end
        AND (len($regions) = 0 OR list_contains($regions, s.region))
        AND (len($states) = 0 OR list_contains($states, s.state))
        AND (len($bands) = 0 OR list_contains($bands, s.band))
),

grouped AS (
    SELECT
        CASE $group WHEN 'hour' THEN p.t WHEN 'day' THEN date_trunc('day', p.t) END AS time_key,
        CASE $group
            WHEN 'region' THEN p.region
            WHEN 'state' THEN p.state
            WHEN 'band' THEN cast(p.band AS VARCHAR)
        END AS text_key,
        sum(p.n) AS n,
        sum(p.s1) AS s1,
        sum(p.s2) AS s2,
        min(p.lo) AS lo,
        max(p.hi) AS hi
    FROM picked AS p
    GROUP BY ALL
)

SELECT
    g.time_key,
    g.text_key,
    CASE $stat
        WHEN 'count' THEN cast(g.n AS DOUBLE)
        WHEN 'avg' THEN cast(g.s1 AS DOUBLE) / g.n
        WHEN 'min' THEN cast(g.lo AS DOUBLE)
        WHEN 'max' THEN cast(g.hi AS DOUBLE)
        WHEN 'stddev' THEN
            CASE
                WHEN g.n > 1 THEN sqrt(greatest(0.0, coalesce(
                    cast(try(g.n * g.s2 - g.s1 * g.s1) AS DOUBLE),
                    g.n * cast(g.s2 AS DOUBLE) - cast(g.s1 AS DOUBLE) * cast(g.s1 AS DOUBLE)
                )) / (cast(g.n AS DOUBLE) * (g.n - 1)))
            END
    END AS value,
    -- A sum of row counts fits a BIGINT; Python converts a HUGEINT several times slower.
    cast(g.n AS BIGINT) AS n
FROM grouped AS g
ORDER BY g.time_key, g.text_key;
