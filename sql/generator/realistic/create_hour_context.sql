-- Computes what one hour shares across the fleet, so that each device's row needs only lookups: the hour's
-- index and its hour of the week in UTC (0 = Monday 00:00), whether U.S. daylight saving time is on (from
-- 07:00 UTC on the second Sunday of March to 06:00 UTC on the first Sunday of November), the activity and
-- heat curves by local hour of the week, and the severity of the worst incident active this hour for every
-- state, every area and every (state, cell, sector).
-- Activity (0 to 1) is the share of peak household use: lowest before dawn, a daytime plateau that is higher
-- at weekends, and the evening peak at 21:00 local time. Heat (0 to 1) follows the outdoor temperature,
-- warmest at 15:00 and coolest at 05:00.
-- Parameters: $hour TIMESTAMP.
-- Reads: incidents; state_zones.
-- Output: temporary table hour_context, one row: hour_index BIGINT, utc_hour_of_week INTEGER, dst BOOLEAN,
-- activity and heat DOUBLE[168], state_severity DOUBLE[51], area_severity DOUBLE[7680] (area + 1),
-- sector_severity DOUBLE[5100] (state_index * 100 + (cell - 1) * 10 + sector).
CREATE OR REPLACE TEMP TABLE hour_context AS
WITH
active AS (
    SELECT
        i.scope,
        i.severity,
        i.area,
        z.state_index * 100 + (i.cell - 1) * 10 + i.sector AS sector_key,
        z.state_index
    FROM incidents AS i
    INNER JOIN state_zones AS z ON i.state = z.state
    WHERE i.start_hour <= $hour AND $hour < i.end_hour
),

daily AS (
    SELECT
        [
            0.15, 0.10, 0.07, 0.05, 0.05, 0.08, 0.18, 0.32, 0.38, 0.35, 0.33, 0.34,
            0.37, 0.36, 0.36, 0.40, 0.48, 0.60, 0.75, 0.88, 0.97, 1.00, 0.82, 0.45
        ] AS weekday,
        [
            0.25, 0.18, 0.12, 0.08, 0.06, 0.07, 0.10, 0.18, 0.32, 0.48, 0.58, 0.62,
            0.64, 0.63, 0.62, 0.63, 0.66, 0.72, 0.82, 0.92, 0.97, 1.00, 0.85, 0.55
        ] AS weekend,
        [
            0.10, 0.06, 0.03, 0.01, 0.00, 0.00, 0.03, 0.10, 0.22, 0.38, 0.55, 0.72,
            0.85, 0.94, 0.99, 1.00, 0.96, 0.87, 0.74, 0.58, 0.44, 0.32, 0.22, 0.15
        ] AS heat
),

week AS (
    SELECT
        list(CASE WHEN w.h < 120 THEN d.weekday[w.h % 24 + 1] ELSE d.weekend[w.h % 24 + 1] END ORDER BY w.h)
            AS activity,
        list(d.heat[w.h % 24 + 1] ORDER BY w.h) AS heat
    FROM range(168) AS w (h)
    CROSS JOIN daily AS d
),

dst_bounds AS (
    SELECT
        make_date(year($hour), 3, 8) AS march_8,
        make_date(year($hour), 11, 1) AS november_1
)

SELECT
    epoch_ms($hour) // 3600000 AS hour_index,
    ((epoch_ms($hour) // 3600000 + 72) % 168)::INTEGER AS utc_hour_of_week,
    (
        $hour >= b.march_8 + to_days((7 - dayofweek(b.march_8)) % 7) + INTERVAL 7 HOUR
        AND $hour < b.november_1 + to_days((7 - dayofweek(b.november_1)) % 7) + INTERVAL 6 HOUR
    ) AS dst,
    w.activity,
    w.heat,
    (
        SELECT list(coalesce(s.severity, 0) ORDER BY s.i)
        FROM (
            SELECT
                r.i,
                max(a.severity) AS severity
            FROM range(51) AS r (i)
            LEFT JOIN active AS a ON a.scope = 'state' AND r.i = a.state_index
            GROUP BY r.i
        ) AS s
    ) AS state_severity,
    (
        SELECT list(coalesce(s.severity, 0) ORDER BY s.i)
        FROM (
            SELECT
                r.i,
                max(a.severity) AS severity
            FROM range(7680) AS r (i)
            LEFT JOIN active AS a ON a.scope = 'area' AND r.i = a.area
            GROUP BY r.i
        ) AS s
    ) AS area_severity,
    (
        SELECT list(coalesce(s.severity, 0) ORDER BY s.i)
        FROM (
            SELECT
                r.i,
                max(a.severity) AS severity
            FROM range(1, 5101) AS r (i)
            LEFT JOIN active AS a ON a.scope = 'sector' AND r.i = a.sector_key
            GROUP BY r.i
        ) AS s
    ) AS sector_severity
FROM week AS w
CROSS JOIN dst_bounds AS b;
