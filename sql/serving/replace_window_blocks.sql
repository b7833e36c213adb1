-- Rebuilds the window's six-hour blocks of map cells from cells_hour (run after the window's hours are
-- loaded and dropped): the blocks holding a reloaded or removed hour, and drops blocks that are no longer
-- wholly inside the window (their oldest hours have left cells_hour).
-- Parameters: $blocks TIMESTAMP[], the first hours of the blocks to rebuild, each at or after $oldest;
-- $oldest TIMESTAMP, the window's first hour; $block_hours INTEGER, a block's length (a divisor of 24).
-- Output: rows of cells_block replaced.
DELETE FROM cells_block
WHERE list_contains($blocks, t) OR t < $oldest;

INSERT INTO cells_block
SELECT
    b.block AS t,
    b.region,
    b.state,
    b.cell,
    b.metric,
    sum(b.n) AS n,
    sum(b.s1) AS s1,
    min(b.lo) AS lo,
    max(b.hi) AS hi
FROM (
    SELECT
        c.region,
        c.state,
        c.cell,
        c.metric,
        c.n,
        c.s1,
        c.lo,
        c.hi,
        date_trunc('day', c.t) + to_hours(hour(c.t) // $block_hours * $block_hours) AS block
    FROM cells_hour AS c
    -- The blocks' span first: a plain comparison, before computing every hour's block.
    WHERE
        c.t >= list_min(cast($blocks AS TIMESTAMP[]))
        AND c.t < list_max(cast($blocks AS TIMESTAMP[])) + to_hours($block_hours)
) AS b
WHERE list_contains($blocks, b.block)
GROUP BY b.metric, b.block, b.region, b.state, b.cell
ORDER BY b.metric, b.block;
