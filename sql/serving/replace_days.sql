-- Rebuilds the day grain of some days from the hourly tables (days are derived from hours, never from
-- raw rows), after their hours changed. A day is labelled by its first hour.
-- Parameters: $days TIMESTAMP[], midnight of each day to rebuild.
-- Output: rows of stats_day and sketch_day for those days.
DELETE FROM stats_day
WHERE list_contains($days, t);

DELETE FROM sketch_day
WHERE list_contains($days, t);

INSERT INTO stats_day
SELECT
    date_trunc('day', s.t) AS t,
    s.region,
    s.state,
    s.band,
    s.metric,
    sum(s.n) AS n,
    sum(s.s1) AS s1,
    sum(s.s2) AS s2,
    min(s.lo) AS lo,
    max(s.hi) AS hi
FROM stats_hour AS s
WHERE list_contains($days, date_trunc('day', s.t))
GROUP BY s.metric, date_trunc('day', s.t), s.region, s.state, s.band
ORDER BY s.metric, t;

INSERT INTO sketch_day
SELECT
    k.level,
    date_trunc('day', k.t) AS t,
    k.region,
    k.state,
    k.metric,
    k.bucket,
    sum(k.n) AS n
FROM sketch_hour AS k
WHERE list_contains($days, date_trunc('day', k.t))
GROUP BY k.level, k.metric, date_trunc('day', k.t), k.region, k.state, k.bucket
ORDER BY k.level, k.metric, t;
