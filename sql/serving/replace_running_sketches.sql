-- Rebuilds one day's running totals of the state-level sketches (sketch_running): the previous held day's
-- totals plus this day's sketches. A refresh rebuilds them for every held day from the first one whose
-- sketches changed, in order (one day a refresh, as a rule: today's).
-- Parameters: $day TIMESTAMP, midnight of the day; $previous TIMESTAMP, midnight of the held day before
-- it (NULL for the first).
-- Output: the level-2 rows of sketch_running for $day replaced.
DELETE FROM sketch_running
WHERE t = $day;

INSERT INTO sketch_running
SELECT
    cast(2 AS TINYINT) AS level,
    $day AS t,
    k.region,
    k.state,
    k.metric,
    k.bucket,
    sum(k.n) AS n
FROM (
    SELECT
        r.region,
        r.state,
        r.metric,
        r.bucket,
        r.n
    FROM sketch_running AS r
    WHERE r.t = $previous
    UNION ALL
    SELECT
        d.region,
        d.state,
        d.metric,
        d.bucket,
        d.n
    FROM sketch_day AS d
    WHERE d.level = 2 AND d.t = $day
) AS k
GROUP BY k.metric, k.region, k.state, k.bucket
ORDER BY k.metric;
