-- Answers count, avg, min or max of one metric per map cell, from cells_hour (runs of hours in the recent
-- window), cells_block (runs of the window's six-hour blocks), cells_edge (this cursor's rows of older hours,
-- read from unit files) and cells_day (whole days), cut by the caller as in stats_query.sql. For count and
-- avg, a range may be read as blocks minus the hours outside it ($m1, $m2 runs of cells_hour), or a partial
-- day older than the window as its whole day minus negative rows of cells_edge. A cell that spans a state
-- line has a row per state in the rollups; they merge here unless a state filter keeps one side.
-- Parameters: $metric TINYINT; $stat VARCHAR (count, avg, min, max); $h1_start, $h1_end, $h2_start,
-- $h2_end, $b1_start, $b1_end, $b2_start, $b2_end, $d_start, $d_end, $m1_start, $m1_end, $m2_start, $m2_end
-- TIMESTAMP; $regions, $states VARCHAR[]; $edges BOOLEAN (read the cursor's cells_edge, loaded for this
-- range).
-- Output: rows (cell VARCHAR, lat DOUBLE, lon DOUBLE, value DOUBLE, n BIGINT), ordered by cell.
WITH picked AS (
    SELECT
        c.cell,
        c.n,
        c.s1,
        c.lo,
        c.hi
    FROM cells_hour AS c
    WHERE
        c.metric = $metric
        AND ((c.t >= $h1_start AND c.t < $h1_end) OR (c.t >= $h2_start AND c.t < $h2_end))
        AND (len($regions) = 0 OR list_contains($regions, c.region))
        AND (len($states) = 0 OR list_contains($states, c.state))
    UNION ALL
    SELECT
        c.cell,
        c.n,
        c.s1,
        c.lo,
        c.hi
    FROM cells_edge AS c
    WHERE
        $edges
        AND c.metric = $metric
        AND (len($regions) = 0 OR list_contains($regions, c.region))
        AND (len($states) = 0 OR list_contains($states, c.state))
    UNION ALL
    SELECT
        c.cell,
        c.n,
        c.s1,
        c.lo,
        c.hi
    FROM cells_block AS c
    WHERE
        c.metric = $metric
        AND ((c.t >= $b1_start AND c.t < $b1_end) OR (c.t >= $b2_start AND c.t < $b2_end))
        AND (len($regions) = 0 OR list_contains($regions, c.region))
        AND (len($states) = 0 OR list_contains($states, c.state))
    UNION ALL
    -- Hours of the blocks read that lie outside the range, subtracted (count and avg only).
    SELECT
        c.cell,
        -c.n AS n,
        -c.s1 AS s1,
        c.lo,
        c.hi
    FROM cells_hour AS c
    WHERE
        c.metric = $metric
        AND ((c.t >= $m1_start AND c.t < $m1_end) OR (c.t >= $m2_start AND c.t < $m2_end))
        AND (len($regions) = 0 OR list_contains($regions, c.region))
        AND (len($states) = 0 OR list_contains($states, c.state))
    UNION ALL
    SELECT
        c.cell,
        c.n,
        c.s1,
        c.lo,
        c.hi
    FROM cells_day AS c
    WHERE
        c.metric = $metric
        AND c.t >= $d_start AND c.t < $d_end
        AND (len($regions) = 0 OR list_contains($regions, c.region))
        AND (len($states) = 0 OR list_contains($states, c.state))
),

grouped AS (
    SELECT
        p.cell,
        sum(p.n) AS n,
        sum(p.s1) AS s1,
        min(p.lo) AS lo,
        max(p.hi) AS hi
    FROM picked AS p
    GROUP BY p.cell
    -- Hours subtracted from a whole day (negative rows of cells_edge) can empty a cell.
    HAVING sum(p.n) > 0
)

SELECT
    g.cell,
    cc.lat,
    cc.lon,
    CASE $stat
        WHEN 'count' THEN cast(g.n AS DOUBLE)
        WHEN 'avg' THEN cast(g.s1 AS DOUBLE) / g.n
        WHEN 'min' THEN cast(g.lo AS DOUBLE)
        WHEN 'max' THEN cast(g.hi AS DOUBLE)
    END AS value,
    -- A sum of row counts fits a BIGINT; Python converts a HUGEINT several times slower (7,413 cells).
    cast(g.n AS BIGINT) AS n
FROM grouped AS g
INNER JOIN cell_centres AS cc ON g.cell = cc.cell
ORDER BY g.cell;
