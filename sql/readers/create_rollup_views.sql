-- Creates the readers' views over the rollup store, for ad-hoc SQL beside telemetry (run when the
-- readers' warehouse.duckdb is built, once the store's manifest exists). Each view reads the units the
-- manifest lists at query time, so a unit being written or one already replaced is never counted, and
-- merges the per-source rows by their keys (several sources may hold the same hour).
-- Parameters: $rollups, the rollup store's absolute path (warehouse/rollups). A view body cannot hold a
-- bind parameter, so Python splices it in as a literal through queries.with_path_literals.
-- Output: views rollup_units (one row per published unit), rollup_stats (hour, region, state, band,
-- metric: rows, sum, sum_squares, min, max, avg, stddev), rollup_sketch (hour, region, state, metric,
-- bucket: rows, value) and rollup_cells (hour, region, state, cell, lat, lon, metric: rows, sum, min, max,
-- avg); metric is the column's name, e.g. 'metric_7'. See docs/rollups.md.
CREATE OR REPLACE VIEW rollup_units AS
SELECT
    listed.entry.unit AS unit,  -- noqa: AL09
    listed.entry.source AS source,  -- noqa: AL09
    listed.entry.sha256 AS sha256,  -- noqa: AL09
    listed.entry.rows AS rows,  -- noqa: AL09
    m.version,
    $rollups || '/' || listed.entry.files.stats AS stats_file,
    $rollups || '/' || listed.entry.files.sketch AS sketch_file,
    $rollups || '/' || listed.entry.files.cells AS cells_file
FROM read_json($rollups || '/manifest.json') AS m,
    unnest(m.units) AS listed (entry);

CREATE OR REPLACE VIEW rollup_stats AS
SELECT
    s.hour,
    s.region,
    s.state,
    s.band,
    'metric_' || s.metric AS metric,
    sum(s.n) AS rows,
    sum(s.s1) AS sum,
    sum(s.s2) AS sum_squares,
    min(s.lo) AS min,
    max(s.hi) AS max,
    sum(s.s1) / sum(s.n) AS avg,
    CASE
        WHEN sum(s.n) > 1
            THEN sqrt(
                greatest(0.0, (sum(s.s2) - sum(s.s1) * sum(s.s1) / sum(s.n)) / (sum(s.n) - 1))
            )
    END AS stddev
FROM read_parquet($rollups || '/units/*/stats.parquet', filename = TRUE) AS s
WHERE s.filename IN (SELECT ru.stats_file FROM rollup_units AS ru)
GROUP BY s.hour, s.region, s.state, s.band, s.metric;

CREATE OR REPLACE VIEW rollup_sketch AS
SELECT
    k.hour,
    k.region,
    k.state,
    'metric_' || k.metric AS metric,
    k.bucket,
    sum(k.n) AS rows,
    -- The bucket's representative value (within 2% of every value in it); see create_rollup_macros.sql.
    CASE
        WHEN k.bucket > 0 THEN 2 * pow(1.02 / 0.98, k.bucket - 2000) / (1.02 / 0.98 + 1)
        WHEN k.bucket < 0 THEN -2 * pow(1.02 / 0.98, -k.bucket - 2000) / (1.02 / 0.98 + 1)
        ELSE 0.0
    END AS value
FROM read_parquet($rollups || '/units/*/sketch.parquet', filename = TRUE) AS k
WHERE k.filename IN (SELECT ru.sketch_file FROM rollup_units AS ru)
GROUP BY k.hour, k.region, k.state, k.metric, k.bucket;

CREATE OR REPLACE VIEW rollup_cells AS
SELECT
    c.hour,
    c.region,
    c.state,
    c.cell,
    -- The units keep lat as an exact DECIMAL(15, 2) (grid rows are 0.3 degrees apart); both are DOUBLE here.
    cast(c.lat AS DOUBLE) AS lat,
    c.lon,
    'metric_' || c.metric AS metric,
    sum(c.n) AS rows,
    sum(c.s1) AS sum,
    min(c.lo) AS min,
    max(c.hi) AS max,
    sum(c.s1) / sum(c.n) AS avg
FROM read_parquet($rollups || '/units/*/cells.parquet', filename = TRUE) AS c
WHERE c.filename IN (SELECT ru.cells_file FROM rollup_units AS ru)
GROUP BY c.hour, c.region, c.state, c.cell, c.lat, c.lon, c.metric;
